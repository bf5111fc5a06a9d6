import { and, gte, lt, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { waitlistEntries, waitlistOffers } from '../../db/schema.js';
import { RuleViolation } from '../../errors.js';
import { localDaysToInstants } from '../../time/zone.js';
import type { CategoryService } from '../categories/service.js';
import { roundHesa } from '../uptake/disclosure.js';

/** One row of the waitlist's figures: a month, what was waited for, a category value. */
export interface WaitlistFigure {
  month: string;
  pool: string;
  group: string | null;
  joined: number;
  offered: number;
  accepted: number;
  expiredOffers: number;
}

/**
 * Unmet demand, for analysts: by month joined (library's zone), what was waited for and,
 * when asked, a category (e.g. fee status): how many joined the waitlist, how many of them were
 * offered a time, how many took one, and how many offers ran out.
 */
export function createWaitlistFigures(deps: { db: Database; categories: CategoryService; zone: string }) {
  return async (query: {
    from: string;
    to: string;
    groupBy?: string | undefined;
    disclosure?: 'none' | 'hesa' | undefined;
  }): Promise<WaitlistFigure[]> => {
    if (query.groupBy !== undefined) {
      const known = (await deps.categories.listDimensions()).some((dimension) => dimension.key === query.groupBy);
      if (!known) {
        throw new RuleViolation('unknown_dimension', `No category called ${query.groupBy}.`, [
          { pointer: '/groupBy', in: 'query', message: 'is not a category dimension' },
        ]);
      }
    }
    if (query.to < query.from) {
      throw new RuleViolation('bad_range', 'The range ends before it starts.', [
        { pointer: '/to', in: 'query', message: 'must be on or after from' },
      ]);
    }
    const { fromMs, toMs } = localDaysToInstants(query.from, query.to, deps.zone);
    // The outer entry's id, qualified: inside the subqueries a bare "id" would be the offer's.
    const entryId = sql`${waitlistEntries}.${sql.identifier('id')}`;
    const month = sql<string>`to_char(${waitlistEntries.createdAt} at time zone ${deps.zone}, 'YYYY-MM')`;
    const group =
      query.groupBy === undefined
        ? sql<string | null>`null::text`
        : sql<string | null>`${waitlistEntries.studentCategories}->>${query.groupBy}`;
    const rows = await deps.db
      .select({
        month,
        pool: waitlistEntries.pool,
        grp: group,
        joined: sql<number>`count(*)::int`,
        offered: sql<number>`(count(*) filter (where exists (select 1 from ${waitlistOffers} o where o.entry_id = ${entryId})))::int`,
        accepted: sql<number>`(count(*) filter (where ${waitlistEntries.status} = 'booked'))::int`,
        expiredOffers: sql<number>`coalesce(sum((select count(*) from ${waitlistOffers} o where o.entry_id = ${entryId} and o.status = 'expired')), 0)::int`,
      })
      .from(waitlistEntries)
      .where(and(gte(waitlistEntries.createdAt, new Date(fromMs)), lt(waitlistEntries.createdAt, new Date(toMs))))
      // By position: the month and group carry parameters, which PostgreSQL would not match again.
      .groupBy(sql`1, 2, 3`)
      .orderBy(sql`1, 2, 3 nulls first`);
    // Shared figures: each count rounded as the uptake figures' are (HESA's rule).
    const count = query.disclosure === 'hesa' ? (value: unknown) => roundHesa(Number(value)) : Number;
    return rows.map((row) => ({
      month: row.month,
      pool: row.pool,
      group: row.grp,
      joined: count(row.joined),
      offered: count(row.offered),
      accepted: count(row.accepted),
      expiredOffers: count(row.expiredOffers),
    }));
  };
}
