import { sql } from 'drizzle-orm';
import { type Writes, writeTogether } from '../../db/batch.js';
import type { Executor } from '../../db/client.js';
import { insertRows } from '../../db/insert.js';
import { bookingEvents } from '../../db/schema.js';

/** The webhook event type each booking change is published as (audit-only actions have none). */
/** What happened to a booking, as its feed event records it; each maps to one webhook event type. */
export type FeedAction = keyof typeof EVENT_TYPE_OF_ACTION;

export const EVENT_TYPE_OF_ACTION = {
  created: 'booking.created',
  recorded: 'booking.attendance_recorded',
  rescheduled: 'booking.rescheduled',
  cancelled: 'booking.cancelled',
  companion_added: 'booking.companion_changed',
  companion_updated: 'booking.companion_changed',
  companion_removed: 'booking.companion_changed',
  companion_declined: 'booking.companion_changed',
  companion_rejoined: 'booking.companion_changed',
  companion_confirmed: 'booking.companion_changed',
  attendance_recorded: 'booking.attendance_recorded',
  attendance_corrected: 'booking.attendance_recorded',
} as const;

interface BookingShape {
  id?: string;
  status?: string;
  source?: string;
  librarian?: { id: string } | null;
  startUtc?: string;
  endUtc?: string;
  mode?: string;
  attendance?: string | null;
  sequence?: number;
  companions?: { status: string; attended?: boolean | null }[];
}

/**
 * A thin payload: ids, times, status and counts. No names, emails, topics or categories: a
 * receiver fetches details through the API with its own credentials.
 */
export function thinPayload(type: string, at: Date, bookingId: string, after: unknown) {
  const booking = (after ?? {}) as BookingShape;
  const companions = booking.companions ?? [];
  return {
    type,
    timestamp: at.toISOString(),
    data: {
      bookingId,
      librarianId: booking.librarian?.id ?? null,
      status: booking.status ?? null,
      source: booking.source ?? null,
      start: booking.startUtc ?? null,
      end: booking.endUtc ?? null,
      mode: booking.mode ?? null,
      attendance: booking.attendance ?? null,
      sequence: booking.sequence ?? null,
      companions: {
        invited: companions.filter((companion) => companion.status === 'invited').length,
        attended: companions.filter((companion) => companion.attended === true).length,
      },
    },
  };
}

export interface FeedEvent {
  bookingId: string;
  actor: string;
  action: FeedAction;
  before?: unknown;
  after?: unknown;
  at: Date;
}

/**
 * The change feed's writes for one booking change, to send with the change's own writes
 * (writeTogether): the event, at the next position (booking_events.id), and one webhook delivery
 * for every enabled endpoint that subscribes to its type. A rolled-back change leaves neither; a
 * committed one can never be missed by the webhook channel.
 */
export function eventWrites(executor: Executor, event: FeedEvent): Writes {
  const type = EVENT_TYPE_OF_ACTION[event.action];
  const payload = type ? JSON.stringify(thinPayload(type, event.at, event.bookingId, event.after)) : undefined;
  return {
    feed_event: insertRows(
      executor,
      bookingEvents,
      [
        {
          at: event.at,
          bookingId: event.bookingId,
          actor: event.actor,
          action: event.action,
          before: event.before ?? null,
          after: event.after ?? null,
        },
      ],
      ['id'],
    ),
    feed_webhooks: type
      ? sql`
      insert into webhook_deliveries (id, endpoint_id, event_id, type, payload, next_attempt_at, created_at)
      select 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.id, feed_event.id, ${type}, ${payload}::jsonb,
             ${event.at}, ${event.at}
      from webhook_endpoints e, feed_event
      where e.enabled and ${type} = any(e.events)`
      : undefined,
  };
}

/** Appends one event (and its webhook deliveries) on its own; returns its position. */
export async function appendEvent(executor: Executor, event: FeedEvent): Promise<number> {
  const [row] = await writeTogether<{ id: number }>(
    executor,
    eventWrites(executor, event),
    sql`select id from feed_event`,
  );
  return Number(row?.id);
}
