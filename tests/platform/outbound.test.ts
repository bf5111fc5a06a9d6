import http from 'node:http';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundRefused, openOutbound } from '../../src/http/outbound.js';
import { fetchCalendar } from '../../src/modules/calendars/fetch.js';
import { createGuardedFetch, type FetchRecord } from '../../src/modules/calendars/guarded-fetch.js';

// Hardening round three, finding 3: the address rules were a DNS lookup hook, which Node never
// calls for an address written as a literal. A redirect to https://127.0.0.1:…, [::1],
// [::ffff:127.0.0.1], 0.0.0.0, 127.1 or 2130706433 connected, and so did a CalDAV href to one, with
// the account's credentials. Every outbound request now goes through openOutbound, which checks
// the address it connects to, whatever form the host takes. Every address here is this machine's:
// the test counts connections that must never arrive.

/** A TCP listener on loopback that counts the connections it is offered (and answers none). */
let target: Server;
let targetPort: number;
let connections = 0;
/** An allowed host's server, whose answers point elsewhere. */
let origin: http.Server;
let originPort: number;

beforeAll(async () => {
  target = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  // Both loopbacks: '::' takes IPv4 (mapped) and IPv6 where the machine has IPv6.
  await new Promise<void>((resolve) => target.listen(0, '::', resolve));
  targetPort = (target.address() as AddressInfo).port;
  origin = http.createServer((request, response) => {
    const to = new URL(request.url ?? '/', 'http://localhost').searchParams.get('to') ?? '';
    response.writeHead(302, { location: to });
    response.end();
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originPort = (origin.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => target.close(resolve));
  await new Promise((resolve) => origin.close(resolve));
});

/** The forms of this machine's address the attack used, each on the counting listener's port. */
const literals = () => [
  `https://127.0.0.1:${targetPort}/calendar.ics`,
  `https://[::1]:${targetPort}/calendar.ics`,
  `https://[::ffff:127.0.0.1]:${targetPort}/calendar.ics`,
  `https://0.0.0.0:${targetPort}/calendar.ics`,
  `https://127.1:${targetPort}/calendar.ics`,
  `https://2130706433:${targetPort}/calendar.ics`,
];

describe('every outbound request is checked where it connects', () => {
  it('refuses each literal form of this machine before a socket opens (webhooks use the same call)', () => {
    for (const address of literals()) {
      expect(() => openOutbound(new URL(address), { method: 'POST' }, false), address).toThrow(OutboundRefused);
    }
    expect(connections).toBe(0);
  });

  it('refuses a calendar address, and a redirect from an allowed host, to any of them', async () => {
    for (const address of literals()) {
      await expect(fetchCalendar(address, {}, []), address).rejects.toMatchObject({ code: 'forbidden_address' });
      // Only `localhost` is allowed: its redirect to a literal address is checked as its own hop.
      const redirect = `http://localhost:${originPort}/?to=${encodeURIComponent(address)}`;
      await expect(fetchCalendar(redirect, {}, ['localhost']), redirect).rejects.toMatchObject({
        code: 'forbidden_address',
      });
    }
    expect(connections).toBe(0);
  });

  it("refuses a CalDAV server's redirect or href to any of them, so its credentials go nowhere", async () => {
    const record: FetchRecord = { statuses: [], errors: [] };
    const guarded = createGuardedFetch(['localhost'], record);
    for (const address of literals()) {
      const init = { method: 'PROPFIND', headers: { authorization: 'Basic dXNlcjpzZWNyZXQ=' } };
      await expect(guarded(address, init), address).rejects.toMatchObject({ code: 'forbidden_address' });
      const redirect = `http://localhost:${originPort}/?to=${encodeURIComponent(address)}`;
      await expect(guarded(redirect, init), redirect).rejects.toMatchObject({ code: 'forbidden_address' });
    }
    expect(connections).toBe(0);
  });

  it('still reaches an allowed host by name', async () => {
    const record: FetchRecord = { statuses: [], errors: [] };
    const answer = await createGuardedFetch(['localhost'], record)(`http://localhost:${originPort}/?to=`, {
      redirect: 'manual',
    });
    expect(answer.status).toBe(302);
  });
});
