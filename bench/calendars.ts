import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stopServer } from './bookings.js';
import { benchDatabase } from './database.js';
import { loadClient } from './load.js';
import { benchServerArgs, freePort, startLiaison, token } from './scale/cluster.js';
import { type Measurement, summarise } from './stats.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const stamp = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** A calendar of `single` one-off 20-minute events and `series` weekly ones, from `startMs`. */
function calendarText(startMs: number, single: number, series: number, version: number): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Bench//Liaison//EN'];
  for (let i = 0; i < single; i++) {
    // Every 130 minutes across the day and night, so none touches another (500 stay 500 blocks).
    const at = startMs + i * 130 * MINUTE;
    lines.push(
      'BEGIN:VEVENT',
      `UID:one-${version}-${i}@bench`,
      'DTSTAMP:20270101T000000Z',
      `DTSTART:${stamp(at)}`,
      `DTEND:${stamp(at + 20 * MINUTE)}`,
      'END:VEVENT',
    );
  }
  for (let i = 0; i < series; i++) {
    const at = startMs + (i % 7) * DAY + (8 * 60 + (i % 40) * 15) * MINUTE;
    lines.push(
      'BEGIN:VEVENT',
      `UID:series-${version}-${i}@bench`,
      'DTSTAMP:20270101T000000Z',
      `DTSTART;TZID=Europe/London:${stamp(at).slice(0, -1)}`,
      `DTEND;TZID=Europe/London:${stamp(at + 10 * MINUTE).slice(0, -1)}`,
      'RRULE:FREQ=WEEKLY;COUNT=20',
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR', '');
  return lines.join('\r\n');
}

/**
 * Librarians' own calendars: slots over HTTP for a librarian whose calendar holds 500 busy blocks
 * against one with none (target: p99 within 20 %), and a full read of a 2,000-event calendar with
 * 200 weekly series ("Check now" after it changed: fetch on loopback, expand, replace the blocks;
 * target < 2 s). PostgreSQL.
 */
export async function benchCalendars(options: { adminUrl: string; requests?: number }): Promise<Measurement[]> {
  const total = options.requests ?? 10_000;
  const clients = 50;
  const monday = new Date();
  monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7 || 7));
  monday.setUTCHours(0, 0, 0, 0);
  const feed = { body: calendarText(monday.getTime(), 500, 0, 0), etag: '"0"' };
  const files = http.createServer((request, response) => {
    if (request.headers['if-none-match'] === feed.etag) return response.writeHead(304).end();
    response.writeHead(200, { 'content-type': 'text/calendar', etag: feed.etag }).end(feed.body);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const feedUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/calendar.ics`;
  const database = await benchDatabase(options.adminUrl);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startLiaison(
    port,
    {
      DATABASE_URL: database.url,
      WORKER: 'off',
      LOG_LEVEL: 'warn',
      CALENDAR_SECRET_KEY: 'bench-calendar-key-0123456789abcdef0123',
      CALENDAR_ALLOW_HOSTS: '127.0.0.1',
      RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '1000000',
    },
    { nodeArgs: benchServerArgs(), compiled: true },
  );
  try {
    const admin = await token(['admin']);
    const json = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const librarian = async (email: string) => {
      const created = await fetch(`${base}/api/v1/librarians`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ email, name: email }),
      });
      const id = ((await created.json()) as { id: string }).id;
      await fetch(`${base}/api/v1/librarians/${id}/availability`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({
          timeZone: 'Europe/London',
          slotMinutes: 30,
          minNoticeMinutes: 0,
          horizonDays: 120,
          weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '08:00', end: '18:00' })),
        }),
      });
      return id;
    };
    const plain = await librarian('plain@uni.ac.uk');
    const busy = await librarian('busy@uni.ac.uk');
    const connected = await fetch(`${base}/api/v1/librarians/${busy}/calendars`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ label: 'Bench', url: feedUrl }),
    });
    const connection = (await connected.json()) as { id: string; busyBlocks: number };
    const range = (id: string) => {
      const from = monday.toISOString().slice(0, 10);
      const to = new Date(monday.getTime() + 61 * DAY).toISOString().slice(0, 10);
      return `/api/v1/librarians/${id}/slots?from=${from}&to=${to}`;
    };
    const client = loadClient(base, clients);
    const run = async (path: string, count: number) => {
      const latencies: number[] = [];
      let next = 0;
      let failures = 0;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next++ < count) {
            const sent = performance.now();
            const answer = await client.send(path, { headers: { 'accept-encoding': 'gzip' } });
            if (answer.status !== 200) failures++;
            latencies.push(performance.now() - sent);
          }
        }),
      );
      return { latencies, failures };
    };
    const measurements: Measurement[] = [];
    for (const [label, id] of [
      ['no calendar', plain],
      [`a calendar of ${connection.busyBlocks} busy blocks`, busy],
    ] as const) {
      await run(range(id), 2000);
      const { latencies, failures } = await run(range(id), total);
      measurements.push({
        name: `calendars: slots over HTTP, two months, ${label}, ${total} GETs, ${clients} clients (${failures} failed)`,
        ...summarise(latencies),
        target: 'p99 within 20 % of no calendar',
      });
    }
    client.close();

    // A full read: a new version of a 2,000-event calendar (1,800 one-off events, 200 weekly series).
    const samples: number[] = [];
    let blocks = 0;
    for (let version = 1; version <= 8; version++) {
      feed.body = calendarText(monday.getTime(), 1800, 200, version);
      feed.etag = `"${version}"`;
      const started = performance.now();
      const checked = await fetch(`${base}/api/v1/librarians/${busy}/calendars/${connection.id}/check`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
      });
      blocks = ((await checked.json()) as { busyBlocks: number }).busyBlocks;
      samples.push(performance.now() - started);
    }
    measurements.push({
      name: `calendars: full read of 2,000 events with 200 weekly series (${Math.round(feed.body.length / 1024)} KB, ${blocks} blocks stored)`,
      ...summarise(samples),
      target: '< 2 s',
    });
    return measurements;
  } finally {
    await stopServer(server);
    await database.drop();
    files.close();
  }
}
