import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openPostgres } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { appendEvent } from '../src/modules/events/feed.js';
import { createWebhookWorker } from '../src/modules/webhooks/worker.js';
import { fixedClock } from '../src/time/clock.js';
import { signToken } from '../tests/helpers/app.js';
import { benchDatabase } from './database.js';
import type { Measurement } from './stats.js';

const SECRET = 'bench-secret-that-is-long-enough-0123456789';

/**
 * Webhook throughput on PostgreSQL: events appended to the change feed, then one worker draining
 * their deliveries to a local receiver (127.0.0.1) that answers 204, each request signed.
 */
export async function benchWebhooks(options: { adminUrl: string; events?: number }): Promise<Measurement> {
  const count = options.events ?? 3000;
  const database = await benchDatabase(options.adminUrl);
  const handle = openPostgres(database.url);
  let received = 0;
  const receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received++;
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  try {
    await runMigrations(handle);
    const clock = fixedClock('2027-01-04T09:00:00Z');
    const config = loadConfig({ AUTH_JWT_SECRET: SECRET, LOG_LEVEL: 'silent', WEBHOOK_ALLOW_HOSTS: '127.0.0.1' });
    const app = await buildApp({ db: handle.db, clock, config });
    const headers = { authorization: `Bearer ${await signToken(SECRET, ['admin'], {}, { now: clock.now() })}` };
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers,
      payload: { url: `http://127.0.0.1:${port}/hooks`, events: ['booking.created'] },
    });
    if (created.statusCode !== 201) throw new Error(`endpoint: ${created.body}`);
    const [booking] = (
      (await handle.db.execute(sql`
        insert into bookings (source, student_ref, starts_at, ends_at, occupied_until, status, mode, student_categories,
                              created_at, updated_at)
        values ('imported', 'bench', '2027-01-04 10:00+00', '2027-01-04 11:00+00', '2027-01-04 11:00+00',
                'confirmed', 'in_person', '{}', ${clock.now()}, ${clock.now()})
        returning id`)) as unknown as { rows: { id: string }[] }
    ).rows;
    const after = { id: booking?.id, status: 'confirmed', startUtc: '2027-01-04T10:00:00.000Z', companions: [] };
    for (let i = 0; i < count; i += 100) {
      await handle.db.transaction(async (tx) => {
        for (let j = i; j < Math.min(count, i + 100); j++) {
          await appendEvent(tx, {
            bookingId: booking?.id as string,
            actor: 'bench',
            action: 'created',
            after,
            at: clock.now(),
          });
        }
      });
    }
    const worker = createWebhookWorker({ db: handle.db, clock, config });
    const started = performance.now();
    const run = await worker.runOnce();
    const seconds = (performance.now() - started) / 1000;
    await app.close();
    if (run.succeeded !== count || received !== count) {
      throw new Error(`delivered ${run.succeeded} of ${count} (receiver saw ${received})`);
    }
    const perSecond = count / seconds;
    return {
      name: `webhooks: ${count} events to signed deliveries accepted by a local receiver, one worker (PostgreSQL)`,
      median: perSecond,
      p99: perSecond,
      runs: 1,
      unit: 'deliveries/s',
      target: '≥ 300 deliveries/s',
    };
  } finally {
    receiver.close();
    await handle.close();
    await database.drop();
  }
}
