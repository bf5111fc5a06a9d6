import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { type DatabaseHandle, openPostgres } from '../../src/db/client.js';
import { type DatabaseTimeouts, isDatabaseUnavailable } from '../../src/db/reachability.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { onPostgres } from '../helpers/db.js';
import { eventually } from '../helpers/eventually.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

// Hardening round two, findings 2 and 3: the path to PostgreSQL breaks (sockets closed) or goes
// silent (a black hole), with a TCP proxy on loopback between the app and the database. PGlite has
// no connection to lose: these run on PostgreSQL only (CI's first run), and are skipped on PGlite.

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

interface Outage {
  proxy: TcpProxy;
  handle: DatabaseHandle;
  app: App;
  lost: string[];
  close(): Promise<void>;
}

/** The app on a pool that reaches this file's database through a proxy the test controls. */
async function throughProxy(timeouts: Partial<DatabaseTimeouts>, max = 5): Promise<Outage> {
  const proxy = await startTcpProxy(t.database.url as string);
  const lost: string[] = [];
  const handle = openPostgres(proxy.url, {
    max,
    timeouts: {
      connectTimeoutSeconds: 1,
      statementTimeoutSeconds: 1,
      idleInTransactionTimeoutSeconds: 5,
      keepAliveSeconds: 1,
      stuckSeconds: 60,
      ...timeouts,
    },
    log: (message) => lost.push(message),
  });
  const app = await buildApp({ db: handle.db, health: handle.health, clock: t.clock, config: t.config });
  await app.ready();
  return {
    proxy,
    handle,
    app,
    lost,
    async close() {
      proxy.dropAll();
      await app.close();
      await handle.close();
      await proxy.close();
    },
  };
}

/** Resolves with `work`'s value, or with 'no answer' after `ms`: a hang becomes a failed expectation. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'no answer'>((resolve) => {
    timer = setTimeout(() => resolve('no answer'), ms);
  });
  const result = await Promise.race([work, deadline]);
  clearTimeout(timer);
  return result;
}

/** Asserts a response is a success or the database_unavailable problem, with nothing internal in it. */
function expectServedOrUnavailable(response: { statusCode: number; body: string; json(): { code?: string } }) {
  expect([200, 503]).toContain(response.statusCode);
  if (response.statusCode === 503) {
    expect(response.json().code).toBe('database_unavailable');
    expect(response.body).not.toMatch(/Connection terminated|select|pg_|stack|timeout exceeded/i);
  }
}

describe.skipIf(!onPostgres)('a dropped database connection (PostgreSQL, through a TCP proxy)', () => {
  it('fails only the requests that used it with a 503 problem, keeps the process up, and the pool replaces it', async () => {
    const outage = await throughProxy({ statementTimeoutSeconds: 10 });
    try {
      const admin = await t.auth('admin');
      const list = () => outage.app.inject({ method: 'GET', url: '/api/v1/bookings', headers: admin });
      expect((await list()).statusCode).toBe(200);
      // A transaction holding its connection (checked out of the pool) when the path drops.
      const held = outage.handle.db
        .transaction(async (tx) => {
          await tx.execute(sql`select pg_sleep(5)`);
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      const sleeping = await eventually(async () => {
        const result = (await t.db.execute(
          sql`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(5)%' and state = 'active' and pid <> pg_backend_pid()`,
        )) as unknown as { rows: { n: number }[] };
        return (result.rows[0]?.n ?? 0) > 0;
      }, 5_000);
      expect(sleeping).toBe(true);
      const during = Promise.all(Array.from({ length: 20 }, list));
      outage.proxy.dropAll();
      const error = await held;
      expect(isDatabaseUnavailable(error)).toBe(true);
      for (const response of await during) expectServedOrUnavailable(response);
      // The lost connection was heard (no unhandled 'error' event ended the process), and new ones serve.
      expect(outage.lost.some((line) => line.startsWith('database connection lost'))).toBe(true);
      expect(await eventually(async () => (await list()).statusCode === 200, 5_000)).toBe(true);
      const after = await Promise.all(Array.from({ length: 10 }, list));
      expect(after.map((response) => response.statusCode)).toEqual(Array(10).fill(200));
    } finally {
      await outage.close();
    }
  });
});

describe.skipIf(!onPostgres)('a silent database (PostgreSQL, through a black-holed proxy)', () => {
  it('answers readiness and requests with 503 while nothing comes back, and recovers by itself once it does', async () => {
    const outage = await throughProxy({ statementTimeoutSeconds: 1, connectTimeoutSeconds: 1 });
    try {
      const admin = await t.auth('admin');
      const ready = () => outage.app.inject({ method: 'GET', url: '/health/ready' });
      const list = () => outage.app.inject({ method: 'GET', url: '/api/v1/bookings', headers: admin });
      expect((await ready()).statusCode).toBe(200);
      expect((await list()).statusCode).toBe(200);

      outage.proxy.blackhole();
      // Without timeouts these never answered; now each answers 503 (generous bounds: a hang is the failure).
      const readyDuring = await within(ready(), 10_000);
      expect(readyDuring).not.toBe('no answer');
      if (readyDuring === 'no answer') return;
      expect(readyDuring.statusCode).toBe(503);
      expect(readyDuring.json().code).toBe('database_unavailable');
      expect(
        (await within(outage.app.inject({ method: 'GET', url: '/health/live' }), 5_000)) as { statusCode: number },
      ).toMatchObject({
        statusCode: 200,
      });
      const listDuring = await within(Promise.all(Array.from({ length: 6 }, list)), 20_000);
      expect(listDuring).not.toBe('no answer');
      if (listDuring === 'no answer') return;
      for (const response of listDuring) {
        expect(response.statusCode).toBe(503);
        expectServedOrUnavailable(response);
      }

      // The path comes back; connections that were stalled stay lost, so the pool must replace them.
      outage.proxy.restore();
      expect(await eventually(async () => (await ready()).statusCode === 200, 10_000)).toBe(true);
      expect(await eventually(async () => (await list()).statusCode === 200, 10_000)).toBe(true);
      const after = await Promise.all(Array.from({ length: 10 }, list));
      expect(after.map((response) => response.statusCode)).toEqual(Array(10).fill(200));
    } finally {
      await outage.close();
    }
  });

  it('fails liveness once requests have waited on a stuck pool longer than DATABASE_STUCK_SECONDS, and recovers', async () => {
    const outage = await throughProxy({ statementTimeoutSeconds: 60, connectTimeoutSeconds: 30, stuckSeconds: 2 }, 1);
    try {
      const admin = await t.auth('admin');
      const live = () => outage.app.inject({ method: 'GET', url: '/health/live' });
      const list = () => outage.app.inject({ method: 'GET', url: '/api/v1/bookings', headers: admin });
      expect((await list()).statusCode).toBe(200);
      expect((await live()).statusCode).toBe(200);
      outage.proxy.blackhole();
      // One request holds the only connection, silent; the others wait for it.
      const stuck = Promise.all(Array.from({ length: 3 }, list));
      expect(await eventually(async () => (await live()).statusCode === 503, 10_000)).toBe(true);
      expect((await live()).json().code).toBe('stuck');
      outage.proxy.restore();
      outage.proxy.dropAll();
      for (const response of await stuck) expectServedOrUnavailable(response);
      expect(await eventually(async () => (await list()).statusCode === 200, 10_000)).toBe(true);
      expect((await live()).statusCode).toBe(200);
    } finally {
      await outage.close();
    }
  });
});
