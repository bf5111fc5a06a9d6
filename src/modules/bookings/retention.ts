import { and, eq, gte, inArray, isNotNull, lt, notExists, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { rowsOf } from '../../db/rows.js';
import {
  bookingEvents,
  bookings,
  companions,
  feedbackRequests,
  feedbackResponses,
  manageTokens,
  notifications,
  students,
} from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { forgetOldCohorts, keepAttributions } from '../campaigns/retention.js';
import { purgeStaffRecord } from '../staff-record/service.js';

/** The advisory lock key of the retention job (any constant; it names the job). */
const RETENTION_LOCK = 7_311_001;

/**
 * Anonymises sessions that started before `cutoff`: topics, reasons, meeting links, tokens, outbox
 * rows, feedback comments and links, audit snapshots and companions' names and emails go; times, category snapshots, companion
 * yes/no, attendance and the pseudonymous student key stay, so uptake figures do not change.
 * Students with nothing newer lose their name and email (the id left on old bookings then names
 * no one).
 */
export async function anonymiseBefore(
  db: Database,
  cutoff: Date,
  now: Date,
): Promise<{ bookings: number; ran: boolean }> {
  return transaction(db, async (tx) => {
    // One process at a time, whichever run the job: the others find the lock taken and skip.
    const [lock] = await rowsOf<{ locked: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(${RETENTION_LOCK}) as locked`,
    );
    if (!lock?.locked) return { bookings: 0, ran: false };
    const old = tx.select({ id: bookings.id }).from(bookings).where(lt(bookings.startsAt, cutoff));
    const updated = await tx
      .update(bookings)
      .set({ topic: null, cancellationReason: null, meetingUrl: null })
      .where(
        and(
          lt(bookings.startsAt, cutoff),
          sql`(${bookings.topic} is not null or ${bookings.cancellationReason} is not null or ${bookings.meetingUrl} is not null)`,
        ),
      )
      .returning({ id: bookings.id });
    await tx
      .update(companions)
      .set({ name: null, email: null, categories: null })
      .where(inArray(companions.bookingId, old));
    await tx.delete(manageTokens).where(inArray(manageTokens.bookingId, old));
    // Feedback keeps its scores (figures do not change) and loses its words and its link.
    const oldRequests = tx
      .select({ id: feedbackRequests.id })
      .from(feedbackRequests)
      .where(inArray(feedbackRequests.bookingId, old));
    await tx.update(feedbackResponses).set({ comment: null }).where(inArray(feedbackResponses.requestId, oldRequests));
    await tx.update(feedbackRequests).set({ tokenHash: null }).where(inArray(feedbackRequests.bookingId, old));
    await tx.delete(notifications).where(inArray(notifications.bookingId, old));
    await tx
      .update(bookingEvents)
      .set({ before: null, after: null, actor: 'anonymised' })
      .where(inArray(bookingEvents.bookingId, old));
    const leaving = await tx
      .select({ id: students.id })
      .from(students)
      .where(
        and(
          lt(students.updatedAt, cutoff),
          isNotNull(students.email),
          notExists(
            tx
              .select({ id: bookings.id })
              .from(bookings)
              .where(and(eq(bookings.studentId, students.id), gte(bookings.startsAt, cutoff))),
          ),
        ),
      );
    const leavingIds = leaving.map((row) => row.id);
    // Campaign results find a member's bookings by email: keep which students they were first.
    await keepAttributions(tx, leavingIds, now);
    for (let offset = 0; offset < leavingIds.length; offset += 1000) {
      await tx
        .update(students)
        .set({ name: null, email: null })
        .where(inArray(students.id, leavingIds.slice(offset, offset + 1000)));
    }
    // Cohort lists of campaigns whose outcome window closed before the cutoff: the figures stay.
    await forgetOldCohorts(tx, cutoff, now);
    return { bookings: updated.length, ran: true };
  });
}

/** Runs anonymisation now and then daily; returns a stop function. */
export function scheduleRetention(
  db: Database,
  retentionMonths: number,
  now: () => Date,
  log: (message: string, details: Record<string, unknown>) => void,
  staffRecordMonths = 24,
): () => void {
  const run = async () => {
    const cutoff = new Date(now());
    cutoff.setUTCMonth(cutoff.getUTCMonth() - retentionMonths);
    const recordCutoff = new Date(now());
    recordCutoff.setUTCMonth(recordCutoff.getUTCMonth() - staffRecordMonths);
    try {
      const result = await anonymiseBefore(db, cutoff, now());
      if (result.bookings > 0) log('retention: anonymised old sessions', { ...result, cutoff: cutoff.toISOString() });
      const purged = await purgeStaffRecord(db, recordCutoff);
      if (purged > 0) log('retention: staff record entries removed', { purged, cutoff: recordCutoff.toISOString() });
    } catch (error) {
      log('retention failed', { error: error instanceof Error ? error.message : String(error) });
    }
  };
  void run();
  const timer = setInterval(run, 24 * 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
