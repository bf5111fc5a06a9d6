import { type SQL, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { cohorts, terms } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { RuleViolation } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import type { Dimension } from '../categories/schemas.js';
import type { CategoryService } from '../categories/service.js';
import { HESA_MIN_DENOMINATOR, roundHesa } from './disclosure.js';
import { badQuery, bookingFilters } from './filters.js';
import { periodLabels } from './periods.js';
import type {
  CompanionEffectQuery,
  CompanionEffectReport,
  CompareQuery,
  CompareReport,
  UptakeQuery,
  UptakeReport,
} from './schemas.js';
import { newcombeInterval, rate, twoProportionPValue, wilsonInterval } from './statistics.js';

const PERIODS = ['week', 'month', 'term', 'year'] as const;
const FIXED_GROUPS = ['companion', 'librarian', 'faculty', 'mode', ...PERIODS] as const;

type Row = Record<string, unknown>;

/** How a group key and its values read on a page or a chart. */
export interface GroupLabeller {
  key(key: string): string;
  value(key: string, value: unknown): string;
}

/** The words a labeller uses for the fixed keys and values (pages pass their language's). */
export interface LabelWords {
  notRecorded: string;
  withFriend: string;
  withoutFriend: string;
  inPerson: string;
  online: string;
  keys: Record<string, string>;
}

export const ENGLISH_WORDS: LabelWords = {
  notRecorded: 'Not recorded',
  withFriend: 'With a friend',
  withoutFriend: 'Without a friend',
  inPerson: 'In person',
  online: 'Online',
  keys: {
    companion: 'Friend',
    librarian: 'Librarian',
    faculty: 'Faculty',
    mode: 'Mode',
    week: 'Week',
    month: 'Month',
    term: 'Term',
    year: 'Academic year',
    all: 'All sessions',
  },
};
type Figures = Omit<UptakeReport['totals'], never>;

/**
 * A booking counts with a companion when one is still invited, or was removed or declined only
 * after the session started (a later change does not rewrite what happened).
 */
export const COMPANION_BOOKINGS = sql`select booking_id from companions where status = 'invited'
  union
  select c.booking_id from companions c join bookings cb on cb.id = c.booking_id
  where c.status <> 'invited' and c.status_changed_at >= cb.starts_at`;

/**
 * The most groups one answer may hold: enough for any table a person reads (10 years by week is
 * 522), and a bound on the work one request can ask of the database and the event loop.
 */
export const MAX_GROUPS = 5000;

function tooManyGroups(detail: string): RuleViolation {
  return new RuleViolation(
    'too_many_groups',
    `${detail}; at most ${MAX_GROUPS}. Group by fewer keys, a longer period or a shorter range, or leave out fill.`,
    [
      { pointer: '/groupBy', in: 'query', message: `gives more than ${MAX_GROUPS} groups` },
      { pointer: '/fill', in: 'query', message: 'adds every combination of the grouped keys' },
    ],
  );
}

/** Labels for group values as people read them: category labels, not keys. Pure. */
export function groupLabeller(definitions: Dimension[], words: LabelWords = ENGLISH_WORDS): GroupLabeller {
  const labels = new Map(
    definitions.flatMap((dimension) =>
      dimension.values.map((value) => [`${dimension.key}|${value.value}`, value.label]),
    ),
  );
  const dimensionLabels = new Map(definitions.map((dimension) => [dimension.key, dimension.label]));
  return {
    key: (key) => dimensionLabels.get(key) ?? words.keys[key] ?? key.replace(/_/g, ' '),
    value: (key, value) => {
      if (value === null || value === undefined) return words.notRecorded;
      if (key === 'companion') return value === true ? words.withFriend : words.withoutFriend;
      if (key === 'mode')
        return value === 'in_person' ? words.inPerson : value === 'online' ? words.online : String(value);
      return labels.get(`${key}|${value}`) ?? String(value);
    },
  };
}

export function createUptakeService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'libraryTimeZone' | 'academicYearStartMonth'>;
  categories: CategoryService;
}) {
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
          ],
          sql`, `,
        )}
        from bookings b
        left join librarians l on l.id = b.librarian_id
        left join companion_bookings cb on cb.booking_id = b.id
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
    const result = (await transaction(db, async (tx) => {
      await tx.execute(sql`set local work_mem = '32MB'`);
      return tx.execute(query);
    })) as unknown as { rows: Row[] };
    const totals = result.rows.find((row) => row.is_total === true) ?? {};
    const rows = result.rows.filter((row) => row.is_total !== true);
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
    };
  }

  async function cohortSizes(): Promise<Map<string, number>> {
    const rows = await db
      .select({ term: terms.name, dimension: cohorts.dimension, value: cohorts.value, size: cohorts.size })
      .from(cohorts)
      .innerJoin(terms, sql`${terms.id} = ${cohorts.termId}`);
    return new Map(rows.map((row) => [`${row.term}|${row.dimension}|${row.value}`, row.size]));
  }

  return {
    async uptake(query: UptakeQuery): Promise<UptakeReport & { studentCounts: number[] }> {
      const groupBy = (query.groupBy ?? '')
        .split(',')
        .map((key) => key.trim())
        .filter(Boolean);
      const { where, definitions, dimensions, categoryFilters } = await prepare(query, groupBy);
      const hesa = query.disclosure === 'hesa';
      const aggregated = await aggregate(where, groupBy);
      let rows = aggregated.rows;
      if (query.fill) rows = await fillGroups(rows, groupBy, definitions, query);
      const totalsRow = aggregated.totals;
      const sizes = await cohortSizes();
      // A cohort size applies when a row is one term and one value of one category dimension.
      const groupDimensions = groupBy.filter((key) => dimensions.includes(key));
      const filterDimensions = Object.keys(categoryFilters);
      const cohortDimension =
        groupBy.includes('term') && groupDimensions.length + filterDimensions.length === 1
          ? (groupDimensions[0] ?? filterDimensions[0])
          : undefined;
      const reportRows = rows.map((row) => {
        const group = Object.fromEntries(
          groupBy.map((key, index) => [key, (row[`g${index}`] as string | boolean | null) ?? null]),
        );
        let size: number | null = null;
        if (cohortDimension) {
          const value = groupDimensions.length > 0 ? group[cohortDimension] : categoryFilters[cohortDimension];
          size = sizes.get(`${group.term}|${cohortDimension}|${value}`) ?? null;
        }
        return { group, ...figures(row, size, hesa) };
      });
      return {
        from: query.from,
        to: query.to,
        groupBy,
        disclosure: hesa ? 'hesa' : 'none',
        rows: reportRows,
        totals: figures(totalsRow, null, hesa),
        studentCounts: rows.map((row) => Number(row.unique_students ?? 0)),
      };
    },

    async companionEffect(query: CompanionEffectQuery): Promise<CompanionEffectReport & { studentCounts: number[] }> {
      const { where, dimensions } = await prepare(query, []);
      if (!dimensions.includes(query.by)) throw badQuery('/by', `must be one of ${dimensions.join(', ')}`);
      const hesa = query.disclosure === 'hesa';
      const { rows } = await aggregate(where, [query.by, 'companion']);
      const values = [...new Set(rows.map((row) => (row.g0 as string | null) ?? null))];
      // Students per category value (either side), for suppressing small groups in shared CSV.
      const perValue = hesa ? (await aggregate(where, [query.by])).rows : [];
      const studentCounts = values.map((value) =>
        Number(perValue.find((row) => (row.g0 ?? null) === value)?.unique_students ?? 0),
      );
      return {
        studentCounts,
        by: query.by,
        from: query.from,
        to: query.to,
        disclosure: hesa ? 'hesa' : 'none',
        rows: values.map((value) => {
          const side = (withCompanion: boolean) => {
            const row =
              rows.find((candidate) => (candidate.g0 ?? null) === value && candidate.g1 === withCompanion) ?? {};
            return {
              bookings: Number(row.bookings ?? 0),
              attended: Number(row.attended ?? 0),
              noShow: Number(row.no_show ?? 0),
            };
          };
          const withC = side(true);
          const without = side(false);
          const n1 = withC.attended + withC.noShow;
          const n2 = without.attended + without.noShow;
          const showRates = !hesa || (n1 >= HESA_MIN_DENOMINATOR && n2 >= HESA_MIN_DENOMINATOR);
          const present = (counts: typeof withC, n: number) => ({
            bookings: hesa ? roundHesa(counts.bookings) : counts.bookings,
            attended: hesa ? roundHesa(counts.attended) : counts.attended,
            noShow: hesa ? roundHesa(counts.noShow) : counts.noShow,
            attendanceRate: !hesa || n >= HESA_MIN_DENOMINATOR ? rate(counts.attended, n) : null,
            attendanceRateCi95: !hesa || n >= HESA_MIN_DENOMINATOR ? wilsonInterval(counts.attended, n) : null,
          });
          const r1 = rate(withC.attended, n1);
          const r2 = rate(without.attended, n2);
          const total = withC.bookings + without.bookings;
          return {
            value,
            withCompanion: present(withC, n1),
            withoutCompanion: present(without, n2),
            difference: showRates && r1 !== null && r2 !== null ? r1 - r2 : null,
            differenceCi95: showRates ? newcombeInterval(withC.attended, n1, without.attended, n2) : null,
            pValue: showRates ? twoProportionPValue(withC.attended, n1, without.attended, n2) : null,
            companionShare: !hesa || total >= HESA_MIN_DENOMINATOR ? rate(withC.bookings, total) : null,
            lowCount: withC.bookings < 10 || without.bookings < 10,
          };
        }),
      };
    },

    /**
     * The library's before-and-after question: per value of one category, unique attendees in two
     * periods, uptake against the cohort sizes of the terms each period overlaps, and the change in
     * uptake with Newcombe's interval for two independent proportions.
     */
    async compare(query: CompareQuery): Promise<CompareReport & { studentCounts: number[] }> {
      const { by, beforeFrom, beforeTo, afterFrom, afterTo, format: _format, disclosure, ...filters } = query;
      if (beforeTo < beforeFrom) throw badQuery('/beforeTo', 'must be on or after beforeFrom');
      if (afterTo < afterFrom) throw badQuery('/afterTo', 'must be on or after afterFrom');
      if (afterFrom <= beforeTo) {
        throw badQuery('/afterFrom', 'must be after beforeTo: the two periods are compared as separate groups');
      }
      const hesa = disclosure === 'hesa';
      const definitions = await deps.categories.listDimensions();
      const dimensions = definitions.map((dimension) => dimension.key);
      if (!dimensions.includes(by)) throw badQuery('/by', `must be one of ${dimensions.join(', ')}`);
      const before = await prepare({ ...filters, from: beforeFrom, to: beforeTo }, [by], definitions);
      const after = await prepare({ ...filters, from: afterFrom, to: afterTo }, [by], definitions);
      const [beforeRows, afterRows] = [
        (await aggregate(before.where, [by])).rows,
        (await aggregate(after.where, [by])).rows,
      ];
      const known = before.definitions.find((dimension) => dimension.key === by)?.values.map((v) => v.value) ?? [];
      const seen = [...beforeRows, ...afterRows].map((row) => (row.g0 as string | null) ?? null);
      const values: (string | null)[] = [...known, ...seen.filter((value) => value !== null && !known.includes(value))];
      if (seen.includes(null)) values.push(null);
      const beforeCohort = await periodCohorts(by, beforeFrom, beforeTo);
      const afterCohort = await periodCohorts(by, afterFrom, afterTo);
      const count = (value: number) => (hesa ? roundHesa(value) : value);
      const side = (rows: Row[], cohort: Map<string, number>, value: string | null) => {
        const row = rows.find((candidate) => (candidate.g0 ?? null) === value) ?? {};
        const attendees = Number(row.unique_attendees ?? 0);
        const size = value === null ? null : (cohort.get(value) ?? null);
        const usable = size !== null && size > 0 && (!hesa || size >= HESA_MIN_DENOMINATOR);
        return {
          raw: { attendees, students: Number(row.unique_students ?? 0), size: usable ? size : null },
          figures: {
            bookings: count(Number(row.bookings ?? 0)),
            uniqueStudents: count(Number(row.unique_students ?? 0)),
            uniqueAttendees: count(attendees),
            cohortSize: size === null ? null : hesa ? roundHesa(size) : size,
            uptakeRate: usable ? rate(Math.min(attendees, size), size) : null,
            uptakeRateCi95: usable ? wilsonInterval(Math.min(attendees, size), size) : null,
          },
        };
      };
      const rows = values.map((value) => {
        const earlier = side(beforeRows, beforeCohort.sizes, value);
        const later = side(afterRows, afterCohort.sizes, value);
        const a = earlier.raw;
        const b = later.raw;
        const both = a.size !== null && b.size !== null;
        const k1 = Math.min(b.attendees, b.size ?? 0);
        const k2 = Math.min(a.attendees, a.size ?? 0);
        return {
          studentCount: Math.min(a.students, b.students),
          row: {
            value,
            before: earlier.figures,
            after: later.figures,
            attendeesChange: later.figures.uniqueAttendees - earlier.figures.uniqueAttendees,
            uptakeChange:
              both && later.figures.uptakeRate !== null && earlier.figures.uptakeRate !== null
                ? later.figures.uptakeRate - earlier.figures.uptakeRate
                : null,
            uptakeChangeCi95: both ? newcombeInterval(k1, b.size as number, k2, a.size as number) : null,
            pValue: both ? twoProportionPValue(k1, b.size as number, k2, a.size as number) : null,
          },
        };
      });
      return {
        by,
        before: { from: beforeFrom, to: beforeTo, terms: beforeCohort.terms },
        after: { from: afterFrom, to: afterTo, terms: afterCohort.terms },
        disclosure: hesa ? 'hesa' : 'none',
        rows: rows.map((entry) => entry.row),
        studentCounts: rows.map((entry) => entry.studentCount),
      };
    },

    /** Labels for group values as people read them: category labels, not keys. */
    async labeller(words: LabelWords = ENGLISH_WORDS): Promise<GroupLabeller> {
      return groupLabeller(await deps.categories.listDimensions(), words);
    },
  };

  /**
   * Cohort sizes for a period: for each value of the dimension, the largest size among the terms
   * that overlap it (the same students are enrolled across terms, so sizes are not added up).
   */
  async function periodCohorts(dimension: string, from: string, to: string) {
    const overlapping = await db
      .select({ name: terms.name, value: cohorts.value, size: cohorts.size })
      .from(terms)
      .leftJoin(cohorts, sql`${cohorts.termId} = ${terms.id} and ${cohorts.dimension} = ${dimension}`)
      .where(sql`${terms.startsOn} <= ${to} and ${terms.endsOn} >= ${from}`)
      .orderBy(terms.startsOn);
    const sizes = new Map<string, number>();
    for (const row of overlapping) {
      if (row.value === null || row.size === null) continue;
      sizes.set(row.value, Math.max(sizes.get(row.value) ?? 0, row.size));
    }
    return { sizes, terms: [...new Set(overlapping.map((row) => row.name))] };
  }

  /** Adds zero rows for groups with no bookings: every known value of each grouped key. */
  async function fillGroups(
    rows: Row[],
    groupBy: string[],
    definitions: Dimension[],
    query: UptakeQuery,
  ): Promise<Row[]> {
    const dimensions = definitions.map((dimension) => dimension.key);
    const domains: (string | boolean | null)[][] = [];
    for (const key of groupBy) {
      if (key === 'companion') domains.push([true, false]);
      else if (key === 'mode') domains.push(['in_person', 'online']);
      else if (dimensions.includes(key))
        domains.push(definitions.find((d) => d.key === key)?.values.map((v) => v.value) ?? []);
      else if (key === 'librarian' || key === 'faculty' || key === 'term') {
        const column = key === 'librarian' ? sql`name` : key === 'faculty' ? sql`faculty` : sql`name`;
        const table = key === 'term' ? sql`terms` : sql`librarians`;
        const result = (await db.execute(
          sql`select distinct ${column} as v from ${table} where ${column} is not null order by 1`,
        )) as unknown as {
          rows: { v: string }[];
        };
        domains.push(result.rows.map((row) => row.v));
      } else domains.push(periodLabels(key, query.from, query.to, config.academicYearStartMonth));
    }
    const size = domains.reduce((product, domain) => product * Math.max(domain.length, 1), 1);
    if (size > MAX_GROUPS) {
      throw tooManyGroups(`fill=true would give ${size} groups (${groupBy.join(' × ')})`);
    }
    const combinations = domains.reduce<(string | boolean | null)[][]>(
      (product, domain) => product.flatMap((prefix) => domain.map((value) => [...prefix, value])),
      [[]],
    );
    const keyOf = (values: unknown[]) => JSON.stringify(values);
    const seen = new Set(rows.map((row) => keyOf(groupBy.map((_, index) => row[`g${index}`] ?? null))));
    const filled = [...rows];
    for (const combination of combinations) {
      if (seen.has(keyOf(combination))) continue;
      filled.push(Object.fromEntries(combination.map((value, index) => [`g${index}`, value])));
    }
    return filled;
  }
}

export type UptakeService = ReturnType<typeof createUptakeService>;
