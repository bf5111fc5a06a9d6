import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { loggableError } from '../../src/http/logging.js';
import { fixedClock } from '../../src/time/clock.js';
import { createTestApp, TEST_JWT_SECRET, type TestContext } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/db.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Hardening items I, J, K and L.

let t: TestContext;
let librarianId: string;

beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '1000' } });
  librarianId = (await createLibrarianWithWeek(t)).id;
});
afterAll(() => t.close());

describe('bodies of anonymous requests are never read', () => {
  it('answers 401 to an upload without a token while its body is still arriving', async () => {
    // A body that never ends: if the server waited to read it, no answer would come.
    const endless = new Readable({ read() {} });
    endless.push('start,minutes,librarian_email,student_ref,companion,outcome\n');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'no answer'>((resolve) => {
      timer = setTimeout(() => resolve('no answer'), 5_000);
    });
    const answer = t.app.inject({
      method: 'POST',
      url: '/api/v1/imports/sessions',
      headers: { 'content-type': 'text/csv' },
      payload: endless,
    });
    const first = await Promise.race([answer, deadline]);
    clearTimeout(timer);
    endless.destroy();
    expect(first).not.toBe('no answer');
    if (first === 'no answer') return;
    expect(first.statusCode).toBe(401);
    expect(first.headers['content-type']).toContain('application/problem+json');
  });
});

describe('logs keep secrets and personal data out', () => {
  it('redacts manage and feed tokens from access logs', async () => {
    const database = await createTestDatabase();
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const app = await buildApp({
      db: database.handle.db,
      clock: fixedClock('2027-03-01T12:00:00Z'),
      config: loadConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info' }),
      logStream: stream,
    });
    try {
      const secret = 'ManageTokenSecretValue1234567890abcdef';
      await app.inject({ method: 'GET', url: `/api/v1/bookings/00000000-0000-4000-8000-000000000000?token=${secret}` });
      await app.inject({ method: 'GET', url: `/api/v1/librarians/${librarianId}/calendar.ics?token=${secret}&x=1` });
      const log = lines.join('');
      // The route pattern and the parameter's name, never its value (hardening round three, finding 13).
      expect(log).toContain('"url":"/api/v1/bookings/:id?token=…"');
      expect(log).toContain('"url":"/api/v1/librarians/:id/calendar.ics?token=…&x=…"');
      expect(log).not.toContain(secret);
    } finally {
      await app.close();
      await database.drop();
    }
  });

  it('logs a failed query by its SQL and code, never its bound parameters', async () => {
    const personal = 'wei.zhang@student.uni.example';
    const error = await t.db.execute(sql`select ${personal}::int`).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    const logged = JSON.stringify(loggableError(error));
    expect(logged).not.toContain(personal);
    expect(logged).toContain('22P02');
    expect(logged).toContain('select $1::int');
  });
});

describe('consistent, safe answers', () => {
  it('answers oversized headers (431) with problem+json', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      });
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
      });
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer')));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toContain('Content-Type: application/problem+json');
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({
      status: 431,
      code: 'headers_too_large',
    });
  });

  it('answers an over-long path parameter (414) with problem+json', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/api/v1/librarians/${'a'.repeat(200)}` });
    expect(response.statusCode).toBe(414);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 414, code: 'uri_too_long' });
  });

  it('sends X-Content-Type-Options: nosniff on the chart, JSON, problems and calendars', async () => {
    const analyst = await t.auth('analyst');
    for (const [url, headers] of [
      ['/api/v1/uptake/chart.svg?from=2027-01-01&to=2027-01-31', analyst],
      ['/api/v1/librarians', {}],
      ['/api/v1/nowhere', {}],
      [`/api/v1/librarians/${librarianId}/calendar.ics?token=${'x'.repeat(40)}`, {}],
    ] as const) {
      const response = await t.app.inject({ method: 'GET', url, headers });
      expect(response.headers['x-content-type-options'], url).toBe('nosniff');
    }
  });

  it('refuses a token whose expiry is further ahead than AUTH_MAX_TOKEN_HOURS', async () => {
    const issuedAt = Math.floor(t.clock.now().getTime() / 1000);
    const centuries = await new SignJWT({ email: 'admin@uni.example', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 200 * 365 * 86_400)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/bookings',
      headers: { authorization: `Bearer ${centuries}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().detail).toBe('The token lives too long: at most 168 hours are accepted.');
  });

  it("stops a deactivated librarian's feed URL at once", async () => {
    const { id } = await createLibrarianWithWeek(t);
    const admin = await t.auth('admin');
    const rotated = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${id}/calendar-token`,
      headers: admin,
    });
    const feedUrl = new URL(rotated.json().url);
    const path = `${feedUrl.pathname}${feedUrl.search}`;
    expect((await t.app.inject({ method: 'GET', url: path })).statusCode).toBe(200);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/librarians/${id}`,
      headers: admin,
      payload: { active: false },
    });
    const after = await t.app.inject({ method: 'GET', url: path });
    expect(after.statusCode).toBe(404);
    expect(after.body).not.toContain('BEGIN:VCALENDAR');
  });

  it('counts HEAD and GET, on any public route, against one budget per IP', async () => {
    const limited = await createTestApp({ env: { RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '3' } });
    try {
      const statuses: number[] = [];
      for (const [method, url] of [
        ['GET', '/api/v1/librarians'],
        ['HEAD', '/api/v1/librarians'],
        ['GET', '/api/v1/librarians?subject=law'],
        ['HEAD', '/api/v1/librarians'],
        ['GET', '/api/v1/librarians/00000000-0000-4000-8000-000000000000'],
      ] as const) {
        statuses.push((await limited.app.inject({ method, url })).statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('time zones are canonical IANA names', () => {
  it('refuses abbreviations such as CST, and legacy links, saying what to send', async () => {
    for (const tz of ['CST', 'EST', 'US/Central', 'Etc/GMT-8']) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/v1/librarians/${librarianId}/slots?from=2027-03-08&to=2027-03-09&tz=${encodeURIComponent(tz)}`,
      });
      expect(response.statusCode, tz).toBe(400);
      expect(response.json().errors, tz).toEqual([
        {
          pointer: '/tz',
          in: 'query',
          message:
            'must be an IANA time zone name such as Asia/Shanghai or Europe/London (abbreviations such as CST are ambiguous)',
        },
      ]);
    }
    for (const tz of ['Asia/Shanghai', 'America/Argentina/Buenos_Aires', 'UTC']) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/v1/librarians/${librarianId}/slots?from=2027-03-08&to=2027-03-09&tz=${encodeURIComponent(tz)}`,
      });
      expect(response.statusCode, tz).toBe(200);
    }
  });

  it('refuses an abbreviation as a librarian zone', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/librarians',
      headers: await t.auth('admin'),
      payload: { email: 'zone@uni.example', name: 'Zone', timeZone: 'CST' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].pointer).toBe('/timeZone');
  });
});
