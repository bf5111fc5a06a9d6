import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWebhookWorker } from '../../src/modules/webhooks/worker.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { campaignWithCohort } from '../helpers/campaigns.js';

// Issue 27: sending a campaign tells the webhooks that asked for campaign.sent, signed as every
// delivery is (Standard Webhooks), with ids and counts only.

let t: TestContext;
let server: Server;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const NOW = '2027-03-01T08:00:00Z';

beforeAll(async () => {
  t = await createTestApp({ now: NOW, env: { WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.close();
});

describe('campaign.sent', () => {
  it('is delivered, signed, to an endpoint that asked for it, with no addresses', async () => {
    const admin = await t.auth('admin');
    const port = (server.address() as AddressInfo).port;
    const endpoint = await t.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: admin,
      payload: { url: `http://127.0.0.1:${port}/hooks`, events: ['campaign.sent'] },
    });
    expect(endpoint.statusCode, endpoint.body).toBe(201);
    const { id } = await campaignWithCohort(t, admin, {
      name: 'Hooked',
      armPercent: 75,
      seed: 'webhook-seed-1',
      sendFrom: NOW,
      sendUntil: '2027-03-01T20:00:00Z',
      cohort: 'email\nq1@student.uni.example\nq2@student.uni.example\nq3@student.uni.example\nq4@student.uni.example\n',
    });
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/v1/campaigns/${id}/send`, headers: admin })).statusCode,
    ).toBe(200);
    await createWebhookWorker({ db: t.db, clock: t.clock, config: t.config }).runOnce();
    expect(received).toHaveLength(1);
    const [request] = received;
    // The library checks the signature's timestamp against the clock: the app's.
    vi.setSystemTime(t.clock.now());
    const verified = new Webhook(endpoint.json().secret).verify(
      request?.body as string,
      request?.headers as Record<string, string>,
    );
    vi.useRealTimers();
    // 4 people, 75% and 25%: 3 in A, 1 held out.
    expect(verified).toEqual({
      type: 'campaign.sent',
      timestamp: '2027-03-01T08:00:00.000Z',
      data: { campaignId: id, sentAt: '2027-03-01T08:00:00.000Z', assigned: { A: 3, holdout: 1 }, emails: 3 },
    });
    expect(request?.body).not.toContain('@');
  });
});
