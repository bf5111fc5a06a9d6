import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { and, eq, inArray } from 'drizzle-orm';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openPostgres } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { notifications } from '../src/db/schema.js';
import { createMailer } from '../src/modules/notifications/mailer.js';
import { createNotificationWorker } from '../src/modules/notifications/worker.js';
import { fixedClock } from '../src/time/clock.js';
import { signToken } from '../tests/helpers/app.js';
import { benchDatabase } from './database.js';
import type { Measurement } from './stats.js';

const SECRET = 'bench-secret-that-is-long-enough-0123456789';

/** Outbox throughput: messages from pending to accepted by a local SMTP server, one worker. */
export async function benchOutbox(options: { adminUrl: string; bookings?: number }): Promise<Measurement> {
  const bookingCount = options.bookings ?? 700;
  const database = await benchDatabase(options.adminUrl);
  const handle = openPostgres(database.url);
  const sink = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./smtp-sink.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [portLine] = (await once(sink.stdout, 'data')) as [Buffer];
  const smtpUrl = `smtp://127.0.0.1:${portLine.toString().trim()}`;
  const clock = fixedClock('2027-01-04T00:00:00Z');
  const config = loadConfig({
    AUTH_JWT_SECRET: SECRET,
    SMTP_URL: smtpUrl,
    LOG_LEVEL: 'silent',
    BOOKING_LIMIT_PER_STUDENT: '100',
    RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '100000',
  });
  const mailer = createMailer(config);
  try {
    await runMigrations(handle);
    const app = await buildApp({ db: handle.db, clock, config });
    const adminHeaders = { authorization: `Bearer ${await signToken(SECRET, ['admin'], {}, { now: clock.now() })}` };
    const librarian = (
      await app.inject({
        method: 'POST',
        url: '/api/v1/librarians',
        headers: adminHeaders,
        payload: { email: 'o@uni.ac.uk', name: 'O' },
      })
    ).json();
    await app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${librarian.id}/availability`,
      headers: adminHeaders,
      payload: {
        slotMinutes: 15,
        minNoticeMinutes: 0,
        horizonDays: 365,
        weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '08:00', end: '20:00' })),
      },
    });
    for (let i = 0; i < bookingCount; i++) {
      const day = Math.floor(i / 48);
      const start = new Date(
        Date.parse('2027-01-11T08:00:00Z') + (Math.floor(day / 5) * 7 + (day % 5)) * 86_400_000 + (i % 48) * 900_000,
      );
      const token = await signToken(
        SECRET,
        ['student'],
        { sub: `o|${i}`, email: `s${i}@uni.ac.uk` },
        { now: clock.now() },
      );
      await app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: { authorization: `Bearer ${token}` },
        payload: {
          librarianId: librarian.id,
          start: start.toISOString(),
          companion: { name: 'C', email: `c${i}@uni.ac.uk` },
        },
      });
    }
    await app.close();
    // Reminders are due later; measure the confirmations (student, companion, librarian each).
    await handle.db
      .update(notifications)
      .set({ status: 'skipped' })
      .where(and(eq(notifications.kind, 'reminder'), inArray(notifications.status, ['pending'])));
    const worker = createNotificationWorker({ db: handle.db, clock, mailer, config });
    const started = performance.now();
    let sent = 0;
    for (;;) {
      const run = await worker.runOnce();
      sent += run.sent;
      if (run.sent + run.failed + run.dead + run.skipped === 0) break;
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      name: `outbox: ${sent} messages pending -> accepted by a local SMTP server, one worker, SMTP server in another process`,
      median: sent / seconds,
      p99: sent / seconds,
      runs: 1,
      unit: 'messages/s',
      target: '>= 200 messages/s',
    };
  } finally {
    mailer.close();
    sink.kill('SIGTERM');
    await handle.close();
    await database.drop();
  }
}
