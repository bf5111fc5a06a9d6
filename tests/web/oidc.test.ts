import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchBrowser, settled, startWebApp, type WebContext } from '../helpers/browser.js';

// Web pages, part 1: single sign-on against a real OpenID provider (oidc-provider, the reference
// implementation) started here on loopback, with its development login and consent pages.

let web: WebContext;
let browser: Browser;
let providerServer: Server;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  // The provider needs the app's callback URL and the app the provider's issuer: reserve both ports.
  providerServer = createServer();
  const providerPort = await listen(providerServer);
  const issuer = `http://127.0.0.1:${providerPort}`;
  web = await startWebApp({
    env: {
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: 'liaison',
      OIDC_CLIENT_SECRET: 'a-client-secret-for-tests-only',
      OIDC_DEFAULT_ROLE: 'none',
    },
  });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'liaison',
        client_secret: 'a-client-secret-for-tests-only',
        redirect_uris: [`${web.baseUrl}/sign-in/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email'], profile: ['name', 'roles'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    async findAccount(_context, sub) {
      return {
        accountId: sub,
        async claims() {
          const isLibrarian = sub.startsWith('librarian-');
          return {
            sub,
            email: `${sub}@uni.example`,
            name: sub === 'norole' ? 'No Role' : `Person ${sub}`,
            roles: sub === 'norole' ? ['visitor'] : [isLibrarian ? 'librarian' : 'student'],
          };
        },
      };
    },
  });
  providerServer.on('request', provider.callback());
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
  await new Promise((resolve) => providerServer?.close(resolve));
});

/** Signs in at the provider's development login (any login, no password) and gives consent. */
async function throughProvider(page: Page, login: string) {
  await page.waitForURL(/127\.0\.0\.1:\d+\/interaction\//);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  await page.waitForLoadState('load');
  const consent = page.locator('button[type="submit"]');
  if (page.url().includes('/interaction/') && (await consent.count()) > 0) await consent.click();
}

describe('single sign-on with the institution’s OpenID provider', () => {
  it('signs a student in with authorization code and PKCE, and brings them back where they were going', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/sign-in?next=/bookings');
    await settled(page);
    expect(await page.getByRole('heading', { name: 'Development sign-in' }).count()).toBe(0);
    await expectAccessible(page, 'sign-in with single sign-on');
    let authorizeUrl = '';
    page.on('request', (request) => {
      if (request.url().includes('/auth?')) authorizeUrl = request.url();
    });
    await page.getByRole('button', { name: 'Sign in with your university account' }).click();
    await throughProvider(page, 'wen');
    await page.waitForURL(`${web.baseUrl}/bookings`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('My bookings');
    const params = new URL(authorizeUrl).searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(params.get('state')).toMatch(/^[\w-]{43}$/);
    expect(params.get('nonce')).toMatch(/^[\w-]{43}$/);
    await context.close();
  });

  it('refuses a callback with a wrong state, and a replayed code, signing nobody in', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/sign-in');
    await settled(page);
    // A sign-on in progress, answered with a state it never sent.
    await page.getByRole('button', { name: 'Sign in with your university account' }).click();
    await page.waitForURL(/\/interaction\//);
    const forged = await page.goto(`/sign-in/oidc/callback?code=forged-code&state=${'x'.repeat(43)}`);
    expect(forged?.status()).toBe(400);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign-in did not work');
    await expectAccessible(page, 'sign-in refused');

    // A genuine sign-on, then its callback (code and state) replayed.
    let callback = '';
    page.on('request', (request) => {
      if (request.url().includes('/sign-in/oidc/callback?')) callback = request.url();
    });
    await page.goto('/sign-in');
    await page.getByRole('button', { name: 'Sign in with your university account' }).click();
    await throughProvider(page, 'replayer');
    await page.waitForURL(`${web.baseUrl}/`);
    expect(callback).toContain('code=');
    await page.getByRole('button', { name: 'Sign out' }).click();
    const replay = await page.goto(callback);
    expect(replay?.status()).toBe(400);
    await page.goto('/bookings');
    expect(page.url()).toContain('/sign-in?next=');
    await context.close();
  });

  it('refuses a sign-on that took longer than ten minutes', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/sign-in');
    await settled(page);
    await page.getByRole('button', { name: 'Sign in with your university account' }).click();
    await page.waitForURL(/\/interaction\//);
    const startedAt = web.t.clock.now();
    web.t.clock.set(new Date(startedAt.getTime() + 11 * 60_000));
    try {
      await throughProvider(page, 'slowpoke');
      await page.waitForURL(/\/sign-in\/oidc\/callback/);
      expect(await page.locator('main p').first().textContent()).toBe(
        'That sign-in took too long, or was already used. Start again.',
      );
    } finally {
      web.t.clock.set(startedAt);
    }
    await context.close();
  });

  it('refuses an account whose role claim names no role here', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/sign-in');
    await settled(page);
    await page.getByRole('button', { name: 'Sign in with your university account' }).click();
    await throughProvider(page, 'norole');
    await page.waitForURL(/\/sign-in\/oidc\/callback/);
    expect(await page.locator('main p').first().textContent()).toBe(
      'Your university account is not set up to use library appointments. Contact the library.',
    );
    await context.close();
  });
});
