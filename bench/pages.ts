import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openPglite } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { fixedClock } from '../src/time/clock.js';
import { signToken } from '../tests/helpers/app.js';
import { type Measurement, summarise } from './stats.js';

const SECRET = 'bench-secret-that-is-long-enough-for-hs256-000000';

/**
 * Pages: the server render of the times page (three weeks of slots) and what each page costs to
 * transfer, HTML + CSS + JS, compressed as a browser asks for it (Accept-Encoding: br, gzip).
 */
export async function benchPages(): Promise<Measurement[]> {
  const handle = await openPglite();
  await runMigrations(handle);
  const clock = fixedClock('2027-03-01T08:00:00Z');
  const app = await buildApp({
    db: handle.db,
    clock,
    config: loadConfig({ AUTH_JWT_SECRET: SECRET, LOG_LEVEL: 'silent' }),
  });
  try {
    const admin = { authorization: `Bearer ${await signToken(SECRET, ['admin'], {}, { now: clock.now() })}` };
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/librarians',
      headers: admin,
      payload: { email: 'bench@library.example', name: 'Bench Librarian', modes: ['in_person', 'online'] },
    });
    const id = created.json().id as string;
    // Eight hours a day, every weekday, in 30-minute slots: 16 a day, about 240 in three weeks.
    await app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${id}/availability`,
      headers: admin,
      payload: {
        slotMinutes: 30,
        minNoticeMinutes: 60,
        horizonDays: 60,
        weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '17:00' })),
      },
    });
    // A returning browser: it sends its session cookie (a first visit also writes a session).
    const visit = await app.inject({ method: 'GET', url: '/accessibility', headers: { accept: 'text/html' } });
    const cookie = String(visit.headers['set-cookie']).split(';')[0] as string;
    const html = { accept: 'text/html', 'accept-language': 'en-GB', cookie };
    const first = await app.inject({ method: 'GET', url: `/librarians/${id}`, headers: html });
    const slotCount = (first.body.match(/type="radio" name="start"/g) ?? []).length;
    for (let i = 0; i < 20; i++) await app.inject({ method: 'GET', url: `/librarians/${id}`, headers: html });
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await app.inject({ method: 'GET', url: `/librarians/${id}`, headers: html });
      samples.push(performance.now() - started);
    }
    const results: Measurement[] = [
      {
        name: `pages: render the times page, 3 weeks, ${slotCount} slots (app.inject, PGlite)`,
        ...summarise(samples),
        target: 'median < 20 ms',
      },
    ];

    const compressed = { ...html, 'accept-encoding': 'br, gzip' };
    const assets = await Promise.all(
      ['/assets/app.css', '/assets/app.js'].map(async (url) => {
        const response = await app.inject({ method: 'GET', url, headers: compressed });
        return response.rawPayload.length;
      }),
    );
    const assetBytes = assets.reduce((sum, bytes) => sum + bytes, 0);
    for (const [name, url] of [
      ['find a librarian', '/'],
      ['choose a time', `/librarians/${id}`],
      ['sign in', '/sign-in'],
      ['accessibility statement', '/accessibility'],
    ] as const) {
      const response = await app.inject({ method: 'GET', url, headers: compressed });
      const total = (response.rawPayload.length + assetBytes) / 1024;
      results.push({
        name: `pages: "${name}" transferred, HTML (${response.headers['content-encoding'] ?? 'identity'}) + CSS + JS`,
        median: total,
        p99: total,
        runs: 1,
        unit: 'KB',
        target: '< 60 KB',
      });
    }
    return results;
  } finally {
    await app.close();
    await handle.close();
  }
}
