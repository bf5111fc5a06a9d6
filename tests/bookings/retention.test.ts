import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { students } from '../../src/db/schema.js';
import { anonymiseBefore } from '../../src/modules/bookings/retention.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { onPostgres } from '../helpers/db.js';

// Hardening item P: one clock. Student rows take their times from the injected clock, so
// retention decides by the same clock as everything else, whatever the real date.

let t: TestContext;

beforeAll(async () => {
  // Years before the real date: with database now() defaults the student would look recent.
  t = await createTestApp({ now: '2020-01-10T12:00:00Z' });
});
afterAll(() => t.close());

describe('retention by the injected clock', () => {
  it('anonymises a student last seen before the cutoff, and keeps one seen after it', async () => {
    const put = async (who: string) =>
      t.app.inject({
        method: 'PUT',
        url: '/api/v1/me',
        headers: await t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who }),
        payload: { categories: { fee_status: 'home' } },
      });
    expect((await put('old')).statusCode).toBe(200);
    t.clock.set('2022-06-01T12:00:00Z');
    expect((await put('recent')).statusCode).toBe(200);

    await anonymiseBefore(t.db, new Date('2022-02-01T00:00:00Z'), t.clock.now());
    const [old] = await t.db.select().from(students).where(eq(students.idpSubject, 'idp|old'));
    const [recent] = await t.db.select().from(students).where(eq(students.idpSubject, 'idp|recent'));
    expect(old?.updatedAt.toISOString()).toBe('2020-01-10T12:00:00.000Z');
    expect(old).toMatchObject({ name: null, email: null });
    expect(recent).toMatchObject({ name: 'recent', email: 'recent@student.uni.example' });
  });
});

describe.runIf(onPostgres)('retention runs in one process at a time', () => {
  it('skips while another process holds the job, and runs once it is free', async () => {
    // Another process, as far as PostgreSQL can tell: its own connection, holding the job's lock.
    const other = new pg.Client({ connectionString: t.database.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query('select pg_advisory_xact_lock(7311001)');
      expect(await anonymiseBefore(t.db, new Date('2022-02-01T00:00:00Z'), t.clock.now())).toEqual({
        bookings: 0,
        ran: false,
      });
      await other.query('commit');
      expect((await anonymiseBefore(t.db, new Date('2022-02-01T00:00:00Z'), t.clock.now())).ran).toBe(true);
    } finally {
      await other.end();
    }
  });

  it('two processes starting it together: exactly one runs', async () => {
    const second = new pg.Client({ connectionString: t.database.url });
    await second.connect();
    try {
      // The same transaction the job opens, from a second connection, racing the app's own.
      const mineAttempt = anonymiseBefore(t.db, new Date('2022-02-01T00:00:00Z'), t.clock.now());
      const race = async () => {
        await second.query('begin');
        const { rows } = await second.query('select pg_try_advisory_xact_lock(7311001) as locked');
        // Holding the lock: keep it until the app's own attempt has ended, so the two overlap.
        if (rows[0].locked) await mineAttempt.catch(() => {});
        await second.query('commit');
        return rows[0].locked as boolean;
      };
      const [mine, theirs] = await Promise.all([mineAttempt, race()]);
      expect([mine.ran, theirs].filter(Boolean)).toHaveLength(1);
    } finally {
      await second.end();
    }
  });
});
