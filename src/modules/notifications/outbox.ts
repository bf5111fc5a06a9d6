import { randomUUID } from 'node:crypto';
import { and, eq, gt, inArray, ne, type SQL, sql } from 'drizzle-orm';
import type { Writes } from '../../db/batch.js';
import type { Executor } from '../../db/client.js';
import { type bookings, type companions, type librarians, notifications, type students } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { sessionSnapshot } from './context.js';
import type { MessageSnapshot } from './message.js';
import { type NotificationKind, type QueuedMessage, queueMessages } from './queue.js';

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

export type BookingChangeKind = Exclude<
  NotificationKind,
  'reminder' | 'feedback_request' | 'webhook_disabled' | 'sign_in_link'
>;

/** Changes to some of a booking's friends (`companionIds`), which leave everyone else's messages alone. */
const FRIEND_CHANGES: ReadonlySet<BookingChangeKind> = new Set([
  'companion_added',
  'companion_removed',
  'companion_declined',
  'companion_rejoined',
  'companion_confirmed',
]);

/** The session as the change leaves it: the rows the messages describe. */
export interface OutboxSession {
  booking: typeof bookings.$inferSelect;
  librarian: typeof librarians.$inferSelect;
  student: typeof students.$inferSelect | null;
  companions: (typeof companions.$inferSelect)[];
}

/** What the booking's earlier messages mean for this change: the hourly limit and what a change supersedes. */
export interface OutboxHistory {
  /** Messages other than reminders queued in the last hour. */
  recent: number;
  /** Messages other than reminders not yet sent (pending or failed). */
  unsent: { id: string; kind: string; recipientRole: Role; companionId: string | null; payload: unknown }[];
}

/** A booking that has only just been written has no history. */
export const NO_HISTORY: OutboxHistory = { recent: 0, unsent: [] };

/** The booking's message history as one scalar subquery (jsonb), to read with the change's other facts. */
export function outboxHistorySql(bookingId: string, now: Date): SQL<OutboxHistory> {
  return sql<OutboxHistory>`jsonb_build_object(
    'recent', (select count(*)::int from ${notifications}
               where ${and(
                 eq(notifications.bookingId, bookingId),
                 ne(notifications.kind, 'reminder'),
                 gt(notifications.createdAt, new Date(now.getTime() - HOUR)),
               )}),
    'unsent', (select coalesce(jsonb_agg(jsonb_build_object(
                 'id', ${notifications.id}, 'kind', ${notifications.kind},
                 'recipientRole', ${notifications.recipientRole}, 'companionId', ${notifications.companionId},
                 'payload', ${notifications.payload})), '[]'::jsonb)
               from ${notifications}
               where ${and(
                 eq(notifications.bookingId, bookingId),
                 ne(notifications.kind, 'reminder'),
                 inArray(notifications.status, ['pending', 'failed']),
               )}))`;
}

/**
 * The emails a booking change causes, as writes to send with the change (writeTogether), so the
 * change and its notifications commit or roll back together. Each message's content is fixed now
 * (payload), so a later change can never turn it into a copy of a later message; instead, a
 * cancellation or a move supersedes the same person's messages not yet sent (status skipped, with
 * the reason), and a move then states the time that person last heard of. Throws TooManyEmails
 * (nothing written) past the hourly limit. Pure: what to write is decided from `session` and
 * `history`, read by the caller.
 */
export function outboxWrites(
  executor: Executor,
  settings: OutboxSettings,
  change: {
    kind: BookingChangeKind;
    now: Date;
    companionIds?: string[];
    /** For a move: where the session was. */
    previous?: { startMs: number; endMs: number };
  },
  session: OutboxSession,
  history: OutboxHistory,
): Writes {
  const { booking, librarian } = session;
  if (booking.source !== 'booked') return {};
  const allCompanions = session.companions;
  const named = (ids: string[] | undefined) => allCompanions.filter((c) => ids?.includes(c.id) && c.email);
  const active = allCompanions.filter((c) => c.status === 'invited' && c.email);

  const snapshot: MessageSnapshot = {
    ...sessionSnapshot(booking, librarian, session.student, allCompanions),
    ...(change.companionIds ? { about: change.companionIds } : {}),
  };

  const messages: QueuedMessage[] = [];
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
  const student = () => message('student', session.student?.email ?? null, session.student?.name ?? null);
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
    case 'companion_rejoined':
    case 'companion_confirmed':
      student();
      librarianMessage();
      break;
  }

  if (change.kind !== 'booking_cancelled' && messages.length > 0) {
    if (history.recent + messages.length > settings.emailsPerBookingPerHour) {
      throw new TooManyEmails(settings.emailsPerBookingPerHour);
    }
  }

  const writes: Writes = {};
  if (change.kind === 'booking_cancelled' || change.kind === 'booking_rescheduled') {
    const recipients = new Set(messages.map(recipientKey));
    const superseded = history.unsent.filter(
      (old) =>
        recipients.has(recipientKey(old)) &&
        (change.kind === 'booking_cancelled' || old.kind === 'booking_rescheduled'),
    );
    if (superseded.length > 0) {
      writes.outbox_superseded = executor
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

  // Reminders: replaced whenever the session moves or its people change (a new booking has none).
  // A change to some friends replaces only their reminders: a friend who can't come leaves the student's.
  const affected = FRIEND_CHANGES.has(change.kind) ? (change.companionIds ?? []) : null;
  // "I'll come" changes nobody's reminder: the friend's already goes.
  const keepsReminders = change.kind === 'booking_created' || change.kind === 'companion_confirmed';
  if (!keepsReminders && (affected === null || affected.length > 0)) {
    writes.outbox_reminders = executor
      .update(notifications)
      .set({ status: 'skipped', lastError: `superseded by ${change.kind}` })
      .where(
        and(
          eq(notifications.bookingId, booking.id),
          eq(notifications.kind, 'reminder'),
          inArray(notifications.status, ['pending', 'failed']),
          affected ? inArray(notifications.companionId, affected) : undefined,
        ),
      );
  }
  const remindAt = new Date(booking.startsAt.getTime() - settings.reminderHours * HOUR);
  if (
    booking.status === 'confirmed' &&
    remindAt > change.now &&
    change.kind !== 'companion_removed' &&
    change.kind !== 'companion_declined' &&
    change.kind !== 'companion_confirmed'
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
    const friendsOnly = change.kind === 'companion_added' || change.kind === 'companion_rejoined';
    if (!friendsOnly) reminder('student', session.student?.email ?? null, session.student?.name ?? null);
    const remindCompanions = friendsOnly ? named(change.companionIds) : active;
    for (const c of remindCompanions) if (c.status === 'invited') reminder('companion', c.email, c.name, c.id);
  }
  if (messages.length > 0) writes.outbox_messages = queueMessages(executor, messages);
  return writes;
}
