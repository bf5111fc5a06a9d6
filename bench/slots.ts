import { gunzipSync } from 'node:zlib';
import { computeSlots, type SlotRequest, type WeeklyRule } from '../src/modules/availability/slots.js';
import { stopServer } from './bookings.js';
import { benchDatabase } from './database.js';
import { loadClient } from './load.js';
import { benchServerArgs, freePort, startLiaison, token } from './scale/cluster.js';
import { type Measurement, summarise } from './stats.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** One librarian, 62 days, 3 windows every day, 500 existing bookings: the slots a student sees. */
export function benchSlots(): Measurement {
  const rules: WeeklyRule[] = [];
  for (let weekday = 1; weekday <= 7; weekday++) {
    rules.push(
      { weekday, start: '09:00', end: '12:00' },
      { weekday, start: '13:00', end: '16:30' },
      { weekday, start: '17:00', end: '19:00' },
    );
  }
  const fromMs = Date.parse('2027-03-01T00:00:00Z'); // spans the March DST change
  const toMs = fromMs + 62 * DAY;
  const busy = Array.from({ length: 500 }, (_, i) => {
    const day = i % 62;
    const hour = 9 + ((i * 7) % 9);
    const startMs = fromMs + day * DAY + hour * 60 * MINUTE;
    return { startMs, endMs: startMs + 40 * MINUTE };
  });
  const request: SlotRequest = {
    timeZone: 'Europe/London',
    slotMinutes: 30,
    bufferMinutes: 10,
    minNoticeMinutes: 120,
    horizonDays: 90,
    defaultModes: ['in_person'],
    rules,
    overrides: [{ kind: 'closed', fromDate: '2027-03-26', toDate: '2027-03-29' }],
    busy,
    nowMs: fromMs - DAY,
    fromMs,
    toMs,
  };
  let slots = 0;
  for (let i = 0; i < 50; i++) slots = computeSlots(request).length; // warm up
  const samples: number[] = [];
  for (let i = 0; i < 500; i++) {
    const started = performance.now();
    computeSlots(request);
    samples.push(performance.now() - started);
  }
  return {
    name: `slots: 62 days, 21 weekly windows, 500 busy ranges (${slots} slots)`,
    ...summarise(samples),
    target: 'median < 5 ms',
  };
}

/**
 * GET /api/v1/librarians/{id}/slots for two months through one server process on PostgreSQL, 50
 * clients at once: a librarian open 08:00–18:00 on weekdays in 30-minute slots, with 300 sessions
 * already booked in the range. Throughput and latency as a student's browser sees them (gzip on).
 */
export async function benchSlotRequests(options: {
  adminUrl: string;
  clients?: number;
  requests?: number;
}): Promise<Measurement[]> {
  const clients = options.clients ?? 50;
  const total = options.requests ?? Number(process.env.BENCH_SLOT_REQUESTS ?? 20_000);
  const database = await benchDatabase(options.adminUrl);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startLiaison(
    port,
    {
      DATABASE_URL: database.url,
      WORKER: 'off',
      LOG_LEVEL: 'warn',
      BOOKING_LIMIT_PER_STUDENT: '100',
      RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '100000',
      RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '1000000',
    },
    { nodeArgs: benchServerArgs(), compiled: true },
  );
  try {
    const admin = await token(['admin']);
    const json = { 'content-type': 'application/json' };
    const created = await fetch(`${base}/api/v1/librarians`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, ...json },
      body: JSON.stringify({ email: 'slots@uni.ac.uk', name: 'Slots Bench' }),
    });
    const librarianId = ((await created.json()) as { id: string }).id;
    await fetch(`${base}/api/v1/librarians/${librarianId}/availability`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, ...json },
      body: JSON.stringify({
        timeZone: 'Europe/London',
        slotMinutes: 30,
        bufferMinutes: 0,
        minNoticeMinutes: 0,
        horizonDays: 120,
        weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '08:00', end: '18:00' })),
      }),
    });
    // Next Monday, and 300 of the 880 weekday half-hours 09:00–17:00 UTC in the two months after it booked.
    const monday = new Date();
    monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7 || 7));
    monday.setUTCHours(0, 0, 0, 0);
    const students = await Promise.all(
      [0, 1, 2, 3].map((n) => token(['student'], { sub: `bench|slots|${n}`, email: `slots-${n}@uni.ac.uk` })),
    );
    for (let i = 0; i < 300; i++) {
      const day = Math.floor(i / 7);
      const week = Math.floor(day / 5);
      const start = monday.getTime() + (week * 7 + (day % 5)) * DAY + (9 * 60 + (i % 7) * 60) * MINUTE;
      await fetch(`${base}/api/v1/bookings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${students[i % 4]}`, ...json },
        body: JSON.stringify({ librarianId, start: new Date(start).toISOString() }),
      });
    }
    // Two-month ranges: all clients on one (the case: everyone looking at one librarian's
    // next two months), then spread over ten ranges starting a day apart, so that concurrent
    // requests share a read far less often (src/db/fresh-reads.ts).
    const range = (offset: number) => {
      const from = new Date(monday.getTime() + offset * DAY).toISOString().slice(0, 10);
      const to = new Date(monday.getTime() + (offset + 61) * DAY).toISOString().slice(0, 10);
      return `/api/v1/librarians/${librarianId}/slots?from=${from}&to=${to}`;
    };
    const encoding = process.env.BENCH_ACCEPT_ENCODING ?? 'gzip';
    const client = loadClient(base, clients);
    const samples = new Map<string, Buffer>();
    for (let offset = 0; offset < 10; offset++) {
      const answer = await client.send(range(offset), { headers: { 'accept-encoding': encoding } });
      samples.set(range(offset), answer.body);
    }
    const sample = samples.get(range(0)) as Buffer;
    const first = JSON.parse((encoding.includes('gzip') ? gunzipSync(sample) : sample).toString()) as {
      slots: unknown[];
    };
    const run = async (count: number, paths: string[]) => {
      const latencies: number[] = [];
      let next = 0;
      let failures = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async (_, n) => {
          const path = paths[n % paths.length] as string;
          while (next++ < count) {
            const sent = performance.now();
            const answer = await client.send(path, { headers: { 'accept-encoding': encoding } });
            // Nothing changes during the run: every answer is its range's first list, so as many bytes.
            if (answer.status !== 200 || answer.body.length !== samples.get(path)?.length) failures++;
            latencies.push(performance.now() - sent);
          }
        }),
      );
      return { latencies, failures, seconds: (performance.now() - started) / 1000 };
    };
    const measurements: Measurement[] = [];
    for (const [label, paths] of [
      ['one range', [range(0)]],
      ['ten ranges', Array.from({ length: 10 }, (_, offset) => range(offset))],
    ] as const) {
      await run(2000, [...paths]); // warm up
      const { latencies, failures, seconds } = await run(total, [...paths]);
      measurements.push(
        {
          name: `slots over HTTP, ${label}: ${total} GET two months (${first.slots.length} slots each), ${clients} clients, one process, PostgreSQL (${failures} failed)`,
          ...summarise(latencies),
          target: 'p99 < 50 ms',
        },
        {
          name: `slots over HTTP, ${label}: throughput`,
          median: total / seconds,
          p99: total / seconds,
          runs: 1,
          unit: 'requests/s',
          target: '>= 1,200 requests/s',
        },
      );
    }
    client.close();
    return measurements;
  } finally {
    await stopServer(server);
    await database.drop();
  }
}
