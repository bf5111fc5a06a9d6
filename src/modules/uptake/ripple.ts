import { sql } from 'drizzle-orm';
import { rowsOf } from '../../db/rows.js';
import { localDaysToInstants } from '../../time/zone.js';
import type { UptakeDeps } from './aggregation.js';
import { HESA_MIN_DENOMINATOR, roundHesa } from './disclosure.js';
import { badQuery } from './filters.js';
import type { FriendsLaterQuery, FriendsLaterReport } from './schemas.js';
import { rate, wilsonInterval } from './statistics.js';

type Counts = { friends: number; booked: number; attended: number; said: number };

/**
 * What the friends did next, the ripple a library hopes for: of the friends who came to a session
 * in the range (matched by email, each person once, from their first such session), how many later
 * booked a session for themselves and how many came to one, with Wilson intervals, by the friend's
 * category or the student's; and how many students booking in the range said they first came as a
 * friend (for friends who gave no email, or a different one).
 */
export function createRipple(deps: UptakeDeps) {
  const { db, config } = deps;

  return async function friendsLater(
    query: FriendsLaterQuery,
  ): Promise<FriendsLaterReport & { studentCounts: number[] }> {
    if (query.to < query.from) throw badQuery('/to', 'must be on or after from');
    const dimensions = (await deps.categories.listDimensions()).map((dimension) => dimension.key);
    const by = query.by ?? null;
    if (by !== null && !dimensions.includes(by)) throw badQuery('/by', `must be one of ${dimensions.join(', ')}`);
    const of = query.of ?? 'friend';
    const { fromMs, toMs } = localDaysToInstants(query.from, query.to, config.libraryTimeZone);
    const [from, to] = [new Date(fromMs), new Date(toMs)];
    const category = by === null ? sql`null::text` : of === 'friend' ? sql`f.friend_value` : sql`f.student_value`;
    const rows = await rowsOf<{ value: string | null } & Record<keyof Counts, number>>(
      db,
      sql`
      with came as (
        select distinct on (lower(c.email))
          lower(c.email) as email, b.starts_at as came_at,
          ${by === null ? sql`null::text` : sql`c.categories ->> ${by}`} as friend_value,
          ${by === null ? sql`null::text` : sql`b.student_categories ->> ${by}`} as student_value
        from companions c join bookings b on b.id = c.booking_id
        where c.attended = true and c.role <> 'support' and c.email is not null
          and b.status = 'confirmed' and b.starts_at >= ${from} and b.starts_at < ${to}
        order by lower(c.email), b.starts_at
      ),
      later as (
        select f.*,
          exists (select 1 from bookings own join students s on s.id = own.student_id
            where lower(s.email) = f.email and own.source = 'booked' and own.created_at > f.came_at) as booked,
          exists (select 1 from bookings own join students s on s.id = own.student_id
            where lower(s.email) = f.email and own.source = 'booked' and own.created_at > f.came_at
              and own.status = 'confirmed' and own.attendance = 'attended') as attended
        from came f
      ),
      friends as (
        select ${category} as value, count(*)::int as friends,
          count(*) filter (where booked)::int as booked, count(*) filter (where attended)::int as attended
        from later f group by 1
      ),
      said as (
        select ${by !== null && of === 'student' ? sql`b.student_categories ->> ${by}` : sql`null::text`} as value,
          count(distinct b.student_ref)::int as said
        from bookings b
        where b.came_as_friend_before = true and b.source = 'booked'
          and b.starts_at >= ${from} and b.starts_at < ${to}
        group by 1
      )
      select value, sum(friends)::int as friends, sum(booked)::int as booked,
        sum(attended)::int as attended, sum(said)::int as said
      from (
        select value, friends, booked, attended, 0 as said from friends
        union all
        select value, 0, 0, 0, said from said
      ) counted
      group by value
      order by value nulls last`,
    );
    const hesa = query.disclosure === 'hesa';
    const count = (value: number) => (hesa ? roundHesa(value) : value);
    const present = (counts: Counts) => {
      const shown = !hesa || counts.friends >= HESA_MIN_DENOMINATOR;
      return {
        friends: count(counts.friends),
        bookedLater: count(counts.booked),
        bookedLaterRate: shown ? rate(counts.booked, counts.friends) : null,
        bookedLaterRateCi95: shown ? wilsonInterval(counts.booked, counts.friends) : null,
        attendedLater: count(counts.attended),
        attendedLaterRate: shown ? rate(counts.attended, counts.friends) : null,
        attendedLaterRateCi95: shown ? wilsonInterval(counts.attended, counts.friends) : null,
        saidCameAsFriend: count(counts.said),
      };
    };
    const totals = rows.reduce<Counts>(
      (sum, row) => ({
        friends: sum.friends + row.friends,
        booked: sum.booked + row.booked,
        attended: sum.attended + row.attended,
        said: sum.said + row.said,
      }),
      { friends: 0, booked: 0, attended: 0, said: 0 },
    );
    return {
      from: query.from,
      to: query.to,
      by,
      of,
      disclosure: hesa ? 'hesa' : 'none',
      rows: by === null ? [] : rows.map((row) => ({ value: row.value, ...present(row) })),
      totals: present(totals),
      studentCounts: by === null ? [] : rows.map((row) => row.friends + row.said),
    };
  };
}
