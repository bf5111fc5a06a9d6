import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { staffActions } from '../../db/schema.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';

/** One entry to record: what was done, to what, with the values before and after (no secrets). */
export interface StaffAction {
  actor: Pick<AuthUser, 'sub' | 'email'>;
  action: string;
  subject?: string | null;
  before?: unknown;
  after?: unknown;
}

/** Writes one entry, on the caller's executor (inside its transaction when it has one). */
export async function recordStaffAction(executor: Executor, at: Date, entry: StaffAction): Promise<void> {
  await executor.insert(staffActions).values({
    at,
    actor: entry.actor.email ?? entry.actor.sub,
    action: entry.action,
    subject: entry.subject ?? null,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
}

/** The record of staff actions: written by the services that change things, read by admins. */
export function createStaffRecord(deps: { db: Database; clock: Clock }) {
  const { db, clock } = deps;
  return {
    record: (entry: StaffAction, executor: Executor = db) => recordStaffAction(executor, clock.now(), entry),

    async list(query: {
      from: Date;
      to: Date;
      actor?: string | undefined;
      action?: string | undefined;
      limit: number;
    }) {
      const rows = await db
        .select()
        .from(staffActions)
        .where(
          and(
            gte(staffActions.at, query.from),
            lt(staffActions.at, query.to),
            query.actor ? sql`lower(${staffActions.actor}) = lower(${query.actor})` : undefined,
            query.action ? eq(staffActions.action, query.action) : undefined,
          ),
        )
        .orderBy(asc(staffActions.at), asc(staffActions.id))
        .limit(query.limit);
      return rows.map((row) => ({
        id: row.id,
        at: row.at.toISOString(),
        actor: row.actor,
        action: row.action,
        subject: row.subject,
        before: row.before ?? null,
        after: row.after ?? null,
      }));
    },
  };
}

/** Entries older than `cutoff` go (STAFF_RECORD_MONTHS). */
export async function purgeStaffRecord(db: Database, cutoff: Date): Promise<number> {
  const removed = await db.delete(staffActions).where(lt(staffActions.at, cutoff)).returning({ id: staffActions.id });
  return removed.length;
}

export type StaffRecord = ReturnType<typeof createStaffRecord>;
