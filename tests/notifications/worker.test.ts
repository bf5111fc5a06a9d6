import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/client.js';
import { notifications } from '../../src/db/schema.js';
import { createMailer } from '../../src/modules/notifications/mailer.js';
import { createNotificationWorker } from '../../src/modules/notifications/worker.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { onPostgres } from '../helpers/db.js';
import { eventually } from '../helpers/eventually.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { startSmtpSink } from '../helpers/smtp.js';

let t: TestContext;
let librarian: { id: string; email: string };
const NOW = '2027-03-20T08:00:00Z';

beforeAll(async () => {
  t = await createTestApp({ now: NOW, env: { PUBLIC_URL: 'https://appointments.uni.example' } });
  librarian = await createLibrarianWithWeek(t, { email: 'grace@library.uni.example', name: 'Grace Hopper' });
});
afterAll(() => t.close());

async function bookOne(who: string, start: string, companion?: { name: string; email: string }): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who }),
    payload: { librarianId: librarian.id, start, ...(companion ? { companion } : {}) },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, deadlineMs = 10_000) {
  if (!(await eventually(condition, deadlineMs, 10))) throw new Error(`timed out waiting for ${what}`);
}

describe('the worker records each send as it completes', () => {
  it('marks the first message sent while the rest of its batch is still stuck at the mail server', async () => {
    let release: () => void = () => {};
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    let accepted = 0;
    const sink = await startSmtpSink({ beforeAccept: () => (++accepted === 1 ? Promise.resolve() : stalled) });
    const config = { ...t.config, smtpUrl: sink.url };
    const mailer = createMailer(config);
    const worker = createNotificationWorker({ db: t.db, clock: t.clock, mailer, config, concurrency: 1 });
    try {
      const bookingId = await bookOne('tess', '2027-03-22T09:00:00Z', {
        name: 'Tom',
        email: 'tom@student.uni.example',
      });
      const run = worker.runOnce();
      await until(() => sink.received.length === 1, 'the first message');
      const sent = async () =>
        (await t.db.select().from(notifications).where(eq(notifications.bookingId, bookingId))).filter(
          (row) => row.status === 'sent',
        ).length;
      await until(async () => (await sent()) === 1, 'the first send to be recorded');
      expect(sink.received).toHaveLength(1);
      release();
      expect(await run).toMatchObject({ sent: 3, failed: 0 });
      expect(await sent()).toBe(3);
    } finally {
      release();
      mailer.close();
      await sink.stop();
    }
  });
});

describe.skipIf(!onPostgres)('workers racing on PostgreSQL (skipped on PGlite: one connection cannot race)', () => {
  it('never sends a message twice when four workers with their own connections drain one queue', async () => {
    const bookingId = await bookOne('quinn', '2027-03-23T09:00:00Z');
    // A slow mail server keeps claims open long enough for the workers to overlap.
    const sink = await startSmtpSink({ beforeAccept: () => new Promise((resolve) => setTimeout(resolve, 5)) });
    const config = { ...t.config, smtpUrl: sink.url };
    await t.db.delete(notifications).where(eq(notifications.bookingId, bookingId));
    const total = 160;
    await t.db.insert(notifications).values(
      Array.from({ length: total }, (_, index) => ({
        kind: 'booking_created',
        bookingId,
        recipientRole: 'librarian' as const,
        recipientEmail: `desk${index}@library.uni.example`,
        recipientName: 'Desk',
        sendAfter: new Date(NOW),
        createdAt: new Date(NOW),
        messageId: `<${randomUUID()}@appointments.uni.example>`,
      })),
    );
    const handles = Array.from({ length: 4 }, () => openPostgres(t.database.url as string, { max: 4 }));
    const mailers = handles.map(() => createMailer(config));
    try {
      const workers = handles.map((handle, index) =>
        createNotificationWorker({
          db: handle.db,
          clock: t.clock,
          mailer: mailers[index] as ReturnType<typeof createMailer>,
          config,
          batchSize: 10,
          concurrency: 5,
        }),
      );
      const drain = async (worker: (typeof workers)[number]) => {
        let sent = 0;
        for (let round = 0; round < 100; round++) {
          const run = await worker.runOnce();
          sent += run.sent;
          if (run.sent + run.failed + run.skipped === 0) break;
        }
        return sent;
      };
      const perWorker = await Promise.all(workers.map(drain));
      const ids = (await Promise.all(sink.received.map((raw) => simpleParser(raw)))).map((mail) => mail.messageId);
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
      expect(perWorker.reduce((sum, count) => sum + count, 0)).toBe(total);
      // Each worker took part: the queue really was shared.
      for (const count of perWorker) expect(count).toBeGreaterThan(0);
    } finally {
      for (const mailer of mailers) mailer.close();
      await Promise.all(handles.map((handle) => handle.close()));
      await sink.stop();
    }
  });
});
