import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openPostgres } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import {
  call,
  checkDatabase,
  checkEmails,
  freePort,
  type Liaison,
  type LoadResult,
  runLoad,
  seedLibrarians,
  sleep,
  startLiaison,
  startSink,
  token,
  waitReady,
} from './cluster.js';

/**
 * npm run scale-test [-- --seconds 60 --students 60]: three Liaison processes behind HAProxy on
 * one machine, against one PostgreSQL, Redis and an SMTP sink. Run 1 kills one process with
 * SIGKILL at a third of the time and starts it again at two thirds; run 2 restarts each process
 * in turn with SIGTERM. Then throughput with 3 processes and with 1. Exits 1 unless nothing was
 * lost or doubled. Needs PostgreSQL on 127.0.0.1:5432 (user postgres); starts Redis if it is down
 * and installs Debian's haproxy if it is missing. Everything listens on 127.0.0.1 only.
 */

const WRITE_LIMIT = 40;

function log(line: string) {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function ensureServices(adminUrl: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect().catch((error: Error) => {
    throw new Error(`PostgreSQL is required (${adminUrl}): ${error.message}`);
  });
  await client.end();
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  const up = await redis
    .connect()
    .then(() => redis.ping())
    .then(() => true)
    .catch(() => false);
  redis.disconnect();
  if (!up) {
    log('Redis is down; starting it');
    spawnSync('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '--port',
      '6379',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    await sleep(500);
  }
  if (spawnSync('sh', ['-c', 'command -v haproxy']).status !== 0) {
    log('installing haproxy');
    const installed = spawnSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq haproxy'], {
      stdio: 'inherit',
    });
    if (installed.status !== 0) throw new Error('could not install haproxy');
  }
}

function startHaproxy(port: number, backends: number[]): ChildProcess {
  const folder = mkdtempSync(path.join(tmpdir(), 'liaison-haproxy-'));
  const config = path.join(folder, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 4096',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      // A new server connection per request: a process that is shutting down never has an idle
      // connection closed under a request HAProxy has just sent on it.
      '  option http-server-close',
      '  retries 3',
      '  option redispatch 1',
      '  retry-on conn-failure empty-response response-timeout 503',
      'frontend liaison',
      `  bind 127.0.0.1:${port}`,
      // The client's address for the per-address limits (the processes set TRUST_PROXY=127.0.0.1).
      '  option forwardfor',
      '  default_backend app',
      'backend app',
      '  balance roundrobin',
      '  option httpchk GET /health/ready',
      // A busy process answers its check late, not never: give a check 2 s and take a server out
      // after three failures in a row (a draining one answers 503 at once, so it goes in ~1.5 s, and
      // requests it refuses meanwhile are retried elsewhere). One slow answer must never take every
      // server out at once, as fall 1 with a 500 ms check did on a loaded machine.
      '  timeout check 2s',
      '  default-server inter 500ms fastinter 250ms downinter 1s fall 3 rise 2',
      // GETs are retried on another server; POSTs only when they never reached one.
      '  http-request disable-l7-retry if !METH_GET',
      ...backends.map((backend, index) => `  server s${index + 1} 127.0.0.1:${backend} check`),
      '',
    ].join('\n'),
  );
  return spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A student who fires writes as fast as possible: the shared limit must stop them at WRITE_LIMIT a minute. */
async function probeWriteLimit(base: string) {
  const auth = await token(['student'], { sub: `scale|limit|${randomUUID()}`, email: 'limit@student.example' });
  const statuses: number[] = [];
  for (let index = 0; index < WRITE_LIMIT + 20; index++) {
    const outcome = await call([base], index, 'POST', `/api/v1/bookings/${randomUUID()}/cancel`, {
      token: auth,
      body: {},
    });
    statuses.push(outcome.status ?? 0);
  }
  return {
    allowed: statuses.filter((status) => status !== 429).length,
    refused: statuses.filter((s) => s === 429).length,
  };
}

function summarise(label: string, result: LoadResult, seconds: number) {
  const statuses = [...result.statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`);
  log(
    `${label}: ${result.requests} requests in ${seconds} s (${(result.requests / seconds).toFixed(0)}/s), ${result.created} bookings, ${result.failures.length} failed; statuses ${statuses.join(' ')}`,
  );
  for (const error of result.serverErrors.slice(0, 5)) {
    const code = (error.body as { code?: unknown } | null)?.code ?? String(error.body).slice(0, 80);
    log(`  ${error.status} at ${new Date(error.at).toISOString().slice(11, 23)}: ${error.request} (${String(code)})`);
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      students: { type: 'string', default: '60' },
      postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      // A Redis database index of its own (not 0, which other programs on this machine may use).
      'redis-db': { type: 'string', default: '13' },
    },
  });
  const redisUrl = `redis://127.0.0.1:6379/${Number(values['redis-db'])}`;
  const seconds = Number(values.seconds);
  const students = Number(values.students);
  const adminUrl = values.postgres as string;
  await ensureServices(adminUrl);

  const name = `liaison_scale_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const handle = openPostgres(databaseUrl, { max: 2 });
  await runMigrations(handle);
  await handle.close();
  const sink = await startSink();
  // Clears only its own keys (the rate limiter's, liaison:rl:*) in its own database, never FLUSHDB.
  const redis = new Redis(redisUrl);
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'liaison:rl:*', 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  redis.disconnect();

  const ports = [await freePort(), await freePort(), await freePort()];
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    SMTP_URL: sink.url,
    RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: String(WRITE_LIMIT),
    // Every simulated student comes from 127.0.0.1: the per-address limit on public reads would
    // treat them as one client, so it is lifted here (the per-student write limit is what is checked).
    RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '1000000',
    BOOKING_LIMIT_PER_STUDENT: '3',
    SHUTDOWN_GRACE_SECONDS: '10',
    // Go on serving for 2 s after SIGTERM with readiness at 503: HAProxy (fall 3 at 250 ms) has taken
    // the process out before it stops listening, so no POST meets a closing server.
    SHUTDOWN_DRAIN_SECONDS: '2',
    TRUST_PROXY: '127.0.0.1',
  };
  const processes: Liaison[] = [];
  for (const port of ports) processes.push(await startLiaison(port, env, { compiled: true }));
  const frontPort = await freePort();
  const haproxy = startHaproxy(frontPort, ports);
  const front = `http://127.0.0.1:${frontPort}`;
  await sleep(1500);
  const problems: string[] = [];
  try {
    const librarians = await seedLibrarians(front, 6);
    log(`3 processes on ports ${ports.join(', ')}, HAProxy on ${frontPort}, database ${name}`);

    // Run 1: one process killed with SIGKILL at a third, started again at two thirds.
    const killAt = Date.now() + (seconds * 1000) / 3;
    let killedAt = 0;
    const chaos = (async () => {
      await sleep(killAt - Date.now());
      killedAt = Date.now();
      processes[0]?.child.kill('SIGKILL');
      log('run 1: SIGKILL to process 1');
      await sleep((seconds * 1000) / 3);
      processes[0] = await startLiaison(ports[0] as number, env, { compiled: true });
      log('run 1: process 1 started again');
    })();
    const run1 = await runLoad({
      bases: [front],
      librarians,
      students,
      until: Date.now() + seconds * 1000,
      prefix: 'kill',
      thinkMs: 1500,
    });
    await chaos;
    summarise('run 1 (kill -9)', run1, seconds);
    // Requests in flight on the killed process (POSTs HAProxy may not resend) may fail, nothing else:
    // so every failure is within a few seconds of the kill, and there are no more than the students.
    const stray = run1.failures.filter((failure) => failure.at < killedAt || failure.at > killedAt + 5_000);
    const killFailures = run1.failures.length + (run1.statuses.get(502) ?? 0) + (run1.statuses.get(504) ?? 0);
    if (stray.length > 0) problems.push(`run 1: ${stray.length} failures away from the kill`);
    if (killFailures > students) problems.push(`run 1: ${killFailures} failures, more than the ${students} in flight`);
    log(`run 1: ${killFailures} requests failed around the kill (at most ${students} could be in flight)`);

    // Run 2: a rolling restart, each process in turn with SIGTERM; nothing may fail.
    const rolling = (async () => {
      for (let index = 0; index < processes.length; index++) {
        await sleep(3_000);
        const process = processes[index] as Liaison;
        process.child.kill('SIGTERM');
        const code = await process.exited;
        if (code !== 0) problems.push(`run 2: process ${index + 1} exited ${code} after SIGTERM`);
        processes[index] = await startLiaison(ports[index] as number, env, { compiled: true });
        await waitReady(ports[index] as number, 30_000);
        log(`run 2: process ${index + 1} restarted`);
      }
    })();
    const start2 = Date.now();
    const run2Until = Date.now() + Math.max(seconds, 45) * 1000;
    const run2 = await runLoad({
      bases: [front],
      librarians,
      students,
      until: run2Until,
      prefix: 'roll',
      thinkMs: 1500,
    });
    await rolling;
    summarise('run 2 (rolling restart)', run2, Math.round((Date.now() - start2) / 1000));
    const run2Failures =
      run2.failures.length + [...run2.statuses.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    if (run2Failures > 0) problems.push(`run 2: ${run2Failures} failed requests during the rolling restart`);

    const limit = await probeWriteLimit(front);
    log(
      `write limit: ${limit.allowed} allowed, ${limit.refused} refused (limit ${WRITE_LIMIT} a minute, shared by 3 processes)`,
    );
    if (limit.allowed !== WRITE_LIMIT)
      problems.push(`write limit: ${limit.allowed} writes allowed, not ${WRITE_LIMIT}`);

    // Throughput: 3 processes, then 1.
    const three = await runLoad({
      bases: [front],
      librarians,
      students: 32,
      until: Date.now() + 15_000,
      prefix: 'tp3',
    });
    summarise('throughput, 3 processes', three, 15);
    processes[1]?.child.kill('SIGTERM');
    processes[2]?.child.kill('SIGTERM');
    await Promise.all([processes[1]?.exited, processes[2]?.exited]);
    await sleep(1_500);
    const one = await runLoad({ bases: [front], librarians, students: 32, until: Date.now() + 15_000, prefix: 'tp1' });
    summarise('throughput, 1 process', one, 15);
    // Saturated is slow, not unavailable: a phase may be slow on a busy machine, but not refuse.
    for (const [label, result] of [
      ['throughput, 3 processes', three],
      ['throughput, 1 process', one],
    ] as const) {
      const refused = [...result.statuses.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
      if (refused + result.failures.length > 0) {
        problems.push(`${label}: ${refused + result.failures.length} requests failed or were answered 5xx`);
      }
    }

    for (const [label, result] of [
      ['run 1', run1],
      ['run 2', run2],
      ['3 processes', three],
      ['1 process', one],
    ] as const) {
      for (const [key, ids] of result.bookingsByKey) {
        if (ids.size > 1) problems.push(`${label}: Idempotency-Key ${key} made ${ids.size} bookings`);
      }
    }
    const database = await checkDatabase(databaseUrl);
    log(`database: ${database.overlaps} overlapping confirmed bookings, ${database.keysTwice} keys stored twice`);
    if (database.overlaps > 0) problems.push(`${database.overlaps} overlapping confirmed bookings`);
    if (database.keysTwice > 0) problems.push(`${database.keysTwice} idempotency keys stored twice`);
    log('waiting for the outbox to empty (a message claimed by the killed process waits out its 5-minute lease)');
    const emails = await checkEmails(databaseUrl, sink, 7 * 60_000);
    log(
      `emails: ${emails.sent} sent, ${emails.missing} never received, ${emails.pending} still due, ${emails.confirmedUnsent} confirmations unsent, ${emails.duplicates} received twice (same Message-ID)`,
    );
    if (emails.missing > 0 || emails.pending > 0 || emails.confirmedUnsent > 0) problems.push('emails were lost');
  } finally {
    haproxy.kill('SIGTERM');
    for (const process of processes) if (process.child.exitCode === null) process.child.kill('SIGTERM');
    await Promise.all(processes.map((process) => process.exited));
    await sink.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
  if (problems.length > 0) {
    console.error(`\nFAILED:\n- ${problems.join('\n- ')}`);
    process.exit(1);
  }
  log('PASSED: nothing lost, nothing doubled');
}

await main();
