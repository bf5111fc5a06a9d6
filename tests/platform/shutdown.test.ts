import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLiaison, token } from '../../bench/scale/cluster.js';
import { notifications } from '../../src/db/schema.js';
import { createMailer } from '../../src/modules/notifications/mailer.js';
import { createNotificationWorker } from '../../src/modules/notifications/worker.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { freePort } from '../helpers/processes.js';
import { startSmtpSink } from '../helpers/smtp.js';

// Probes and a graceful stop: readiness turns 503 when draining; on SIGTERM the real process lets
// a request in flight finish, takes no new connection, and exits 0 within SHUTDOWN_GRACE_SECONDS.

const children: ChildProcess[] = [];

/** `npm start` as a process of its own (embedded database in a new folder), ready on `port`. */
async function startServer(port: number, env: Record<string, string> = {}) {
  const server = await startLiaison(port, { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'liaison-stop-')), ...env });
  children.push(server.child);
  return server;
}

/**
 * A student's booking whose body is still arriving: past authentication, the server is reading
 * it, so it is in flight until `finish` sends the rest.
 */
async function requestInFlight(port: number) {
  const auth = await token(['student'], { sub: 'idp|stop', email: 'stop@student.uni.example' });
  const socket: Socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    answer += chunk.toString();
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  const body = JSON.stringify({ librarianId: '00000000-0000-4000-8000-000000000000', start: '2027-03-10T10:00:00Z' });
  // Expect: 100-continue: the server says "100 Continue" once it has read the headers, so the
  // request is known to be in the server's hands (no fixed wait) before the body is sent.
  socket.write(
    `POST /api/v1/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
  );
  if (!(await eventually(() => answer.includes('100 Continue'), 10_000, 10)))
    throw new Error(`the server never read the headers: ${answer}`);
  answer = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    finish: async () => {
      socket.write(body.slice(10));
      await closed;
      return answer;
    },
    closed,
  };
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('probes', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('live is always ok; ready is ok until the process starts draining, then 503', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).json()).toEqual({ status: 'ready' });
    t.app.drain();
    const draining = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(draining.statusCode).toBe(503);
    expect(draining.headers['content-type']).toContain('application/problem+json');
    expect(draining.json().code).toBe('draining');
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

// Each test starts a real server (a new embedded database, migrated): slow on a loaded machine.
describe('SIGTERM', { timeout: 180_000 }, () => {
  it('lets the request in flight finish, refuses new connections, and exits 0', async () => {
    const server = await startServer(await freePort());
    const { port } = server;
    const inFlight = await requestInFlight(port);
    server.child.kill('SIGTERM');
    const refused = () =>
      fetch(`http://127.0.0.1:${port}/health/live`).then(
        () => false,
        () => true,
      );
    expect(await eventually(refused, 10_000)).toBe(true);
    const answer = await inFlight.finish();
    // It reached the route and got a real answer (no such librarian: 422 or 404), not a dropped connection.
    expect(answer).toMatch(/^HTTP\/1\.1 (404|422) /);
    expect(await server.exited).toBe(0);
  });

  it('exits 0 once SHUTDOWN_GRACE_SECONDS have passed, even with a request still open', async () => {
    const server = await startServer(await freePort(), { SHUTDOWN_GRACE_SECONDS: '1' });
    const { port } = server;
    const inFlight = await requestInFlight(port);
    const started = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // At least the grace second; well before the 10 s default.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(8_000);
    await inFlight.closed;
  });
});

describe('workers stopping', () => {
  it('the email worker finishes what it is sending and hands back what it claimed but had not started', async () => {
    // A mail server that holds each message until the test lets it go; the first one tells us it has arrived.
    let firstArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      firstArrived = resolve;
    });
    let letGo: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const sink = await startSmtpSink({
      beforeAccept: () => {
        firstArrived();
        return held;
      },
    });
    const t = await createTestApp({ now: '2027-03-01T08:00:00Z', env: { SMTP_URL: sink.url } });
    const mailer = createMailer(t.config);
    try {
      const librarian = await createLibrarianWithWeek(t, { email: 'slow@library.uni.example' });
      for (const hour of ['09', '10', '11']) {
        const booked = await t.app.inject({
          method: 'POST',
          url: '/api/v1/bookings',
          headers: await t.auth('student', { sub: `idp|slow-${hour}`, email: `slow-${hour}@student.uni.example` }),
          payload: { librarianId: librarian.id, start: `2027-03-02T${hour}:00:00Z` },
        });
        expect(booked.statusCode).toBe(201);
      }
      // One at a time, so most of the claimed batch has not started when the stop comes.
      const worker = createNotificationWorker({ db: t.db, clock: t.clock, mailer, config: t.config, concurrency: 1 });
      worker.start();
      // Stop while the first message is being sent.
      await arrived;
      const stopping = worker.stop();
      letGo();
      await stopping;
      const rows = (await t.db.select().from(notifications)).filter((row) => row.kind === 'booking_created');
      const sent = rows.filter((row) => row.status === 'sent');
      const waiting = rows.filter((row) => row.status === 'pending');
      // The one in flight was sent; the rest are free for another process at once, never tried.
      expect(sent.length).toBeGreaterThanOrEqual(1);
      expect(waiting.length).toBeGreaterThan(0);
      expect(waiting.every((row) => row.lockedUntil === null && row.attempts === 0)).toBe(true);
      expect(sent.length + waiting.length).toBe(rows.length);
    } finally {
      mailer.close();
      await t.close();
      await sink.stop();
    }
  });
});
