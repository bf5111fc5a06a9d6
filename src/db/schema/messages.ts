import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { bookings, companions } from './bookings.js';
import { createdAt, instant } from './columns.js';

// Emails waiting or sent, and webhook endpoints and deliveries.

export const NOTIFICATION_STATUSES = ['pending', 'sent', 'failed', 'dead', 'skipped'] as const;

/**
 * The outbox: written in the same transaction as the booking change, sent by the worker. What a
 * message says is fixed when it is queued (`message`, a MessageSnapshot; reminders read the booking
 * as it then is); Message-ID is fixed here too, so a resend after a crash is recognisably the same
 * message.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    /** The booking the message is about; null for messages about no booking (sign-in links). */
    bookingId: uuid('booking_id').references(() => bookings.id, { onDelete: 'cascade' }),
    recipientRole: text('recipient_role', { enum: ['student', 'companion', 'librarian'] }).notNull(),
    companionId: uuid('companion_id').references(() => companions.id, { onDelete: 'cascade' }),
    recipientEmail: text('recipient_email').notNull(),
    recipientName: text('recipient_name'),
    /** The language to write in, when fixed as the message was queued (a sign-in link: the page's); else the recipient's own. */
    language: text('language'),
    /** For reminders: the start they were queued for, so a moved session's old reminder is skipped. */
    sessionStartsAt: instant('session_starts_at'),
    sendAfter: instant('send_after').notNull(),
    status: text('status', { enum: NOTIFICATION_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    messageId: text('message_id').notNull().unique(),
    /** What the message says, fixed when queued (MessageSnapshot); reminders read the booking as it is. */
    payload: jsonb('payload'),
    /**
     * The manage link's token for this message, from its first attempt until it is sent, so every
     * retry carries the same link; cleared once sent. Only its hash is in manage_tokens.
     */
    linkToken: text('link_token'),
    lockedUntil: instant('locked_until'),
    sentAt: instant('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('notifications_due_idx').on(t.status, t.sendAfter),
    index('notifications_booking_idx').on(t.bookingId),
    check('notifications_status_check', sql`${t.status} in ('pending', 'sent', 'failed', 'dead', 'skipped')`),
  ],
);

export const WEBHOOK_EVENT_TYPES = [
  'booking.created',
  'booking.rescheduled',
  'booking.cancelled',
  'booking.companion_changed',
  'booking.attendance_recorded',
  'campaign.sent',
  'calendar.sync_failed',
  'calendar.sync_recovered',
  'waitlist.offered',
  'waitlist.accepted',
  'waitlist.expired',
] as const;

/**
 * The library's other systems, told of booking changes by signed HTTP requests (Standard
 * Webhooks). The secret signs (it cannot be hashed); during a rotation the previous one also signs
 * until previous_secret_expires_at.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: uuid('id').primaryKey().defaultRandom(),
  url: text('url').notNull(),
  description: text('description'),
  events: text('events').array().notNull(),
  enabled: boolean('enabled').notNull().default(true),
  /** Why it was turned off: 'gone' (410), 'failing' (3 days of failures) or 'admin'. */
  disabledReason: text('disabled_reason'),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: instant('previous_secret_expires_at'),
  /** The first failure since the last success: 3 days of only failures disables the endpoint. */
  failingSince: instant('failing_since'),
  createdAt: createdAt(),
  updatedAt: instant('updated_at').notNull(),
});

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'dead'] as const;

/**
 * One event for one endpoint, created in the transaction that appended the event, so no change is
 * ever missed; the webhook worker claims due rows with FOR UPDATE SKIP LOCKED.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    /** Also the webhook-id header: the same on every attempt. */
    id: text('id').primaryKey(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status', { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: instant('next_attempt_at').notNull(),
    lockedUntil: instant('locked_until'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    lastDurationMs: integer('last_duration_ms'),
    lastAttemptAt: instant('last_attempt_at'),
    deliveredAt: instant('delivered_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    check('webhook_deliveries_status_check', sql`${t.status} in ('pending', 'succeeded', 'dead')`),
  ],
);
