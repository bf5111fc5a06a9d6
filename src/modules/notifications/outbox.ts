import { randomUUID } from 'node:crypto';
import { and, eq, gt, inArray, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { bookings, companions, librarians, notifications, students } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { sessionSnapshot } from './context.js';
import type { MessageSnapshot } from './message.js';

export const NOTIFICATION_KINDS = [
  'booking_created',
  'booking_rescheduled',
  'booking_cancelled',
  'companion_added',
  'companion_removed',
  'companion_declined',
  'reminder',
  'feedback_request',
  'webhook_disabled',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

type NewNotification = typeof notifications.$inferInsert;
type Role = NewNotification['recipientRole'];

export interface OutboxSettings {
  reminderHours: number;
  /** Hours after attendance is recorded to ask for feedback; 0 = never. */
  feedbackDelayHours: number;
  /** Host part of Message-IDs, from PUBLIC_URL. */
  messageIdDomain: string;
  /** Emails one booking may cause per hour; cancellations are never held back. */
  emailsPerBookingPerHour: number;
}

const HOUR = 3_600_000;

/** Too many emails for one booking this hour: the change is refused, nothing is written. */
export class TooManyEmails extends DomainError {
  constructor(limit: number) {
    super(
      429,
      'too_many_emails',
      'Too many changes',
      `This booking has sent ${limit} emails in the last hour; try the change again later.`,
      { headers: { 'retry-after': '3600' } },
    );
  }
}

/** Who a message is for: the same person across messages about one booking. */
function recipientKey(row: { recipientRole: Role; companionId?: string | null }): string {
  return `${row.recipientRole}:${row.companionId ?? ''}`;
}

/**
 * Writes the emails a booking change causes into the outbox, in the caller's transaction, so the
 * change and its notifications commit or roll back together. Each message's content is fixed now
 * (payload), so a later change can never turn it into a copy of a later message; instead, a
 * cancellation or a move supersedes the same person's messages not yet sent (status skipped, with
 * the reason), and a move then states the time that person last heard of.
 */
export async function queueForBooking(
  executor: Executor,
  settings: OutboxSettings,
  change: {
    kind: Exclude<NotificationKind, 'reminder' | 'feedback_request' | 'webhook_disabled'>;
    bookingId: string;
    now: Date;
    companionIds?: string[];
    /** For a move: where the session was. */
    previous?: { startMs: number; endMs: number };
  },
): Promise<void> {
  const [row] = await executor
    .select({ booking: bookings, librarian: librarians, student: students })
    .from(bookings)
    .innerJoin(librarians, eq(librarians.id, bookings.librarianId))
    .leftJoin(students, eq(students.id, bookings.studentId))
    .where(eq(bookings.id, change.bookingId));
  if (row?.booking.source !== 'booked') return;
  const { booking, librarian } = row;
  const allCompanions = await executor
    .select()
    .from(companions)
    .where(eq(companions.bookingId, booking.id))
    .orderBy(companions.ordinal);
  const named = (ids: string[] | undefined) => allCompanions.filter((c) => ids?.includes(c.id) && c.email);
  const active = allCompanions.filter((c) => c.status === 'invited' && c.email);

  const snapshot: MessageSnapshot = sessionSnapshot(booking, librarian, row.student, allCompanions);

  const messages: NewNotification[] = [];
  const message = (role: Role, email: string | null, name: string | null, companionId: string | null = null) => {
    if (!email) return;
    messages.push({
      kind: change.kind,
      bookingId: booking.id,
      recipientRole: role,
      recipientEmail: email,
      recipientName: name,
      companionId,
      sendAfter: change.now,
      createdAt: change.now,
      messageId: `<${randomUUID()}@${settings.messageIdDomain}>`,
      payload: snapshot,
    });
  };
  const student = () => message('student', row.student?.email ?? null, row.student?.name ?? null);
  const librarianMessage = () => message('librarian', librarian.email, librarian.name);
  const companion = (c: (typeof allCompanions)[number]) => message('companion', c.email, c.name, c.id);

  switch (change.kind) {
    case 'booking_created':
    case 'booking_rescheduled':
    case 'booking_cancelled':
      student();
      for (const c of active) companion(c);
      librarianMessage();
      break;
    case 'companion_added':
    case 'companion_removed':
      for (const c of named(change.companionIds)) companion(c);
      librarianMessage();
      break;
    case 'companion_declined':
      student();
      librarianMessage();
      break;
  }

  if (change.kind !== 'booking_cancelled' && messages.length > 0) {
    const [sent] = await executor
      .select({ total: sql<number>`count(*)::int` })
      .from(notifications)
      .where(
        and(
          eq(notifications.bookingId, booking.id),
          ne(notifications.kind, 'reminder'),
          gt(notifications.createdAt, new Date(change.now.getTime() - HOUR)),
        ),
      );
    if ((sent?.total ?? 0) + messages.length > settings.emailsPerBookingPerHour) {
      throw new TooManyEmails(settings.emailsPerBookingPerHour);
    }
  }

  if (change.kind === 'booking_cancelled' || change.kind === 'booking_rescheduled') {
    const recipients = new Set(messages.map(recipientKey));
    const unsent = await executor
      .select()
      .from(notifications)
      .where(
        and(
          eq(notifications.bookingId, booking.id),
          ne(notifications.kind, 'reminder'),
          inArray(notifications.status, ['pending', 'failed']),
        ),
      );
    const superseded = unsent.filter(
      (old) =>
        recipients.has(recipientKey(old)) &&
        (change.kind === 'booking_cancelled' || old.kind === 'booking_rescheduled'),
    );
    if (superseded.length > 0) {
      await executor
        .update(notifications)
        .set({ status: 'skipped', lastError: `superseded by ${change.kind}`, lockedUntil: null, linkToken: null })
        .where(
          inArray(
            notifications.id,
            superseded.map((old) => old.id),
          ),
        );
    }
    if (change.kind === 'booking_rescheduled' && change.previous) {
      for (const next of messages) {
        // A move not yet told is replaced: the person hears "from where they last knew, to now".
        const earlier = superseded.find((old) => recipientKey(old) === recipientKey(next));
        const told = (earlier?.payload as MessageSnapshot | null)?.previous ?? change.previous;
        next.payload = { ...snapshot, previous: told };
      }
    }
  }

  // Reminders: replaced whenever the session moves or its people change.
  const affected =
    change.kind === 'companion_added' || change.kind === 'companion_removed' ? (change.companionIds ?? []) : null;
  await executor
    .update(notifications)
    .set({ status: 'skipped', lastError: `superseded by ${change.kind}` })
    .where(
      and(
        eq(notifications.bookingId, booking.id),
        eq(notifications.kind, 'reminder'),
        inArray(notifications.status, ['pending', 'failed']),
        affected
          ? inArray(
              notifications.companionId,
              affected.length > 0 ? affected : ['00000000-0000-0000-0000-000000000000'],
            )
          : undefined,
      ),
    );
  const remindAt = new Date(booking.startsAt.getTime() - settings.reminderHours * HOUR);
  if (
    booking.status === 'confirmed' &&
    remindAt > change.now &&
    change.kind !== 'companion_removed' &&
    change.kind !== 'companion_declined'
  ) {
    const reminder = (role: 'student' | 'companion', email: string | null, name: string | null, companionId?: string) =>
      email &&
      messages.push({
        kind: 'reminder',
        bookingId: booking.id,
        recipientRole: role,
        recipientEmail: email,
        recipientName: name,
        companionId: companionId ?? null,
        sessionStartsAt: booking.startsAt,
        sendAfter: remindAt,
        createdAt: change.now,
        messageId: `<${randomUUID()}@${settings.messageIdDomain}>`,
      });
    if (change.kind !== 'companion_added') reminder('student', row.student?.email ?? null, row.student?.name ?? null);
    const remindCompanions = change.kind === 'companion_added' ? named(change.companionIds) : active;
    for (const c of remindCompanions) if (c.status === 'invited') reminder('companion', c.email, c.name, c.id);
  }
  if (messages.length > 0) await executor.insert(notifications).values(messages);
}
