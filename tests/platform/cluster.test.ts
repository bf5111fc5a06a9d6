import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkDatabase,
  checkEmails,
  freePort,
  type Liaison,
  runLoad,
  seedLibrarians,
  startLiaison,
  startSink,
} from '../../bench/scale/cluster.js';
import { bookings } from '../../src/db/schema.js';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/db.js';
import { eventually } from '../helpers/eventually.js';

// The short version of `npm run scale-test`: two real processes on one PostgreSQL, students
// booking through both, one process killed with SIGKILL in the middle. Nothing may overlap, no
// Idempotency-Key may make two bookings, and every sent email reaches the SMTP server.

describe.runIf(onPostgres)('two processes, one killed during bookings', () => {
  let database: TestDatabase;
  let sink: Awaited<ReturnType<typeof startSink>>;
  const processes: Liaison[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    sink = await startSink();
  });
  afterAll(async () => {
    for (const liaison of processes) if (liaison.child.exitCode === null) liaison.child.kill('SIGKILL');
    await sink?.close();
    await database?.drop();
  });

  it('loses nothing and doubles nothing', async () => {
    const env = {
      DATABASE_URL: database.url as string,
      SMTP_URL: sink.url,
      RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '1000',
    };
    // The process that will be killed runs no worker: a message it had claimed would wait out its
    // 5-minute lease before the other could send it, longer than a test should take.
    const doomed = await startLiaison(await freePort(), { ...env, WORKER: 'off' });
    const survivor = await startLiaison(await freePort(), env);
    processes.push(doomed, survivor);
    const bases = [`http://127.0.0.1:${doomed.port}`, `http://127.0.0.1:${survivor.port}`];
    const librarians = await seedLibrarians(bases[1] as string, 2);
    const load = runLoad({ bases, librarians, students: 12, until: Date.now() + 8_000, prefix: 'short' });
    // Killed in the middle of the load, once bookings are being made.
    const booked = async () => (await database.handle.db.select({ n: count() }).from(bookings))[0]?.n ?? 0;
    expect(await eventually(async () => (await booked()) >= 10, 6_000, 50)).toBe(true);
    doomed.child.kill('SIGKILL');
    const result = await load;

    expect(result.created).toBeGreaterThan(10);
    // Clients retried connection errors on the other process: none gave up.
    expect(result.failures).toEqual([]);
    for (const [key, ids] of result.bookingsByKey) expect(ids.size, key).toBe(1);
    const checks = await checkDatabase(database.url as string);
    expect(checks).toEqual({ overlaps: 0, keysTwice: 0 });
    const emails = await checkEmails(database.url as string, sink, 30_000);
    expect(emails).toMatchObject({ pending: 0, missing: 0, confirmedUnsent: 0 });
    expect(emails.sent).toBeGreaterThan(result.created);
  });
});
