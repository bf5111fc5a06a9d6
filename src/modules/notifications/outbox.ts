import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { bookings, companions, librarians, notifications, students } from '../../db/schema.js';

export const NOTIFICATION_KINDS = [
  'booking_created',
  'booking_rescheduled',
  'booking_cancelled',
  'companion_added',
  'companion_removed',
  'companion_declined',
  'reminder',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

type NewNotification = typeof notifications.$inferInsert;

export interface OutboxSettings {
  reminderHours: number;
  /** Host part of Message-IDs, from PUBLIC_URL. */
  messageIdDomain: string;
}

/**
 * Writes the emails a booking change causes into the outbox, in the caller's transaction, so the
 * change and its notifications commit or roll back together.
 */
export async function queueForBooking(
  executor: Executor,
  settings: OutboxSettings,
  change: { kind: Exclude<NotificationKind, 'reminder'>; bookingId: string; now: Date; companionIds?: string[] },
): Promise<void> {
  const [row] = await executor
    .select({ booking: bookings, librarianEmail: librarians.email, librarianName: librarians.name, student: students })
    .from(bookings)
    .leftJoin(librarians, eq(librarians.id, bookings.librarianId))
    .leftJoin(students, eq(students.id, bookings.studentId))
    .where(eq(bookings.id, change.bookingId));
  if (row?.booking.source !== 'booked') return;
  const { booking } = row;
  const allCompanions = await executor.select().from(companions).where(eq(companions.bookingId, booking.id));
  const named = (ids: string[] | undefined) => allCompanions.filter((c) => ids?.includes(c.id) && c.email);
  const active = allCompanions.filter((c) => c.status === 'invited' && c.email);

  const messages: NewNotification[] = [];
  const message = (
    role: 'student' | 'companion' | 'librarian',
    email: string | null,
    name: string | null,
    extra: Partial<NewNotification> = {},
  ) => {
    if (!email) return;
    messages.push({
      kind: change.kind,
      bookingId: booking.id,
      recipientRole: role,
      recipientEmail: email,
      recipientName: name,
      sendAfter: change.now,
      messageId: `<${randomUUID()}@${settings.messageIdDomain}>`,
      ...extra,
    });
  };
  const student = () => message('student', row.student?.email ?? null, row.student?.name ?? null);
  const librarian = () => message('librarian', row.librarianEmail, row.librarianName);
  const companion = (c: (typeof allCompanions)[number]) => message('companion', c.email, c.name, { companionId: c.id });

  switch (change.kind) {
    case 'booking_created':
    case 'booking_rescheduled':
    case 'booking_cancelled':
      student();
      for (const c of active) companion(c);
      librarian();
      break;
    case 'companion_added':
      for (const c of named(change.companionIds)) companion(c);
      librarian();
      break;
    case 'companion_removed':
      for (const c of named(change.companionIds)) companion(c);
      librarian();
      break;
    case 'companion_declined':
      student();
      librarian();
      break;
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
  const remindAt = new Date(booking.startsAt.getTime() - settings.reminderHours * 3_600_000);
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
        messageId: `<${randomUUID()}@${settings.messageIdDomain}>`,
      });
    if (change.kind !== 'companion_added') reminder('student', row.student?.email ?? null, row.student?.name ?? null);
    const remindCompanions = change.kind === 'companion_added' ? named(change.companionIds) : active;
    for (const c of remindCompanions) if (c.status === 'invited') reminder('companion', c.email, c.name, c.id);
  }
  if (messages.length > 0) await executor.insert(notifications).values(messages);
}
