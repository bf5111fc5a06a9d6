import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { staffActions } from '../../db/schema.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';

/** Who did it: the signed-in member of staff. */
export type StaffActor = Pick<AuthUser, 'sub' | 'email'>;

/**
 * Every action the record holds, as the page's filter offers them. Each service that makes one of
 * these changes writes its entry in the same transaction as the change.
 */
export const STAFF_ACTIONS = [
  'availability.changed',
  'time_off.added',
  'time_off.removed',
  'closure.added',
  'closure.removed',
  'attendance.recorded',
  'attendance.corrected',
  'session.recorded',
  'booking.cancelled',
  'booking.moved',
  'librarian.created',
  'librarian.changed',
  'categories.changed',
  'terms.changed',
  'cohorts.changed',
  'sessions.imported',
  'webhook.created',
  'webhook.changed',
  'webhook.removed',
  'webhook.secret_rotated',
  'webhook.delivery_retried',
  'email.retried',
  'campaign.created',
  'campaign.changed',
  'campaign.cohort_set',
  'campaign.sent',
  'calendar.connected',
  'calendar.changed',
  'calendar.removed',
  'team.created',
  'team.changed',
  'team.removed',
  'person.exported',
  'person.erased',
] as const;
export type StaffActionName = (typeof STAFF_ACTIONS)[number];

/**
 * The top-level fields that differ between two views of one thing, each side holding only those:
 * what the record keeps for a change, so an entry reads as what changed rather than the whole thing.
 */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (key) => JSON.stringify(before[key] ?? null) !== JSON.stringify(after[key] ?? null),
  );
  return {
    before: Object.fromEntries(keys.map((key) => [key, before[key] ?? null])),
    after: Object.fromEntries(keys.map((key) => [key, after[key] ?? null])),
  };
}

/** One entry to record: what was done, to what, with the values before and after (no secrets). */
export interface StaffAction {
  actor: StaffActor;
  action: StaffActionName;
  subject?: string | null;
  before?: unknown;
  after?: unknown;
}

/** The INSERT of one entry, not yet run: for a change written as one statement (writeTogether). */
export function staffActionInsert(executor: Executor, at: Date, entry: StaffAction) {
  return executor.insert(staffActions).values({
    at,
    actor: entry.actor.email ?? entry.actor.sub,
    action: entry.action,
    subject: entry.subject ?? null,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
}

/** Writes one entry, on the caller's executor (inside its transaction when it has one). */
export async function recordStaffAction(executor: Executor, at: Date, entry: StaffAction): Promise<void> {
  await staffActionInsert(executor, at, entry);
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
