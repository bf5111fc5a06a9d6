import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForMetrics } from '../../src/plugins/metrics.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// /metrics for Prometheus (issue 28, first part): the text format, figures that move, labels
// that name no one, and who may scrape it.

/** One metric line: a name, optional labels, a number (text format 0.0.4; NaN and Inf in any case, as Prometheus reads them with Go's ParseFloat). */
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-][Ii]nf)$/;
const COMMENT =
  /^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$/;

/** The samples of a scrape, strictly: every line must be a comment or a sample. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const lines = text.split('\n').filter((line) => line !== '');
  const wrong = lines.filter((line) => !SAMPLE.test(line) && !COMMENT.test(line));
  expect(wrong).toEqual([]);
  return lines
    .filter((line) => !line.startsWith('#'))
    .map((line) => {
      const [, name, labelText = '', value] = SAMPLE.exec(line) as RegExpExecArray;
      const labels = Object.fromEntries(
        [...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((match) => [match[1], match[2]]),
      );
      return { name: name as string, labels: labels as Record<string, string>, value: Number(value) };
    });
}

function sampleValue(all: ReturnType<typeof samples>, name: string, labels: Record<string, string> = {}): number {
  return (
    all.find(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )?.value ?? 0
  );
}

describe('metrics', () => {
  let t: TestContext;
  let listener: Awaited<ReturnType<typeof listenForMetrics>>;
  beforeAll(async () => {
    t = await createTestApp();
    // METRICS_PORT's listener, on a free port: the scrape without a token.
    listener = await listenForMetrics(t.app.scrapeMetrics, 0);
  });
  afterAll(async () => {
    listener?.close();
    await t?.close();
  });

  const scrape = async () => {
    const { port } = listener.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(60_000) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return samples(await response.text());
  };

  it('refuses a loopback peer on the main port without a token (a proxy on this host is one), and names the way in', async () => {
    // Hardening round three, finding 8: "loopback peer" trusted every proxy on the same host.
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const response = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress });
      expect(response.statusCode, remoteAddress).toBe(403);
      expect(response.json().detail).toBe(
        'Set METRICS_TOKEN to scrape this port, or scrape the METRICS_PORT listener on this machine.',
      );
    }
    const { port } = listener.address() as AddressInfo;
    const other = await fetch(`http://127.0.0.1:${port}/api/v1/librarians`, { signal: AbortSignal.timeout(60_000) });
    expect(other.status).toBe(404);
  });

  it('serves the text format, and a booking moves the bookings and request counts by one', async () => {
    const librarian = await createLibrarianWithWeek(t, { email: 'metrics@library.uni.example' });
    const before = await scrape();
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { sub: 'idp|metrics', email: 'metrics@student.uni.example' }),
      payload: {
        librarianId: librarian.id,
        start: '2027-03-02T10:00:00Z',
        companion: { name: 'Pat', email: 'pat@student.uni.example' },
      },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const after = await scrape();
    const confirmed = { status: 'confirmed' };
    expect(sampleValue(after, 'liaison_bookings', confirmed) - sampleValue(before, 'liaison_bookings', confirmed)).toBe(
      1,
    );
    const created = { method: 'POST', route: '/api/v1/bookings', status: '201' };
    expect(
      sampleValue(after, 'liaison_http_requests_total', created) -
        sampleValue(before, 'liaison_http_requests_total', created),
    ).toBe(1);
    // The booking queued three emails (student, friend, librarian), due now: the outbox shows them.
    expect(sampleValue(after, 'liaison_outbox_due_messages')).toBeGreaterThanOrEqual(3);
    expect(after.some((sample) => sample.name === 'liaison_http_request_duration_seconds_bucket')).toBe(true);
    expect(after.some((sample) => sample.name.startsWith('nodejs_eventloop_lag'))).toBe(true);
    // Labels name route patterns, never a booking's id or anyone's email.
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    const values = after.flatMap((sample) => Object.values(sample.labels));
    expect(values.filter((value) => uuid.test(value) || value.includes('@'))).toEqual([]);
    await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booked.json().id}`, headers: await t.auth('admin') });
    const routes = (await scrape()).map((sample) => sample.labels.route).filter(Boolean);
    expect(routes).toContain('/api/v1/bookings/:id');
  });
});

describe('metrics with METRICS_TOKEN set', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: 'scrape-secret-0123456789abcdef' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('asks even loopback for the token, and serves with it', async () => {
    const without = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(without.statusCode).toBe(401);
    expect(without.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(without.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    const wrong = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
    const right = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer scrape-secret-0123456789abcdef' },
    });
    expect(right.statusCode).toBe(200);
    expect(right.body).toContain('# TYPE liaison_http_requests_total counter');
    expect(right.body).not.toContain('scrape-secret');
  });
});
