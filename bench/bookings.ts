import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { countStatements, proxyPostgres, type StatementCount } from '../tests/helpers/statements.js';
import { benchDatabase } from './database.js';
import { loadClient } from './load.js';
import { benchServerArgs, freePort, type Liaison, seedLibrarians, startLiaison, token } from './scale/cluster.js';
import { type Measurement, summarise } from './stats.js';

/**
 * Upcoming sessions each bench student books: the product's default per-student limit (3), so
 * 6,000 bookings come from 2,000 students. BENCH_BOOKINGS_PER_STUDENT sets another number (the
 * limit is raised to match); earlier figures in README were taken with 50.
 */
const BOOKINGS_PER_STUDENT = Number(process.env.BENCH_BOOKINGS_PER_STUDENT ?? 3);

const SERVER_ENV = {
  WORKER: 'off',
  LOG_LEVEL: 'warn',
  BOOKING_LIMIT_PER_STUDENT: String(Math.max(3, BOOKINGS_PER_STUDENT)),
  RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '100000',
  RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '1000000',
  EMAILS_PER_BOOKING_PER_HOUR: '1000',
};

interface Reply {
  status: number;
  body: unknown;
}

/** One request through `client`, its body parsed as JSON. */
async function request(
  client: ReturnType<typeof loadClient>,
  path: string,
  options: { token?: string; method?: string; body?: unknown } = {},
): Promise<Reply> {
  const answer = await client.send(path, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = answer.body.toString();
  return { status: answer.status, body: text ? JSON.parse(text) : null };
}

export async function stopServer(server: Liaison): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

/** Peak resident memory of a process so far (Linux: VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kilobytes / 1024;
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc). */
function cpuMs(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks: Linux reports them at USER_HZ, 100 per second.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0; // the process ended meanwhile
  }
}

/** CPU used so far by every process this machine names `postgres` (the server, when it runs here). */
function postgresCpuMs(): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += cpuMs(pid);
    } catch {}
  }
  return total;
}

/** Librarians open Monday to Friday 08:00–20:00 London, 15-minute slots, two companions allowed. */
function seedBenchLibrarians(base: string, count: number, prefix: string): Promise<string[]> {
  return seedLibrarians(base, count, {
    prefix,
    availability: {
      timeZone: 'Europe/London',
      slotMinutes: 15,
      bufferMinutes: 0,
      minNoticeMinutes: 0,
      horizonDays: 365,
      maxCompanions: 2,
      weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '08:00', end: '20:00' })),
    },
  });
}

/** Next Monday 00:00 UTC: every bench booking lies in the weeks after it. */
function nextMonday(): number {
  const day = new Date();
  day.setUTCDate(day.getUTCDate() + ((8 - day.getUTCDay()) % 7 || 7));
  day.setUTCHours(0, 0, 0, 0);
  return day.getTime();
}

/** The n-th distinct weekday quarter-hour 09:00–20:00 UTC (clear of 08:00 BST) from `monday`. */
function quarterHour(monday: number, n: number): string {
  const day = Math.floor(n / 44);
  const week = Math.floor(day / 5);
  return new Date(monday + (week * 7 + (day % 5)) * 86_400_000 + (9 * 60 + (n % 44) * 15) * 60_000).toISOString();
}

/**
 * Statements each operation sends, read off the wire by a loopback proxy between one server and
 * PostgreSQL (tests/helpers/statements.ts, the counter the round-trip test uses).
 */
async function countOperations(databaseUrl: string): Promise<Measurement[]> {
  const proxy = await proxyPostgres(databaseUrl);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startLiaison(port, { ...SERVER_ENV, DATABASE_URL: proxy.url }, { compiled: true });
  const client = loadClient(base, 1);
  try {
    const [librarianId] = await seedBenchLibrarians(base, 1, 'counted');
    const student = await token(['student'], { sub: 'bench|count', email: 'count@uni.ac.uk' });
    const monday = nextMonday();
    let counts: [string, StatementCount][] = [];
    // Twice over, counted the second time: by then each statement is prepared on the connection,
    // as it is on a server that has been up a while (a first use is never sent with BEGIN or COMMIT).
    for (const pass of [0, 1]) {
      counts = [];
      const measure = async (name: string, run: () => Promise<Reply>) => {
        proxy.take();
        const reply = await run();
        if (reply.status >= 300) throw new Error(`${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
        counts.push([name, countStatements(proxy.take())]);
        return reply.body as { id: string; links: { companions: { manage: string }[] } };
      };
      const booking = await measure('booking with a companion', () =>
        request(client, '/api/v1/bookings', {
          token: student,
          method: 'POST',
          body: {
            librarianId,
            start: quarterHour(monday, 2 * pass),
            companion: { name: 'Wei', email: 'wei@uni.ac.uk' },
          },
        }),
      );
      const path = `/api/v1/bookings/${booking.id}`;
      const companionToken = new URL(booking.links.companions[0]?.manage as string).searchParams.get('token');
      await measure('reschedule', () =>
        request(client, `${path}/reschedule`, {
          token: student,
          method: 'POST',
          body: { start: quarterHour(monday, 2 * pass + 1) },
        }),
      );
      await measure('add a companion', () =>
        request(client, `${path}/companion`, {
          token: student,
          method: 'PUT',
          body: { name: 'Omar', email: 'omar@uni.ac.uk' },
        }),
      );
      await measure('companion declines', () =>
        request(client, `${path}/companion/decline?token=${companionToken}`, { method: 'POST' }),
      );
      await measure('remove companions', () =>
        request(client, `${path}/companion`, { token: student, method: 'DELETE' }),
      );
      await measure('cancel', () => request(client, `${path}/cancel`, { token: student, method: 'POST', body: {} }));
      const from = new Date(monday).toISOString().slice(0, 10);
      const to = new Date(monday + 60 * 86_400_000).toISOString().slice(0, 10);
      await measure('two-month slot listing', () =>
        request(client, `/api/v1/librarians/${librarianId}/slots?from=${from}&to=${to}`),
      );
    }
    return counts.map(([name, count]) => ({
      name: `statements: ${name} (${count.inTransaction} between BEGIN and COMMIT; ${count.roundTrips} round trips in all)`,
      median: count.total,
      p99: count.total,
      runs: 1,
      unit: 'statements in all',
      target: name.includes('slot') ? '<= 2 queries' : '<= 6 between BEGIN and COMMIT',
    }));
  } finally {
    client.close();
    await stopServer(server);
    await proxy.close();
  }
}

/**
 * POST /api/v1/bookings with a companion against real PostgreSQL through one server process (a
 * child process, so the load generator does not share its CPU time): distinct slots across many
 * librarians, many concurrent clients. Prints statements per operation, throughput, latency
 * percentiles and the server's peak resident memory.
 */
export async function benchBookings(options: {
  adminUrl: string;
  librarians?: number;
  bookings?: number;
  clients?: number;
}): Promise<Measurement[]> {
  const librarianCount = options.librarians ?? 40;
  const total = options.bookings ?? 6000;
  const clients = options.clients ?? 32;
  const database = await benchDatabase(options.adminUrl);
  const measurements = await countOperations(database.url);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startLiaison(
    port,
    { ...SERVER_ENV, DATABASE_URL: database.url },
    { nodeArgs: benchServerArgs(), compiled: true },
  );
  const client = loadClient(base, clients);
  try {
    const librarianIds = await seedBenchLibrarians(base, librarianCount, 'load');
    const monday = nextMonday() + 7 * 86_400_000; // a week after the counted bookings
    const studentTokens = await Promise.all(
      Array.from({ length: Math.ceil(total / BOOKINGS_PER_STUDENT) }, (_, i) =>
        token(['student'], { sub: `bench|${i}`, email: `student-${i}@uni.ac.uk` }),
      ),
    );
    // Students' own overlaps would 409: each student's jobs fall at distinct times by construction (i % tokens).
    const jobs = Array.from({ length: total }, (_, i) => ({
      librarianId: librarianIds[i % librarianCount] as string,
      start: quarterHour(monday, Math.floor(i / librarianCount)),
      token: studentTokens[i % studentTokens.length] as string,
      companion: { name: `Friend ${i}`, email: `friend-${i}@uni.ac.uk` },
    }));
    const latencies: number[] = [];
    const statuses: Record<number, number> = {};
    const problems = new Map<string, number>();
    let next = 0;
    const cpuSpent = () => ({
      server: cpuMs(server.child.pid as number),
      postgres: postgresCpuMs(),
      load: cpuMs(process.pid),
    });
    const cpuBefore = cpuSpent();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++] as (typeof jobs)[number];
          const sent = performance.now();
          const result = await request(client, '/api/v1/bookings', {
            token: job.token,
            method: 'POST',
            body: { librarianId: job.librarianId, start: job.start, companion: job.companion },
          });
          latencies.push(performance.now() - sent);
          statuses[result.status] = (statuses[result.status] ?? 0) + 1;
          if (result.status !== 201) {
            const problem = result.body as { code?: string; errors?: { pointer: string }[] } | null;
            const what = `${result.status} ${problem?.code ?? ''} ${problem?.errors?.map((e) => e.pointer).join(',') ?? ''}`;
            problems.set(what, (problems.get(what) ?? 0) + 1);
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const created = statuses[201] ?? 0;
    const cpuAfter = cpuSpent();
    const cpu = {
      server: (cpuAfter.server - cpuBefore.server) / created,
      postgres: (cpuAfter.postgres - cpuBefore.postgres) / created,
      load: (cpuAfter.load - cpuBefore.load) / created,
    };
    for (const [what, times] of problems) console.log(`  refused ${times}×: ${what}`);
    const peak = peakRssMb(server.child.pid as number);
    measurements.push(
      {
        name: `bookings: ${total} POST /api/v1/bookings with a companion, ${librarianCount} librarians, ${clients} clients, PostgreSQL (statuses ${JSON.stringify(statuses)})`,
        ...summarise(latencies),
        target: 'p99 < 150 ms',
      },
      {
        name: 'bookings: throughput (created per second, one server process)',
        median: created / seconds,
        p99: created / seconds,
        runs: 1,
        unit: 'bookings/s',
        target: '>= 500 bookings/s',
      },
      {
        name: `bookings: CPU per booking created (the ${availableParallelism()} cores ${(((cpu.server + cpu.postgres + cpu.load) * (created / seconds)) / (availableParallelism() * 10)).toFixed(0)}% busy): server ${cpu.server.toFixed(2)} ms, PostgreSQL ${cpu.postgres.toFixed(2)} ms (0 when it runs elsewhere), load generator ${cpu.load.toFixed(2)} ms`,
        median: cpu.server + cpu.postgres + cpu.load,
        p99: cpu.server + cpu.postgres + cpu.load,
        runs: 1,
        unit: 'ms of CPU in all',
      },
      {
        name: 'bookings: peak resident memory of the server process (VmHWM)',
        median: peak,
        p99: peak,
        runs: 1,
        unit: 'MB',
        target: '< 150 MB',
      },
    );
    return measurements;
  } finally {
    client.close();
    await stopServer(server);
    await database.drop();
  }
}
