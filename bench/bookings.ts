import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { signToken } from '../tests/helpers/app.js';
import { type Measurement, summarise } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECRET = randomBytes(32).toString('base64url');

async function waitForHealth(url: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('server did not become healthy');
}

async function request(url: string, token: string, method: string, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/**
 * POST /api/v1/bookings against real PostgreSQL through one server process (a child process, so
 * the load generator does not share its CPU time): distinct slots across many librarians, many
 * concurrent clients. Prints throughput and latency percentiles.
 */
export async function benchBookings(options: {
  adminUrl: string;
  librarians?: number;
  bookings?: number;
  clients?: number;
}): Promise<Measurement[]> {
  const librarianCount = options.librarians ?? 40;
  const total = options.bookings ?? 4000;
  const clients = options.clients ?? 32;
  const database = `liaison_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  await admin.query(`create database ${database}`);
  const databaseUrl = new URL(options.adminUrl);
  databaseUrl.pathname = `/${database}`;
  const port = 3900 + Math.floor(Math.random() * 90);
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl.toString(),
      AUTH_JWT_SECRET: SECRET,
      PORT: String(port),
      WORKER: 'off',
      LOG_LEVEL: 'warn',
      BOOKING_LIMIT_PER_STUDENT: '100',
      RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '100000',
    },
  });
  try {
    await waitForHealth(base, server);
    const adminToken = await signToken(SECRET, ['admin'], {}, { now: new Date() });
    const librarianIds: string[] = [];
    for (let i = 0; i < librarianCount; i++) {
      const created = await request(`${base}/api/v1/librarians`, adminToken, 'POST', {
        email: `bench-${i}@uni.ac.uk`,
        name: `Bench ${i}`,
      });
      await request(`${base}/api/v1/librarians/${created.body.id}/availability`, adminToken, 'PUT', {
        timeZone: 'Europe/London',
        slotMinutes: 15,
        bufferMinutes: 0,
        minNoticeMinutes: 0,
        horizonDays: 365,
        maxCompanions: 1,
        weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '08:00', end: '20:00' })),
      });
      librarianIds.push(created.body.id);
    }
    // Distinct weekday quarter-hours, from next Monday on, spread over the librarians.
    const firstMonday = new Date();
    firstMonday.setUTCDate(firstMonday.getUTCDate() + ((8 - firstMonday.getUTCDay()) % 7 || 7));
    firstMonday.setUTCHours(0, 0, 0, 0);
    const jobs: { librarianId: string; start: string; token: string }[] = [];
    const studentTokens = await Promise.all(
      Array.from({ length: Math.ceil(total / 50) }, (_, i) =>
        signToken(SECRET, ['student'], { sub: `bench|${i}` }, { now: new Date() }),
      ),
    );
    for (let i = 0; i < total; i++) {
      const librarianId = librarianIds[i % librarianCount] as string;
      const perLibrarian = Math.floor(i / librarianCount);
      const day = Math.floor(perLibrarian / 44); // 44 quarter-hours 09:00–20:00 (UTC, clear of the 08:00 BST edge)
      const week = Math.floor(day / 5);
      const start = new Date(
        firstMonday.getTime() + (week * 7 + (day % 5)) * 86_400_000 + (9 * 60 + (perLibrarian % 44) * 15) * 60_000,
      );
      jobs.push({ librarianId, start: start.toISOString(), token: studentTokens[i % studentTokens.length] as string });
    }
    // Students' own overlaps would 409: give each student's jobs distinct times by construction (i % tokens).
    const latencies: number[] = [];
    const statuses: Record<number, number> = {};
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++] as (typeof jobs)[number];
          const sent = performance.now();
          const result = await request(`${base}/api/v1/bookings`, job.token, 'POST', {
            librarianId: job.librarianId,
            start: job.start,
          });
          latencies.push(performance.now() - sent);
          statuses[result.status] = (statuses[result.status] ?? 0) + 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const created = statuses[201] ?? 0;
    return [
      {
        name: `bookings: ${total} POST /api/v1/bookings, ${librarianCount} librarians, ${clients} clients, PostgreSQL (statuses ${JSON.stringify(statuses)})`,
        ...summarise(latencies),
      },
      {
        name: 'bookings: throughput (created per second, one server process)',
        median: created / seconds,
        p99: created / seconds,
        runs: 1,
        unit: 'bookings/s',
        target: '>= 500 bookings/s',
      },
    ];
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.end();
  }
}
