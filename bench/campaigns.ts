import { sql } from 'drizzle-orm';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openPostgres } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { fixedClock } from '../src/time/clock.js';
import { signToken } from '../tests/helpers/app.js';
import { benchDatabase } from './database.js';
import { type Measurement, summarise } from './stats.js';

const SECRET = 'bench-secret-that-is-long-enough-0123456789';
const NOW = '2027-03-01T08:00:00Z';

/**
 * A 50,000-person cohort on PostgreSQL: the CSV uploaded and checked, then assigned and sent (one
 * email queued per arm member), each timed once per run on a new campaign; then the results query
 * over them, with 10,000 of the cohort as students who booked.
 */
export async function benchCampaigns(options: {
  adminUrl: string;
  size?: number;
  runs?: number;
}): Promise<Measurement[]> {
  const size = options.size ?? 50_000;
  const runs = options.runs ?? 3;
  const database = await benchDatabase(options.adminUrl);
  const handle = openPostgres(database.url);
  try {
    await runMigrations(handle);
    const app = await buildApp({
      db: handle.db,
      clock: fixedClock(NOW),
      config: loadConfig({ AUTH_JWT_SECRET: SECRET, LOG_LEVEL: 'silent', CAMPAIGN_EMAILS_PER_MINUTE: '1000' }),
    });
    const headers = {
      authorization: `Bearer ${await signToken(SECRET, ['admin'], {}, { now: new Date(NOW), lifetimeSeconds: 36_000 })}`,
    };
    const lines = ['email,first_name,student_ref,fee_status'];
    for (let i = 0; i < size; i++) {
      lines.push(`c${i}@student.uni.example,Name${i},S${i},${i % 10 < 3 ? 'international' : 'home'}`);
    }
    const csv = lines.join('\n');
    const uploads: number[] = [];
    const sends: number[] = [];
    let lastId = '';
    for (let run = 0; run < runs; run++) {
      const created = await app.inject({
        method: 'POST',
        url: '/api/v1/campaigns',
        headers,
        payload: {
          name: `Bench ${run}`,
          hypothesis: 'An invitation raises bookings.',
          primaryOutcome: 'booked',
          arms: [
            { key: 'A', name: 'Plain', percent: 40, subject: 'Book', body: '{bookingLink}', friendParagraph: '' },
            {
              key: 'B',
              name: 'Friend',
              percent: 40,
              subject: 'Book',
              body: '{bookingLink}',
              friendParagraph: 'Bring one',
            },
          ],
          holdoutPercent: 20,
          stratifyBy: 'fee_status',
          sendFrom: NOW,
          sendUntil: '2027-03-02T08:00:00Z',
        },
      });
      const id = created.json().id as string;
      let started = performance.now();
      const cohort = await app.inject({
        method: 'PUT',
        url: `/api/v1/campaigns/${id}/cohort`,
        headers: { ...headers, 'content-type': 'text/csv' },
        payload: csv,
      });
      uploads.push(performance.now() - started);
      if (cohort.statusCode !== 200) throw new Error(`cohort failed: ${cohort.body.slice(0, 300)}`);
      started = performance.now();
      const sent = await app.inject({ method: 'POST', url: `/api/v1/campaigns/${id}/send`, headers });
      sends.push(performance.now() - started);
      if (sent.statusCode !== 200) throw new Error(`send failed: ${sent.body.slice(0, 300)}`);
      lastId = id;
    }
    const librarian = await app.inject({
      method: 'POST',
      url: '/api/v1/librarians',
      headers,
      payload: { email: 'bench-librarian@library.uni.example', name: 'Bench Librarian' },
    });
    const librarianId = librarian.json().id as string;
    // 10,000 of the cohort are students; each booked once, an hour apart (one librarian).
    await handle.db.execute(sql`
      insert into students (idp_subject, email, categories, created_at, updated_at)
      select 'bench|' || i, 'c' || i || '@student.uni.example', '{}'::jsonb, ${NOW}::timestamptz, ${NOW}::timestamptz
      from generate_series(0, 9999) as i`);
    await handle.db.execute(sql`
      insert into bookings (source, librarian_id, student_id, starts_at, ends_at, occupied_until, status, mode, student_categories,
                            attendance, late_cancellation, created_at, updated_at)
      select 'booked', ${librarianId}::uuid, s.id, timestamptz '2027-03-05 09:00+00' + (row_number() over ()) * interval '1 hour',
             timestamptz '2027-03-05 10:00+00' + (row_number() over ()) * interval '1 hour',
             timestamptz '2027-03-05 10:00+00' + (row_number() over ()) * interval '1 hour',
             'confirmed', 'in_person', '{}'::jsonb, 'attended', false,
             timestamptz '2027-03-02 09:00+00', timestamptz '2027-03-02 09:00+00'
      from students s where s.idp_subject like 'bench|%'`);
    await handle.db.execute(sql`analyze`);
    const analyst = {
      authorization: `Bearer ${await signToken(SECRET, ['analyst'], {}, { now: new Date(NOW), lifetimeSeconds: 36_000 })}`,
    };
    const url = `/api/v1/campaigns/${lastId}/results`;
    const first = await app.inject({ method: 'GET', url, headers: analyst });
    if (first.statusCode !== 200) throw new Error(`results failed: ${first.body.slice(0, 300)}`);
    const queries: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      await app.inject({ method: 'GET', url, headers: analyst });
      queries.push(performance.now() - started);
    }
    await app.close();
    return [
      {
        name: `campaigns: upload and check a ${size}-line cohort CSV (PostgreSQL)`,
        ...summarise(uploads),
        target: 'import and assign < 10 s together',
      },
      {
        name: `campaigns: assign and send to ${size} (${Math.round(size * 0.8)} emails queued, PostgreSQL)`,
        ...summarise(sends),
        target: 'import and assign < 10 s together',
      },
      {
        name: `campaigns: results over ${size} members, 10,000 of them booked (PostgreSQL)`,
        ...summarise(queries),
        target: 'median < 500 ms',
      },
    ];
  } finally {
    await handle.close();
    await database.drop();
  }
}
