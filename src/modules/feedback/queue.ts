import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { writeTogether } from '../../db/batch.js';
import type { Executor } from '../../db/client.js';
import { bookings, companions, librarians, notifications, students } from '../../db/schema.js';
import { sessionSnapshot } from '../notifications/context.js';
import type { OutboxSettings } from '../notifications/outbox.js';
import { queueMessages } from '../notifications/queue.js';

const HOUR = 3_600_000;

/** Who a feedback email is for: the student, or one companion. */
const personKey = (role: string, companionId: string | null) => `${role}:${companionId ?? ''}`;

/**
 * Keeps the booking's feedback emails in step with its attendance, in the caller's transaction:
 * one to the student and one to each companion who attended, FEEDBACK_DELAY_HOURS later; never to
 * a no-show; never a second to anyone (queued, retried or sent already counts); an unsent one is
 * skipped when a correction says that person did not come after all.
 */
export async function queueFeedback(
  executor: Executor,
  settings: Pick<OutboxSettings, 'feedbackDelayHours' | 'messageIdDomain'>,
  change: { bookingId: string; now: Date },
): Promise<void> {
  if (settings.feedbackDelayHours <= 0) return;
  const [row] = await executor
    .select({ booking: bookings, librarian: librarians, student: students })
    .from(bookings)
    .innerJoin(librarians, eq(librarians.id, bookings.librarianId))
    .leftJoin(students, eq(students.id, bookings.studentId))
    .where(eq(bookings.id, change.bookingId));
  if (!row) return;
  const people = await executor.select().from(companions).where(eq(companions.bookingId, change.bookingId));
  const confirmed = row.booking.status === 'confirmed';
  const wanted = new Map<
    string,
    { role: 'student' | 'companion'; email: string; name: string | null; id: string | null }
  >();
  if (confirmed && row.booking.attendance === 'attended' && row.student?.email) {
    wanted.set(personKey('student', null), {
      role: 'student',
      email: row.student.email,
      name: row.student.name,
      id: null,
    });
  }
  for (const companion of people) {
    if (confirmed && companion.status === 'invited' && companion.attended === true && companion.email) {
      wanted.set(personKey('companion', companion.id), {
        role: 'companion',
        email: companion.email,
        name: companion.name,
        id: companion.id,
      });
    }
  }
  const existing = await executor
    .select()
    .from(notifications)
    .where(and(eq(notifications.bookingId, change.bookingId), eq(notifications.kind, 'feedback_request')));
  const unwanted = existing.filter(
    (old) =>
      (old.status === 'pending' || old.status === 'failed') &&
      !wanted.has(personKey(old.recipientRole, old.companionId)),
  );
  if (unwanted.length > 0) {
    await executor
      .update(notifications)
      .set({ status: 'skipped', lastError: 'superseded by attendance_corrected', lockedUntil: null, linkToken: null })
      .where(
        inArray(
          notifications.id,
          unwanted.map((old) => old.id),
        ),
      );
  }
  const asked = new Set(
    existing.filter((old) => old.status !== 'skipped').map((old) => personKey(old.recipientRole, old.companionId)),
  );
  const snapshot = sessionSnapshot(row.booking, row.librarian, row.student, people);
  const sendAfter = new Date(change.now.getTime() + settings.feedbackDelayHours * HOUR);
  const fresh = [...wanted.entries()]
    .filter(([key]) => !asked.has(key))
    .map(([, person]) => ({
      kind: 'feedback_request' as const,
      bookingId: change.bookingId,
      recipientRole: person.role,
      companionId: person.id,
      recipientEmail: person.email,
      recipientName: person.name,
      sendAfter,
      createdAt: change.now,
      messageId: `<${randomUUID()}@${settings.messageIdDomain}>`,
      payload: snapshot,
    }));
  if (fresh.length > 0) await writeTogether(executor, { feedback_requests: queueMessages(executor, fresh) });
}
