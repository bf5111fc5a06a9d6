import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { type DatabaseHandle, openPglite, openPostgres } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { fixedClock } from '../src/time/clock.js';
import { signToken } from '../tests/helpers/app.js';
import { benchDatabase } from './database.js';
import { type Measurement, summarise } from './stats.js';

const SECRET = 'bench-secret-that-is-long-enough-0123456789';

/** 100,000 sessions over two academic years, ~40% with a companion, generated in SQL. */
export async function seed(handle: DatabaseHandle, count: number): Promise<void> {
  await handle.db.execute(sql`
    insert into bookings (source, student_ref, starts_at, ends_at, occupied_until, status, mode, student_categories,
                          attendance, late_cancellation, created_at, updated_at)
    select 'imported', 'bench-' || (i % 9001),
           timestamptz '2025-08-01 09:00+00' + (i % 700) * interval '1 day' + (i % 8) * interval '1 hour',
           timestamptz '2025-08-01 10:00+00' + (i % 700) * interval '1 day' + (i % 8) * interval '1 hour',
           timestamptz '2025-08-01 10:00+00' + (i % 700) * interval '1 day' + (i % 8) * interval '1 hour',
           case when i % 10 = 0 then 'cancelled' else 'confirmed' end,
           case when i % 3 = 0 then 'online' else 'in_person' end,
           jsonb_build_object('fee_status', case when i % 4 = 0 then 'international' else 'home' end,
                              'study_level', case when i % 5 = 0 then 'postgraduate_taught' else 'undergraduate' end),
           case when i % 10 = 0 then null when i % 7 = 0 then 'no_show' else 'attended' end,
           i % 20 = 0,
           timestamptz '2025-07-01 09:00+00', timestamptz '2025-07-01 09:00+00'
    from generate_series(1, ${count}) as i`);
  await handle.db.execute(sql`
    insert into companions (booking_id, name, status, created_at, status_changed_at)
    select id, null, 'invited', created_at, created_at from bookings where abs(hashtext(id::text)) % 10 < 4`);
  await handle.db.execute(sql`analyze`);
}

/** GET /api/v1/uptake?groupBy=fee_status,companion,month over 100,000 sessions. */
export async function benchUptake(options: {
  adminUrl: string;
  count?: number;
  runs?: number;
}): Promise<Measurement[]> {
  const count = options.count ?? 100_000;
  const runs = options.runs ?? 15;
  const results: Measurement[] = [];
  for (const kind of ['postgres', 'pglite'] as const) {
    let handle: DatabaseHandle;
    let drop = async () => {};
    if (kind === 'postgres') {
      const database = await benchDatabase(options.adminUrl);
      handle = openPostgres(database.url);
      drop = database.drop;
    } else {
      handle = await openPglite();
    }
    try {
      await runMigrations(handle);
      await seed(handle, count);
      const app = await buildApp({
        db: handle.db,
        clock: fixedClock('2027-08-01T00:00:00Z'),
        config: loadConfig({
          AUTH_JWT_SECRET: SECRET,
          LOG_LEVEL: 'silent',
          DEVELOPMENT_SIGN_IN_CODE: DEVELOPMENT_CODE,
        }),
      });
      const headers = {
        authorization: `Bearer ${await signToken(SECRET, ['analyst'], {}, { now: new Date('2027-08-01T00:00:00Z') })}`,
      };
      const url = '/api/v1/uptake?from=2025-08-01&to=2027-07-31&groupBy=fee_status,companion,month';
      const first = await app.inject({ method: 'GET', url, headers });
      if (first.statusCode !== 200) throw new Error(`uptake failed: ${first.body}`);
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        await app.inject({ method: 'GET', url, headers });
        samples.push(performance.now() - started);
      }
      results.push({
        name: `uptake: groupBy=fee_status,companion,month over ${count} sessions on ${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'} (${first.json().rows.length} rows)`,
        ...summarise(samples),
        target: kind === 'postgres' ? 'median < 300 ms' : 'median < 2000 ms',
      });
      results.push(await benchUptakePage(app, kind, count, runs));
      await app.close();
    } finally {
      await handle.close();
      await drop();
    }
  }
  return results;
}

/**
 * The analyst's uptake page, signed in through the development form as a browser would be: the
 * academic years 2025/26 and 2026/27 by fee status, friend and month, table and chart rendered.
 */
/** The development sign-in address's code for this bench's app. */
const DEVELOPMENT_CODE = 'bench-development-sign-in-code-01';

async function benchUptakePage(
  app: FastifyInstance,
  kind: 'postgres' | 'pglite',
  count: number,
  runs: number,
): Promise<Measurement> {
  const visit = await app.inject({ method: 'GET', url: '/sign-in', headers: { accept: 'text/html' } });
  let cookie = String(visit.headers['set-cookie']).split(';')[0] as string;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(visit.body)?.[1] ?? '';
  const signIn = await app.inject({
    method: 'POST',
    url: '/sign-in/development',
    // As a browser that opened the development sign-in address npm start prints.
    headers: {
      cookie: `${cookie}; liaison_dev=${DEVELOPMENT_CODE}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({
      _csrf: csrf,
      email: 'bench-analyst@uni.example',
      role: 'analyst',
      next: '/',
    }).toString(),
  });
  if (signIn.statusCode !== 303) throw new Error(`sign-in failed: ${signIn.statusCode}`);
  cookie = String(signIn.headers['set-cookie']).split(';')[0] as string;
  const headers = { cookie, accept: 'text/html', 'accept-language': 'en-GB' };
  const url =
    '/analytics?period=dates&from=2025-08-01&to=2027-07-31&group=fee_status&group=companion&split=month&metric=attendanceRate';
  const first = await app.inject({ method: 'GET', url, headers });
  if (first.statusCode !== 200 || !first.body.includes('id="uptake-table"')) {
    throw new Error(`uptake page failed: ${first.statusCode}`);
  }
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await app.inject({ method: 'GET', url, headers });
    samples.push(performance.now() - started);
  }
  const rows = (first.body.match(/<tr>/g) ?? []).length;
  return {
    name: `uptake page: /analytics by fee status, friend and month over ${count} sessions on ${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'} (${rows} table rows, ${Math.round(first.body.length / 1024)} KB, app.inject)`,
    ...summarise(samples),
    target: kind === 'postgres' ? 'median < 500 ms' : 'no target (embedded)',
  };
}
