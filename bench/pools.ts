import { gunzipSync } from 'node:zlib';
import { stopServer } from './bookings.js';
import { benchDatabase } from './database.js';
import { loadClient } from './load.js';
import { benchServerArgs, freePort, startLiaison, token } from './scale/cluster.js';
import { type Measurement, summarise } from './stats.js';

const DAY = 24 * 60 * 60_000;

/**
 * GET /api/v1/pools/slots for a subject of 20 librarians (weekdays 09:00–17:00 in 30-minute slots,
 * staggered so their times interleave), two weeks, 50 clients, one process on PostgreSQL; asked
 * as a student's browser asks (gzip accepted).
 * Targets: p99 < 50 ms and >= 1,000 requests/s.
 */
export async function benchPools(options: { adminUrl: string; requests?: number }): Promise<Measurement[]> {
  const total = options.requests ?? 10_000;
  const clients = 50;
  const database = await benchDatabase(options.adminUrl);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startLiaison(
    port,
    { DATABASE_URL: database.url, WORKER: 'off', LOG_LEVEL: 'warn', RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '1000000' },
    { nodeArgs: benchServerArgs(), compiled: true },
  );
  try {
    const admin = await token(['admin']);
    const json = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    for (let n = 0; n < 20; n++) {
      const created = await fetch(`${base}/api/v1/librarians`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ email: `law-${n}@uni.ac.uk`, name: `Law ${n}`, subjects: ['Law'] }),
      });
      const id = ((await created.json()) as { id: string }).id;
      const start = `${String(8 + (n % 3)).padStart(2, '0')}:${n % 2 === 0 ? '00' : '15'}`;
      await fetch(`${base}/api/v1/librarians/${id}/availability`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({
          timeZone: 'Europe/London',
          slotMinutes: 30,
          minNoticeMinutes: 0,
          horizonDays: 60,
          weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start, end: '17:00' })),
        }),
      });
    }
    const monday = new Date();
    monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7 || 7));
    const from = monday.toISOString().slice(0, 10);
    const to = new Date(monday.getTime() + 13 * DAY).toISOString().slice(0, 10);
    const path = `/api/v1/pools/slots?subject=Law&from=${from}&to=${to}`;
    const client = loadClient(base, clients);
    const asBrowsers = { headers: { 'accept-encoding': 'gzip' } };
    const first = await client.send(path, asBrowsers);
    const slots = (JSON.parse(gunzipSync(first.body).toString()) as { slots: unknown[] }).slots.length;
    const run = async (count: number) => {
      const latencies: number[] = [];
      let next = 0;
      let failures = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next++ < count) {
            const sent = performance.now();
            const answer = await client.send(path, asBrowsers);
            if (answer.status !== 200) failures++;
            latencies.push(performance.now() - sent);
          }
        }),
      );
      return { latencies, failures, seconds: (performance.now() - started) / 1000 };
    };
    await run(1000);
    const { latencies, failures, seconds } = await run(total);
    client.close();
    return [
      {
        name: `pools: GET a subject's times, 20 librarians, two weeks (${slots} times), ${total} requests, ${clients} clients (${failures} failed)`,
        ...summarise(latencies),
        target: 'p99 < 50 ms',
      },
      {
        name: 'pools: throughput',
        median: total / seconds,
        p99: total / seconds,
        runs: 1,
        unit: 'requests/s',
        target: '>= 1,000 requests/s',
      },
    ];
  } finally {
    await stopServer(server);
    await database.drop();
  }
}
