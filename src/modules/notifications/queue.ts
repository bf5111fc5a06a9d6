import { randomUUID } from 'node:crypto';
import type { Executor } from '../../db/client.js';
import { insertRows } from '../../db/insert.js';
import { notifications } from '../../db/schema.js';

/** Every kind of email the outbox sends; the worker renders each (message.ts) when it sends it. */
export const NOTIFICATION_KINDS = [
  'booking_created',
  'booking_rescheduled',
  'booking_cancelled',
  'companion_added',
  'companion_removed',
  'companion_declined',
  'companion_rejoined',
  'companion_confirmed',
  'reminder',
  'feedback_request',
  'webhook_disabled',
  'sign_in_link',
  'campaign_invitation',
  'calendar_failed',
  'calendar_recovered',
  'waitlist_offer',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** One email to queue: a row of `notifications` whose kind is one of NOTIFICATION_KINDS. */
export type QueuedMessage = Omit<typeof notifications.$inferInsert, 'kind'> & { kind: NotificationKind };

/**
 * The one way into the outbox, for bookings, feedback, sign-in links and webhook alerts alike:
 * the insert of `messages` (at least one), to send with the change that causes them, or on its
 * own, through writeTogether.
 */
export function queueMessages(executor: Executor, messages: QueuedMessage[]) {
  if (messages.length === 0) throw new Error('queueMessages needs at least one message');
  return insertRows(executor, notifications, messages);
}

/** A new Message-ID for an email sent from `domain`. */
export function newMessageId(domain: string): string {
  return `<${randomUUID()}@${domain}>`;
}
