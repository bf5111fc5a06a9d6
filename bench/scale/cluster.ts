import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { buildServer, DIST } from '../../src/cli/build.js';
import { signToken } from '../../tests/helpers/app.js';
import { freePort } from '../../tests/helpers/processes.js';

export { freePort };

/**
 * Parts for running several Liaison processes on one machine and checking that nothing was lost
 * or doubled: used by `npm run scale-test` (behind HAProxy) and by the shorter test in npm test.
 * Every address is 127.0.0.1.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SECRET = 'scale-test-secret-that-is-long-enough-0123456789';

export interface Liaison {
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** The V8 settings `npm start` runs the server with (package.json "start"; a test checks they agree). */
export const START_FLAGS = ['--max-semi-space-size=4', '--max-old-space-size=256'];

let built: Promise<void> | undefined;

/** Extra node options for a measured server: BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
export function benchServerArgs(): string[] {
  return process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
}

/**
 * One `npm start` process on PostgreSQL, on `port`, resolved once /health/ready answers 200 from
 * it (its own JSON, not whatever else may have taken the port). `compiled`: dist/main.js as
 * `npm start` runs it (built once per process; benches). Otherwise src/main.ts through tsx with the
 * same V8 settings, so tests never rebuild dist/ under each other. A port taken between choosing
 * it and listening (another test's server on port 0) is replaced by a new free one: use the
 * returned `port`.
 */
export async function startLiaison(
  port: number,
  env: Record<string, string>,
  options: { nodeArgs?: string[]; compiled?: boolean } = {},
): Promise<Liaison> {
  if (options.compiled) built ??= buildServer();
  await built;
  const entry = options.compiled ? [path.join(DIST, 'main.js')] : ['--import', 'tsx', path.join(ROOT, 'src/main.ts')];
  for (let attempt = 0, at = port; ; attempt++, at = await freePort()) {
    let errors = '';
    const child = spawn(process.execPath, [...START_FLAGS, ...(options.nodeArgs ?? []), ...entry], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: String(at),
        HOST: '127.0.0.1',
        AUTH_JWT_SECRET: SECRET,
        LOG_LEVEL: 'error',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      process.stderr.write(chunk);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const outcome = await Promise.race([
      waitReady(at, 120_000).then(() => 'ready' as const),
      exited.then(() => 'exited' as const),
    ]);
    if (outcome === 'ready') return { port: at, child, exited };
    if (!errors.includes('EADDRINUSE') || attempt >= 3)
      throw new Error(`Liaison exited before it was ready on port ${at}: ${errors.slice(-500)}`);
  }
}

export async function waitReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) });
      // Liaison's own answer: another server on the port would answer something else.
      if (response.status === 200 && (await response.text()) === '{"status":"ready"}') return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`port ${port} never became ready`);
    await sleep(100);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An SMTP server that remembers every Message-ID it accepted (and how often). */
export async function startSink() {
  const messageIds = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 20_000) head += chunk.toString();
      });
      stream.on('end', () => {
        const id = /^message-id:\s*(<[^>]+>)/im.exec(head)?.[1];
        if (id) messageIds.set(id, (messageIds.get(id) ?? 0) + 1);
        callback();
      });
    },
  });
  // A sender killed mid-message resets its connection: that is the point of the test, not a fault.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messageIds,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function token(roles: ('student' | 'admin')[], claims: Record<string, string> = {}): Promise<string> {
  return signToken(SECRET, roles, claims, { now: new Date(), lifetimeSeconds: 6 * 3600 });
}

export interface Outcome {
  status: number | null;
  body: unknown;
  /** A connection error (or timeout) even after the client's retries. */
  failed: boolean;
  at: number;
  /** Method and path, to say which request a failure was. */
  request?: string;
}

/**
 * One request as a real client makes it: 10 s timeout; on a connection error it retries (up to
 * `retries` times) the same request with the same Idempotency-Key, on the next base URL.
 */
export async function call(
  bases: string[],
  attempt: number,
  method: string,
  url: string,
  options: { token?: string; body?: unknown; idempotencyKey?: string; retries?: number } = {},
): Promise<Outcome> {
  const retries = options.retries ?? 3;
  for (let tries = 0; ; tries++) {
    const base = bases[(attempt + tries) % bases.length] as string;
    try {
      const response = await fetch(`${base}${url}`, {
        method,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: response.status, body, failed: false, at: Date.now(), request: `${method} ${url}` };
    } catch {
      if (tries >= retries) return { status: null, body: null, failed: true, at: Date.now() };
      await sleep(200 * (tries + 1));
    }
  }
}

/** Librarians with long weekday hours, set up through the API (`availability` replaces the default week). */
export async function seedLibrarians(
  base: string,
  count: number,
  options: { prefix?: string; availability?: Record<string, unknown> } = {},
): Promise<string[]> {
  const prefix = options.prefix ?? 'scale';
  const admin = await token(['admin']);
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const created = await call([base], 0, 'POST', '/api/v1/librarians', {
      token: admin,
      body: { email: `${prefix}-${index}@library.example`, name: `Librarian ${prefix} ${index}` },
    });
    const id = (created.body as { id: string }).id;
    await call([base], 0, 'PUT', `/api/v1/librarians/${id}/availability`, {
      token: admin,
      body: options.availability ?? {
        slotMinutes: 30,
        minNoticeMinutes: 0,
        horizonDays: 60,
        maxCompanions: 1,
        weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '08:00', end: '18:00' })),
      },
    });
    ids.push(id);
  }
  return ids;
}

export interface LoadResult {
  requests: number;
  failures: Outcome[];
  /** Idempotency-Key → the booking ids its responses named (one, if nothing was doubled). */
  bookingsByKey: Map<string, Set<string>>;
  statuses: Map<number, number>;
  /** Answers with a 5xx status, kept to say which and why. */
  serverErrors: Outcome[];
  created: number;
}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Simulated students until `until`: read a librarian's slots, book one (half with a friend, each
 * POST with an Idempotency-Key, retried as is on a connection error), and move or cancel their own
 * bookings now and then, so every kind of write runs.
 */
export async function runLoad(options: {
  bases: string[];
  librarians: string[];
  students: number;
  until: number;
  prefix: string;
  /** A pause between one student's steps, as people take (and to stay under the write limit). */
  thinkMs?: number;
}): Promise<LoadResult> {
  const result: LoadResult = {
    requests: 0,
    failures: [],
    bookingsByKey: new Map(),
    statuses: new Map(),
    serverErrors: [],
    created: 0,
  };
  const record = (outcome: Outcome) => {
    result.requests++;
    if (outcome.failed) result.failures.push(outcome);
    else result.statuses.set(outcome.status as number, (result.statuses.get(outcome.status as number) ?? 0) + 1);
    if ((outcome.status ?? 0) >= 500) result.serverErrors.push(outcome);
  };
  const from = isoDate(Date.now() + 86_400_000);
  const to = isoDate(Date.now() + 21 * 86_400_000);
  await Promise.all(
    Array.from({ length: options.students }, async (_, student) => {
      const auth = await token(['student'], {
        sub: `scale|${options.prefix}|${student}`,
        email: `${options.prefix}-${student}@student.example`,
        name: `Student ${student}`,
      });
      const mine: string[] = [];
      let step = student;
      while (Date.now() < options.until) {
        step++;
        if (options.thinkMs) await sleep(options.thinkMs * (0.5 + ((step * 37) % 100) / 100));
        const librarian = options.librarians[step % options.librarians.length] as string;
        const slots = await call(
          options.bases,
          step,
          'GET',
          `/api/v1/librarians/${librarian}/slots?from=${from}&to=${to}`,
        );
        record(slots);
        const list = (slots.body as { slots?: { start: string }[] } | null)?.slots ?? [];
        if (list.length === 0) continue;
        const pick = list[(step * 7919 + student) % list.length] as { start: string };
        const action = step % 5;
        if (action === 3 && mine.length > 0) {
          const id = mine[step % mine.length] as string;
          record(
            await call(options.bases, step, 'POST', `/api/v1/bookings/${id}/reschedule`, {
              token: auth,
              body: { start: pick.start },
            }),
          );
          continue;
        }
        if (action === 4 && mine.length > 0) {
          const id = mine.shift() as string;
          record(await call(options.bases, step, 'POST', `/api/v1/bookings/${id}/cancel`, { token: auth, body: {} }));
          continue;
        }
        const key = randomUUID();
        const booked = await call(options.bases, step, 'POST', '/api/v1/bookings', {
          token: auth,
          idempotencyKey: key,
          body: {
            librarianId: librarian,
            start: pick.start,
            ...(step % 2 === 0
              ? { companion: { name: 'A friend', email: `friend-${options.prefix}-${student}@student.example` } }
              : {}),
          },
        });
        record(booked);
        if (booked.status === 201) {
          const id = (booked.body as { id: string }).id;
          result.created++;
          const seen = result.bookingsByKey.get(key) ?? new Set<string>();
          seen.add(id);
          result.bookingsByKey.set(key, seen);
          mine.push(id);
        } else if (booked.status === 422 && mine.length > 0) {
          // At the booking limit: free one up.
          const id = mine.shift() as string;
          record(await call(options.bases, step, 'POST', `/api/v1/bookings/${id}/cancel`, { token: auth, body: {} }));
        }
      }
    }),
  );
  return result;
}

/** What must hold in the database whatever happened to the processes. */
export async function checkDatabase(databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const overlaps = await client.query(`
      select count(*)::int as n from bookings a join bookings b on a.id < b.id
      where a.status = 'confirmed' and b.status = 'confirmed'
        and tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
        and (a.librarian_id = b.librarian_id or a.student_id = b.student_id)`);
    const keysTwice = await client.query(`
      select count(*)::int as n from (
        select caller, key from idempotency_keys group by caller, key having count(*) > 1) doubled`);
    return { overlaps: overlaps.rows[0].n as number, keysTwice: keysTwice.rows[0].n as number };
  } finally {
    await client.end();
  }
}

/** Waits until the outbox holds nothing due; then lists sent messages the SMTP server never saw. */
export async function checkEmails(databaseUrl: string, sink: { messageIds: Map<string, number> }, timeoutMs: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    let pending = 0;
    for (;;) {
      const result = await client.query(
        `select count(*)::int as n from notifications where status in ('pending', 'failed') and send_after <= now()`,
      );
      pending = result.rows[0].n as number;
      if (pending === 0 || Date.now() > deadline) break;
      await sleep(500);
    }
    const sent = await client.query(`
      select n.message_id from notifications n join bookings b on b.id = n.booking_id
      where n.status = 'sent'`);
    const missing = sent.rows.filter((row) => !sink.messageIds.has(row.message_id as string)).length;
    const confirmedUnsent = await client.query(`
      select count(*)::int as n from notifications n join bookings b on b.id = n.booking_id
      where b.status = 'confirmed' and n.kind = 'booking_created' and n.status not in ('sent', 'skipped')`);
    const duplicates = [...sink.messageIds.values()].filter((count) => count > 1).length;
    return {
      pending,
      sent: sent.rows.length,
      missing,
      confirmedUnsent: confirmedUnsent.rows[0].n as number,
      duplicates,
    };
  } finally {
    await client.end();
  }
}
