import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signToken, TEST_JWT_SECRET, type TestContext } from '../helpers/app.js';

let t: TestContext;
let jwksServer: Server;
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const ISSUER = 'https://idp.example.ac.uk';
const AUDIENCE = 'liaison';

beforeAll(async () => {
  const keys = await generateKeyPair('RS256');
  privateKey = keys.privateKey;
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((_, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const { port } = jwksServer.address() as AddressInfo;
  t = await createTestApp({
    env: {
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
      AUTH_ISSUER: ISSUER,
      AUDIENCE,
      AUTH_AUDIENCE: AUDIENCE,
    },
  });
});
afterAll(async () => {
  await t.close();
  jwksServer.close();
});

const adminOnly = { method: 'POST' as const, url: '/api/v1/librarians', payload: { email: 'x@uni.ac.uk', name: 'X' } };

function ssoToken(
  claims: Record<string, unknown>,
  options: { issuer?: string; audience?: string; lifetimeSeconds?: number } = {},
) {
  const issuedAt = Math.floor(t.clock.now().getTime() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject('idp|12345')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (options.lifetimeSeconds ?? 600))
    .sign(privateKey);
}

describe('authentication', () => {
  it('answers 401 with a problem and WWW-Authenticate when no token is sent', async () => {
    const response = await t.app.inject(adminOnly);
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toMatchObject({ status: 401, code: 'unauthenticated', title: 'Not signed in' });
  });

  it('answers 401 for a token signed with another secret', async () => {
    const forged = await signToken(
      'another-secret-that-is-long-enough-0123456789',
      ['admin'],
      {},
      { now: t.clock.now() },
    );
    const response = await t.app.inject({ ...adminOnly, headers: { authorization: `Bearer ${forged}` } });
    expect(response.statusCode).toBe(401);
    expect(response.json().detail).toBe('The token is not valid.');
  });

  it('answers 401 for an expired token, saying so', async () => {
    const expired = await signToken(TEST_JWT_SECRET, ['admin'], {}, { now: t.clock.now(), lifetimeSeconds: -60 });
    const response = await t.app.inject({ ...adminOnly, headers: { authorization: `Bearer ${expired}` } });
    expect(response.statusCode).toBe(401);
    expect(response.json().detail).toContain('expired');
  });

  it('answers 401 for a malformed Authorization header and for an unsigned token', async () => {
    const basic = await t.app.inject({ ...adminOnly, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } });
    expect(basic.statusCode).toBe(401);
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'x', role: 'admin', exp: 9999999999 })).toString('base64url');
    const unsigned = await t.app.inject({ ...adminOnly, headers: { authorization: `Bearer ${header}.${body}.` } });
    expect(unsigned.statusCode).toBe(401);
  });

  it('answers 403 when the role does not allow it', async () => {
    for (const role of ['student', 'librarian', 'analyst'] as const) {
      const response = await t.app.inject({ ...adminOnly, headers: await t.auth(role) });
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('forbidden');
    }
  });

  it('accepts a role given in a roles array', async () => {
    const response = await t.app.inject({ ...adminOnly, headers: await t.auth(['student', 'admin']) });
    expect(response.statusCode).toBe(201);
  });

  it('lets a public route through even with a stale token', async () => {
    const expired = await signToken(TEST_JWT_SECRET, ['student'], {}, { now: t.clock.now(), lifetimeSeconds: -60 });
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/librarians',
      headers: { authorization: `Bearer ${expired}` },
    });
    expect(response.statusCode).toBe(200);
  });
});

describe('tokens verified before', () => {
  const ownBookings = (token: string) =>
    t.app.inject({ method: 'GET', url: '/api/v1/bookings', headers: { authorization: `Bearer ${token}` } });

  it('refuses a token it accepted once it has expired', async () => {
    const started = t.clock.now();
    const token = await signToken(
      TEST_JWT_SECRET,
      ['student'],
      { sub: 'remembered|1' },
      { now: started, lifetimeSeconds: 60 },
    );
    try {
      expect((await ownBookings(token)).statusCode).toBe(200);
      t.clock.set(new Date(started.getTime() + 59_000));
      expect((await ownBookings(token)).statusCode).toBe(200);
      t.clock.set(new Date(started.getTime() + 60_000));
      const late = await ownBookings(token);
      expect(late.statusCode).toBe(401);
      expect(late.json().detail).toContain('expired');
    } finally {
      t.clock.set(started);
    }
  });

  it('refuses a token that differs from an accepted one only in its signature', async () => {
    const token = await signToken(TEST_JWT_SECRET, ['student'], { sub: 'remembered|2' }, { now: t.clock.now() });
    expect((await ownBookings(token)).statusCode).toBe(200);
    const [header, body, signature] = token.split('.') as [string, string, string];
    const bytes = Buffer.from(signature, 'base64url');
    bytes[0] = (bytes[0] as number) ^ 1;
    const altered = await ownBookings(`${header}.${body}.${bytes.toString('base64url')}`);
    expect(altered.statusCode).toBe(401);
    expect(altered.json().detail).toBe('The token is not valid.');
  });
});

describe('institutional sign-in (JWKS)', () => {
  it('accepts an RS256 token from the configured issuer and audience', async () => {
    const token = await ssoToken({ email: 'admin@uni.ac.uk', roles: ['admin'] });
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/librarians',
      headers: { authorization: `Bearer ${token}` },
      payload: { email: 'sso@uni.ac.uk', name: 'Via SSO' },
    });
    expect(response.statusCode).toBe(201);
  });

  it('refuses a token for another audience or from another issuer', async () => {
    for (const options of [{ audience: 'other-app' }, { issuer: 'https://evil.example' }]) {
      const token = await ssoToken({ roles: ['admin'] }, options);
      const response = await t.app.inject({ ...adminOnly, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode).toBe(401);
    }
  });
});
