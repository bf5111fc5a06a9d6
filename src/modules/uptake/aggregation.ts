import { type SQL, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { rowsOf } from '../../db/rows.js';
import { cohorts, terms } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { RuleViolation } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import type { Dimension } from '../categories/schemas.js';
import type { CategoryService } from '../categories/service.js';
import { HESA_MIN_DENOMINATOR, roundHesa } from './disclosure.js';
import { badQuery, bookingFilters } from './filters.js';
import { FIXED_GROUPS, PERIODS } from './labels.js';
import type { UptakeReport } from './schemas.js';
import { rate, wilsonInterval } from './statistics.js';

export type Row = Record<string, unknown>;
export type Figures = Omit<UptakeReport['totals'], never>;

/**
 * A booking counts with a companion when one is still invited, or was removed or declined only
 * after the session started (a later change does not rewrite what happened). A support worker or
 * interpreter is an accessibility adjustment, not a friend: they do not count.
 */
export const COMPANION_BOOKINGS = sql`select booking_id from companions where status = 'invited' and role <> 'support'
  union
  select c.booking_id from companions c join bookings cb on cb.id = c.booking_id
  where c.status <> 'invited' and c.role <> 'support' and c.status_changed_at >= cb.starts_at`;

/**
 * Bookings with a support worker or interpreter, by the same rule: counted apart from friends,
 * so the figures show how often students come with accessibility support.
 */
export const SUPPORT_BOOKINGS = sql`select booking_id from companions where status = 'invited' and role = 'support'
  union
  select c.booking_id from companions c join bookings sb on sb.id = c.booking_id
  where c.status <> 'invited' and c.role = 'support' and c.status_changed_at >= sb.starts_at`;

/**
 * The most groups one answer may hold: enough for any table a person reads (10 years by week is
 * 522), and a bound on the work one request can ask of the database and the event loop.
 */
export const MAX_GROUPS = 5000;

export function tooManyGroups(detail: string): RuleViolation {
  return new RuleViolation(
    'too_many_groups',
    `${detail}; at most ${MAX_GROUPS}. Group by fewer keys, a longer period or a shorter range, or leave out fill.`,
    [
      { pointer: '/groupBy', in: 'query', message: `gives more than ${MAX_GROUPS} groups` },
      { pointer: '/fill', in: 'query', message: 'adds every combination of the grouped keys' },
    ],
  );
}

/** What the uptake figures are computed from. */
export interface UptakeDeps {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'libraryTimeZone' | 'academicYearStartMonth'>;
  categories: CategoryService;
}

/** The grouped counts behind every uptake answer, in one statement, and the figures made from them. */
export function createAggregation(deps: UptakeDeps) {
  const { db, config } = deps;
  const zone = config.libraryTimeZone;
  const localStart = sql`(b.starts_at at time zone ${zone})`;

  function groupExpression(key: string): SQL {
    switch (key) {
      case 'companion':
        return sql`(cb.booking_id is not null)`;
      case 'librarian':
        return sql`l.name`;
      case 'faculty':
        return sql`l.faculty`;
      case 'mode':
        return sql`b.mode`;
      // Weeks and months group on the truncated timestamp (cheap per row); labelOf formats the
      // few groups that result.
      case 'week':
        return sql`date_trunc('week', ${localStart})`;
      case 'month':
        return sql`date_trunc('month', ${localStart})`;
      case 'year': {
        // Academic year, e.g. 2026/27 from 1 August 2026 (ACADEMIC_YEAR_START_MONTH).
        const shifted = sql`(${localStart} - make_interval(months => ${config.academicYearStartMonth - 1}))`;
        return sql`(extract(year from ${shifted})::int)::text || '/' || lpad(((extract(year from ${shifted})::int + 1) % 100)::text, 2, '0')`;
      }
      case 'term':
        return sql`(select t.name from terms t where ${localStart}::date between t.starts_on and t.ends_on order by t.starts_on limit 1)`;
      default:
        return sql`b.student_categories ->> ${key}`;
    }
  }

  /** The label a group's value is shown by, from the value groupExpression gives. */
  function labelOf(key: string, name: string): SQL {
    const column = sql.identifier(name);
    if (key === 'week') return sql`to_char(${column}, 'IYYY-"W"IW')`;
    if (key === 'month') return sql`to_char(${column}, 'YYYY-MM')`;
    return sql`${column}`;
  }

  /**
   * Checks the range, filters and grouping; returns the WHERE clause. `known`: the category
   * definitions when the caller has read them already (one query, not two).
   */
  async function prepare(
    query: Record<string, unknown> & { from: string; to: string },
    groupBy: string[],
    known?: Dimension[],
  ) {
    const definitions = known ?? (await deps.categories.listDimensions());
    const dimensions = definitions.map((dimension) => dimension.key);
    const { conditions, categoryFilters } = bookingFilters(query, definitions, zone);
    for (const key of groupBy) {
      if (!(FIXED_GROUPS as readonly string[]).includes(key) && !dimensions.includes(key)) {
        throw badQuery('/groupBy', `has "${key}", which is not one of ${[...FIXED_GROUPS, ...dimensions].join(', ')}`);
      }
    }
    if (groupBy.filter((key) => (PERIODS as readonly string[]).includes(key)).length > 1) {
      throw badQuery('/groupBy', 'may hold at most one period (week, month, term or year)');
    }
    if (new Set(groupBy).size !== groupBy.length) throw badQuery('/groupBy', 'names a group twice');
    return {
      where: sql.join(conditions, sql` and `),
      definitions,
      dimensions,
      categoryFilters,
    };
  }

  /**
   * One pass over the matching sessions: the groups and, through GROUPING SETS, the totals
   * (the row whose is_total flag is set), so the table is read once.
   */
  async function aggregate(where: SQL, groupBy: string[]): Promise<{ rows: Row[]; totals: Row }> {
    const now = deps.clock.now();
    const groups = groupBy.map((key, index) => sql`${groupExpression(key)} as ${sql.identifier(`g${index}`)}`);
    const groupNames = groupBy.map((_, index) => sql.identifier(`g${index}`));
    // Flags are computed per row first, so the sort behind the grouping stays narrow.
    const query = sql`
      with companion_bookings as (${COMPANION_BOOKINGS}),
      support_bookings as (${SUPPORT_BOOKINGS}),
      matching as (
        select ${sql.join(
          [
            ...groups,
            sql`b.student_ref`,
            sql`b.status = 'cancelled' as is_cancelled`,
            sql`b.status = 'cancelled' and b.late_cancellation as is_late`,
            sql`b.status = 'confirmed' and b.attendance = 'attended' as is_attended`,
            sql`b.status = 'confirmed' and b.attendance = 'no_show' as is_no_show`,
            sql`b.status = 'confirmed' and b.attendance is null and b.starts_at <= ${now} as is_unrecorded`,
            sql`b.status = 'confirmed' and b.attendance is null and b.starts_at > ${now} as is_upcoming`,
            sql`sb.booking_id is not null as has_support`,
          ],
          sql`, `,
        )}
        from bookings b
        left join librarians l on l.id = b.librarian_id
        left join companion_bookings cb on cb.booking_id = b.id
        left join support_bookings sb on sb.booking_id = b.id
        where ${where}
      ),
      -- Per student first (hash aggregation), so unique counts need no count(distinct) sort;
      -- the second grouping set gives each student once for the totals.
      per_student as (
        select ${sql.join(
          [
            ...groupNames,
            sql`student_ref`,
            groupNames.length > 0
              ? sql`grouping(${sql.join(groupNames, sql`, `)}) > 0 as is_total`
              : sql`true as is_total`,
          ],
          sql`, `,
        )},
          count(*) as bookings,
          count(*) filter (where is_cancelled) as cancelled,
          count(*) filter (where is_late) as late_cancelled,
          count(*) filter (where is_attended) as attended,
          count(*) filter (where is_no_show) as no_show,
          count(*) filter (where is_unrecorded) as unrecorded,
          count(*) filter (where is_upcoming) as upcoming,
          count(*) filter (where has_support) as with_support,
          bool_or(is_attended) as attended_any
        from matching
        group by ${groupNames.length > 0 ? sql`grouping sets ((${sql.join([...groupNames, sql`student_ref`], sql`, `)}), (student_ref))` : sql`student_ref`}
      )
      select ${sql.join(
        [
          ...groupBy.map((key, index) => sql`${labelOf(key, `g${index}`)} as ${sql.identifier(`g${index}`)}`),
          sql`is_total`,
        ],
        sql`, `,
      )},
        sum(bookings)::int as bookings,
        sum(cancelled)::int as cancelled,
        sum(late_cancelled)::int as late_cancelled,
        sum(attended)::int as attended,
        sum(no_show)::int as no_show,
        sum(unrecorded)::int as unrecorded,
        sum(upcoming)::int as upcoming,
        sum(with_support)::int as with_support,
        count(student_ref)::int as unique_students,
        count(student_ref) filter (where attended_any)::int as unique_attendees
      from per_student
      group by ${sql.join([...groupNames, sql`is_total`], sql`, `)}
      ${
        groupNames.length > 0
          ? sql`order by is_total desc, ${sql.join(
              groupNames.map((name) => sql`${name} nulls last`),
              sql`, `,
            )}`
          : sql``
      }
      limit ${MAX_GROUPS + 2}`;
    // One pass hashes about one group per booking: room for it in memory (PostgreSQL's default of
    // 4 MB spills 100,000 sessions to disk), for this statement's transaction only.
    const all = await transaction(db, async (tx) => {
      await tx.execute(sql`set local work_mem = '32MB'`);
      return rowsOf<Row>(tx, query);
    });
    const totals = all.find((row) => row.is_total === true) ?? {};
    const rows = all.filter((row) => row.is_total !== true);
    if (rows.length > MAX_GROUPS) throw tooManyGroups(`These groupings give more than ${MAX_GROUPS} groups`);
    return { rows, totals };
  }

  function figures(row: Row, cohortSize: number | null, hesa: boolean): Figures {
    const n = (key: string) => Number(row[key] ?? 0);
    const attended = n('attended');
    const noShow = n('no_show');
    const decided = attended + noShow;
    const uniqueAttendees = n('unique_attendees');
    const count = (value: number) => (hesa ? roundHesa(value) : value);
    const showRate = !hesa || decided >= HESA_MIN_DENOMINATOR;
    const showUptake = cohortSize !== null && cohortSize > 0 && (!hesa || cohortSize >= HESA_MIN_DENOMINATOR);
    return {
      bookings: count(n('bookings')),
      cancelled: count(n('cancelled')),
      lateCancelled: count(n('late_cancelled')),
      attended: count(attended),
      noShow: count(noShow),
      unrecorded: count(n('unrecorded')),
      upcoming: count(n('upcoming')),
      attendanceRate: showRate ? rate(attended, decided) : null,
      attendanceRateCi95: showRate ? wilsonInterval(attended, decided) : null,
      uniqueStudents: count(n('unique_students')),
      uniqueAttendees: count(uniqueAttendees),
      uptakeRate: showUptake ? rate(uniqueAttendees, cohortSize as number) : null,
      supportBookings: count(n('with_support')),
    };
  }

  async function cohortSizes(): Promise<Map<string, number>> {
    const rows = await db
      .select({ term: terms.name, dimension: cohorts.dimension, value: cohorts.value, size: cohorts.size })
      .from(cohorts)
      .innerJoin(terms, sql`${terms.id} = ${cohorts.termId}`);
    return new Map(rows.map((row) => [`${row.term}|${row.dimension}|${row.value}`, row.size]));
  }

  return { groupExpression, labelOf, prepare, aggregate, figures, cohortSizes };
}
