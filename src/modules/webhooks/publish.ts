import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import type { WEBHOOK_EVENT_TYPES } from '../../db/schema.js';

/**
 * An event that is not a booking change (a campaign sent, a calendar failing, a waitlist offer),
 * to every enabled webhook that subscribes to its type, at the change feed's next position, in
 * the caller's transaction. `data` holds ids and counts only.
 */
export async function publishEvent(
  executor: Executor,
  type: (typeof WEBHOOK_EVENT_TYPES)[number],
  now: Date,
  data: Record<string, unknown>,
): Promise<void> {
  const payload = JSON.stringify({ type, timestamp: now.toISOString(), data });
  await executor.execute(sql`insert into webhook_deliveries (id, endpoint_id, event_id, type, payload, next_attempt_at, created_at)
    select 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.id, p.id, ${type}, ${payload}::jsonb, ${now}, ${now}
    from webhook_endpoints e, (select nextval(pg_get_serial_sequence('booking_events', 'id')) as id) p
    where e.enabled and ${type} = any(e.events)`);
}
