import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMailer, type Mailer } from '../../src/modules/notifications/mailer.js';
import { createNotificationWorker, type NotificationWorker } from '../../src/modules/notifications/worker.js';
import { createWebhookWorker, type WebhookWorker } from '../../src/modules/webhooks/worker.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp.js';

// Webhooks to a real receiver on 127.0.0.1 that checks every request with the standardwebhooks
// library. No request ever goes anywhere else: refusals are checked at registration.

let t: TestContext;
let sink: SmtpSink;
let mailer: Mailer;
let emails: NotificationWorker;
let hooks: WebhookWorker;
let librarian: { id: string; email: string };
const NOW = '2027-04-05T08:00:00Z';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verifiedWith: string[];
}

/** A receiver answering from a script of status codes (then 200), verifying with the given secrets. */
class Receiver {
  server: Server;
  received: Received[] = [];
  script: { status: number; headers?: Record<string, string> }[] = [];
  secrets: string[] = [];
  port = 0;

  constructor() {
    this.server = this.create();
  }

  private create() {
    return createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        // The library checks the timestamp against Date.now(): read it on the app's clock.
        vi.setSystemTime(t.clock.now());
        const verifiedWith = this.secrets.filter((secret) => {
          try {
            new Webhook(secret).verify(body, request.headers as Record<string, string>);
            return true;
          } catch {
            return false;
          }
        });
        vi.useRealTimers();
        this.received.push({ headers: request.headers, body, verifiedWith });
        const next = this.script.shift() ?? { status: 200 };
        response.writeHead(next.status, next.headers ?? {});
        response.end('ok');
      });
    });
  }

  async start(port = 0) {
    this.server = this.create();
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop() {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get url() {
    return `http://127.0.0.1:${this.port}/hooks`;
  }
}

let receiver: Receiver;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestApp({
    now: NOW,
    env: {
      SMTP_URL: sink.url,
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      PUBLIC_URL: 'https://appointments.uni.example',
      ADMIN_ALERT_EMAILS: 'systems@library.uni.example',
    },
  });
  mailer = createMailer(t.config);
  emails = createNotificationWorker({ db: t.db, clock: t.clock, mailer, config: t.config });
  hooks = createWebhookWorker({ db: t.db, clock: t.clock, config: t.config });
  librarian = await createLibrarianWithWeek(t, { email: 'hooks@library.uni.example', minNoticeMinutes: 0 });
});
afterAll(async () => {
  mailer.close();
  await t.close();
  await sink.stop();
});
beforeEach(async () => {
  t.clock.set(NOW);
  receiver = new Receiver();
  await receiver.start();
});
afterEach(async () => {
  // Leave no endpoint behind to receive another test's events.
  const admin = await t.auth('admin');
  const list = await t.app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: admin });
  for (const endpoint of list.json().webhooks) {
    await t.app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${endpoint.id}`, headers: admin });
  }
  await receiver.stop().catch(() => undefined);
});

async function register(events = ['booking.created', 'booking.cancelled']) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/webhooks',
    headers: await t.auth('admin'),
    payload: { url: receiver.url, events, description: 'Room booking system' },
  });
  expect(response.statusCode, response.body).toBe(201);
  const endpoint = response.json();
  receiver.secrets = [endpoint.secret];
  return endpoint as { id: string; secret: string };
}

const advance = (ms: number) => t.clock.set(new Date(t.clock.now().getTime() + ms));

/** Weekdays from the week after NOW; the librarian works 09:00–12:00 London (08:00–11:00 UTC in April). */
const DAYS = [12, 13, 14, 15, 16, 19, 20, 21, 22, 23];
let slot = 0;
/** A fresh booking (a different student and hour each time). */
async function book() {
  slot += 1;
  const day = DAYS[Math.floor((slot - 1) / 3)] as number;
  const hour = 8 + ((slot - 1) % 3);
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await t.auth('student', {
      sub: `idp|hook-${slot}`,
      email: `hook-${slot}@student.uni.example`,
      name: `Secret Name ${slot}`,
    }),
    payload: {
      librarianId: librarian.id,
      start: `2027-04-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`,
      topic: 'A private topic',
      companions: [{ name: 'Private Friend', email: `friend-${slot}@student.uni.example` }],
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string };
}

async function deliveries(endpointId: string) {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/webhooks/${endpointId}/deliveries`,
    headers: await t.auth('admin'),
  });
  return response.json().deliveries as { id: string; status: string; attempts: number; lastStatusCode: number }[];
}

describe('webhooks', () => {
  it('delivers booking.created once, signed so the standardwebhooks library accepts it, with a thin payload', async () => {
    const endpoint = await register();
    const booking = await book();
    await hooks.runOnce();
    await hooks.runOnce();
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request?.verifiedWith).toEqual([endpoint.secret]);
    expect(request?.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(request?.headers['webhook-timestamp']).toBe(String(Date.parse(NOW) / 1000));
    const body = JSON.parse(request?.body ?? '{}');
    expect(body).toMatchObject({
      type: 'booking.created',
      timestamp: NOW.replace('Z', '.000Z'),
      data: {
        bookingId: booking.id,
        librarianId: librarian.id,
        status: 'confirmed',
        start: expect.stringMatching(/^2027-04-1\dT\d\d:00:00\.000Z$/),
        companions: { invited: 1, attended: 0 },
      },
    });
    // No names, emails, topics or categories.
    expect(request?.body).not.toMatch(/Secret Name|Private|@student|topic|fee_status/);
    expect((await deliveries(endpoint.id)).map((d) => [d.status, d.attempts, d.lastStatusCode])).toEqual([
      ['succeeded', 1, 200],
    ]);
  });

  it('retries a 500 on the schedule with the same webhook-id and a fresh signature each time', async () => {
    const endpoint = await register();
    await book();
    receiver.script = [{ status: 500 }, { status: 500 }];
    await hooks.runOnce();
    // Not yet due again 4 s later; due at 5 s; then 5 minutes after that.
    advance(4_000);
    await hooks.runOnce();
    expect(receiver.received).toHaveLength(1);
    advance(1_000);
    await hooks.runOnce();
    advance(5 * 60_000);
    await hooks.runOnce();
    expect(receiver.received).toHaveLength(3);
    const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    const stamps = receiver.received.map((r) => Number(r.headers['webhook-timestamp']));
    expect(stamps[1] as number).toBe((stamps[0] as number) + 5);
    expect(stamps[2] as number).toBe((stamps[1] as number) + 300);
    expect(receiver.received.every((r) => r.verifiedWith.length === 1)).toBe(true);
    expect((await deliveries(endpoint.id))[0]).toMatchObject({ status: 'succeeded', attempts: 3, lastStatusCode: 200 });
  });

  it('holds deliveries while the receiver is down, without delaying the booking’s emails, and delivers when it returns', async () => {
    const endpoint = await register();
    const port = receiver.port;
    await receiver.stop();
    sink.received.length = 0;
    await book();
    await hooks.runOnce();
    // The emails go at once, whatever the webhook receiver is doing.
    await emails.runOnce();
    expect((await sink.parsed()).length).toBeGreaterThanOrEqual(3);
    const [failed] = await deliveries(endpoint.id);
    expect(failed).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
    await receiver.start(port);
    advance(5_000);
    await hooks.runOnce();
    expect(receiver.received).toHaveLength(1);
    expect((await deliveries(endpoint.id))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('honours Retry-After on 429, and disables the endpoint on 410', async () => {
    const endpoint = await register();
    await book();
    receiver.script = [{ status: 429, headers: { 'retry-after': '120' } }, { status: 410 }];
    await hooks.runOnce();
    advance(60_000);
    await hooks.runOnce();
    expect(receiver.received).toHaveLength(1);
    advance(60_000);
    await hooks.runOnce();
    expect(receiver.received).toHaveLength(2);
    const after = await t.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${endpoint.id}`,
      headers: await t.auth('admin'),
    });
    expect(after.json()).toMatchObject({ enabled: false, disabledReason: 'gone' });
    await book();
    advance(60_000);
    await hooks.runOnce();
    expect(receiver.received).toHaveLength(2);
  });

  it('signs with both secrets for a day after a rotation, then with the new one only', async () => {
    const endpoint = await register();
    const rotated = await t.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${endpoint.id}/rotate-secret`,
      headers: await t.auth('admin'),
    });
    const fresh = rotated.json().secret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(endpoint.secret);
    receiver.secrets = [endpoint.secret, fresh];
    await book();
    await hooks.runOnce();
    expect(receiver.received[0]?.verifiedWith).toEqual([endpoint.secret, fresh]);
    advance(24 * 3_600_000 + 1_000);
    await book();
    await hooks.runOnce();
    expect(receiver.received[1]?.verifiedWith).toEqual([fresh]);
  });

  it('refuses, at registration, URLs that are not https or point at private, loopback or link-local addresses', async () => {
    const admin = await t.auth('admin');
    for (const url of [
      'http://example.org/hooks',
      'https://127.0.0.2/hooks',
      'https://10.1.2.3/hooks',
      'https://192.168.1.20/hooks',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hooks',
      'https://[fe80::1]/hooks',
      'https://[::ffff:127.0.0.1]/hooks',
      // IPv4 inside IPv6: compatible, SIIT-translated, 6to4 of loopback, NAT64; and site-local.
      'https://[::127.0.0.1]/hooks',
      'https://[::ffff:0:127.0.0.1]/hooks',
      'https://[2002:7f00:1::1]/hooks',
      'https://[64:ff9b::a00:1]/hooks',
      'https://[fec0::1]/hooks',
      'https://100.64.0.1/hooks',
      'https://localhost/hooks',
      'https://user:pass@example.org/hooks',
    ]) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        headers: admin,
        payload: { url, events: ['booking.created'] },
      });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().errors[0].pointer, url).toBe('/url');
    }
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: admin });
    expect(list.json().webhooks).toEqual([]);
  });

  it('is for admins only, and a dead delivery can be sent again with the same id', async () => {
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/webhooks',
          headers: await t.auth('librarian', { email: librarian.email }),
          payload: { url: receiver.url, events: ['booking.created'] },
        })
      ).statusCode,
    ).toBe(403);
    const endpoint = await register(['booking.cancelled']);
    const booking = await book();
    await hooks.runOnce();
    // Subscribed to cancellations only: nothing for the booking itself.
    expect(receiver.received).toHaveLength(0);
    await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booking.id}/cancel`,
      headers: await t.auth('admin'),
      payload: {},
    });
    receiver.script = [{ status: 410 }];
    await hooks.runOnce();
    const [dead] = await deliveries(endpoint.id);
    expect(dead).toMatchObject({ status: 'dead' });
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/webhooks/${endpoint.id}`,
      headers: await t.auth('admin'),
      payload: { enabled: true },
    });
    const retried = await t.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${endpoint.id}/deliveries/${dead?.id}/retry`,
      headers: await t.auth('admin'),
    });
    expect(retried.statusCode).toBe(202);
    await hooks.runOnce();
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([dead?.id, dead?.id]);
    expect(JSON.parse(receiver.received[1]?.body ?? '{}').type).toBe('booking.cancelled');
  });

  it('gives a delivery up after 3 days, and disables an endpoint that failed every delivery for 3 days, telling the admins', async () => {
    const endpoint = await register();
    receiver.script = Array.from({ length: 40 }, () => ({ status: 500 }));
    await book();
    // Hour by hour for 80 hours: the schedule's attempts at 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then daily.
    for (let hour = 0; hour < 80; hour++) {
      if (hour === 74) await book();
      await hooks.runOnce();
      advance(3_600_000);
    }
    const list = await deliveries(endpoint.id);
    const first = list.find((delivery) => delivery.attempts > 1);
    // Attempts at 0, 1 h (the 5 s retry), 2 h (5 min), 3 h (30 min), 5 h, 10 h, 20 h, 44 h and 68 h; the next would pass 3 days.
    expect(first).toMatchObject({ status: 'dead', attempts: 9 });
    const after = await t.app.inject({
      method: 'GET',
      url: `/api/v1/webhooks/${endpoint.id}`,
      headers: await t.auth('admin'),
    });
    expect(after.json()).toMatchObject({ enabled: false, disabledReason: 'failing' });
    sink.received.length = 0;
    await emails.runOnce();
    const alerts = (await sink.parsed()).filter((mail) => mail.subject === 'A webhook endpoint was turned off');
    expect(alerts.map((mail) => (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address)).toEqual([
      'systems@library.uni.example',
    ]);
    expect(alerts[0]?.text).toContain(receiver.url);
  });
});
