import { simpleParser } from 'mailparser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_SIGN_IN_ADDRESS, TEST_DEVELOPMENT_CODE } from '../helpers/app.js';
import { expectAccessible, launchBrowser, settled, startWebApp, type WebContext } from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Web pages, part 1: sessions, CSRF, redirects, other people's bookings, races and emailed sign-in.

let web: WebContext;
let browser: Browser;
let librarian: { id: string; email: string };
const NOW = '2027-03-16T08:00:00Z';

beforeAll(async () => {
  web = await startWebApp({ now: NOW, env: { SIGN_IN_EMAIL_DOMAINS: 'student.uni.example', LOG_LEVEL: 'error' } });
  librarian = await createLibrarianWithWeek(web.t, { email: 'kath@library.uni.example', name: 'Katherine Johnson' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function mailTo(address: string) {
  const mails = await Promise.all(web.sink.received.map((raw) => simpleParser(raw)));
  return mails.find((mail) => {
    const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
    return to?.value[0]?.address === address;
  });
}

/** A raw client with its own cookie jar, for what a browser would not do by itself. */
function client() {
  // As a browser that opened the development sign-in address npm start prints.
  const jar = new Map<string, string>([['liaison_dev', TEST_DEVELOPMENT_CODE]]);
  const request = async (method: 'GET' | 'POST', url: string, form?: Record<string, string>) => {
    const response = await fetch(`${web.baseUrl}${url}`, {
      method,
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        ...(jar.size > 0 ? { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const set of response.headers.getSetCookie()) {
      const [pair = ''] = set.split(';');
      const index = pair.indexOf('=');
      if (pair.slice(index + 1) === '') jar.delete(pair.slice(0, index));
      else jar.set(pair.slice(0, index), pair.slice(index + 1));
    }
    const session = jar.get('liaison_session');
    return {
      status: response.status,
      location: response.headers.get('location'),
      body: await response.text(),
      cookie: session ? `liaison_session=${session}` : '',
    };
  };
  return {
    request,
    /** The session cookie, as a Cookie header ('' before sign-in). */
    get cookie() {
      const session = jar.get('liaison_session');
      return session ? `liaison_session=${session}` : '';
    },
    async csrf(url = '/sign-in') {
      const page = await request('GET', url);
      return /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] as string;
    },
  };
}

describe('sessions and forms', () => {
  it('refuses a form without its CSRF token, or with a wrong one, and signs nobody in', async () => {
    const visitor = client();
    const token = await visitor.csrf();
    const missing = await visitor.request('POST', '/sign-in/development', {
      email: 'x@student.uni.example',
      role: 'student',
    });
    expect(missing.status).toBe(403);
    expect(missing.body).toContain('This form has expired or did not come from this site');
    const wrong = await visitor.request('POST', '/sign-in/development', {
      _csrf: `${token.slice(0, -2)}xx`,
      email: 'x@student.uni.example',
      role: 'student',
    });
    expect(wrong.status).toBe(403);
    expect((await visitor.request('GET', '/bookings')).status).toBe(303);
  });

  it('gives a new session id at sign-in, so an id planted before it is worthless', async () => {
    const visitor = client();
    const token = await visitor.csrf();
    const before = visitor.cookie;
    const signedIn = await visitor.request('POST', '/sign-in/development', {
      _csrf: token,
      email: 'fixed@student.uni.example',
      role: 'student',
      next: '/bookings',
    });
    expect(signedIn.status).toBe(303);
    expect(visitor.cookie).not.toBe(before);
    expect(signedIn.cookie).toMatch(/^liaison_session=[\w-]{43}$/);
    // The planted id no longer opens anything signed in.
    const planted = await fetch(`${web.baseUrl}/bookings`, {
      redirect: 'manual',
      headers: { cookie: before, accept: 'text/html' },
    });
    expect(planted.status).toBe(303);
    expect((await visitor.request('GET', '/bookings')).status).toBe(200);
  });

  it("keeps a visitor's CSRF token in a signed cookie, and the session cookie HttpOnly and SameSite=Lax, expiring it on the server", async () => {
    const response = await fetch(`${web.baseUrl}/sign-in`, { headers: { accept: 'text/html' } });
    expect(response.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^liaison_csrf=[\w-]{43}\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/),
    ]);
    const visitor = client();
    const token = await visitor.csrf();
    const signedIn = await visitor.request('POST', '/sign-in/development', {
      _csrf: token,
      email: 'late@student.uni.example',
      role: 'student',
    });
    expect(signedIn.status).toBe(303);
    expect((await visitor.request('GET', '/bookings')).status).toBe(200);
    web.t.clock.set('2027-03-16T20:00:01Z');
    try {
      expect((await visitor.request('GET', '/bookings')).status).toBe(303);
    } finally {
      web.t.clock.set(NOW);
    }
  });

  it.each(['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)'])(
    'refuses to redirect to %s after sign-in, going home instead',
    async (next) => {
      const visitor = client();
      const token = await visitor.csrf();
      const response = await visitor.request('POST', '/sign-in/development', {
        _csrf: token,
        email: 'redirect@student.uni.example',
        role: 'student',
        next,
      });
      expect(response.status).toBe(303);
      expect(response.location).toBe('/');
    },
  );

  it("answers another student's booking page with a 404 page, never a 403 or its details", async () => {
    const booked = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await web.t.auth('student', { sub: 'idp|owner', email: 'owner@student.uni.example', name: 'Owner' }),
      payload: { librarianId: librarian.id, start: '2027-03-22T09:00:00Z', topic: 'Private topic' },
    });
    const visitor = client();
    const token = await visitor.csrf();
    await visitor.request('POST', '/sign-in/development', {
      _csrf: token,
      email: 'nosy@student.uni.example',
      role: 'student',
    });
    const page = await visitor.request('GET', `/bookings/${booked.json().id}`);
    expect(page.status).toBe(404);
    expect(page.body).toContain('Page not found');
    expect(page.body).not.toContain('Private topic');
  });

  it('shows a readable error page with a request id for an unknown page, never JSON', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB' });
    const page = await context.newPage();
    const response = await page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    expect(response?.headers()['content-type']).toContain('text/html');
    await settled(page);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Page not found');
    expect(await page.locator('main code').textContent()).toMatch(/^[0-9a-f-]{36}$/);
    await expectAccessible(page, 'not found');
    await context.close();
  });
});

describe('signing in by emailed link', () => {
  it('sends a one-time link to an allowed address, signs in with it once, and never says whether an address exists', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/sign-in?next=/bookings');
    await settled(page);
    await page.getByLabel('University email address').fill('linda@student.uni.example');
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Check your email');
    await expectAccessible(page, 'check your email');
    web.sink.received.length = 0;
    await web.worker.runOnce();
    const mail = await mailTo('linda@student.uni.example');
    expect(mail?.subject).toBe('Your sign-in link for library appointments');
    const link = new RegExp(`${web.baseUrl}/sign-in/link\\?token=[\\w-]{43}`).exec(mail?.text ?? '')?.[0] as string;
    // Opening the link only asks; nothing is spent until the button is pressed.
    await page.goto(link);
    await settled(page);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in as l…@student.uni.example?');
    await expectAccessible(page, 'sign in by link');
    await page.getByRole('button', { name: 'Sign in as l…@student.uni.example' }).click();
    await page.waitForURL(`${web.baseUrl}/bookings`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('My bookings');
    // Used once: the same link now explains itself and signs nobody in.
    const again = await context.newPage();
    const response = await again.goto(link);
    expect(response?.status()).toBe(410);
    expect(await again.getByRole('heading', { level: 1 }).textContent()).toBe('That sign-in link no longer works');
    await context.close();
  });

  it('says the same for an unknown address and refuses other domains by name', async () => {
    const visitor = client();
    const token = await visitor.csrf();
    const unknown = await visitor.request('POST', '/sign-in/email', {
      _csrf: token,
      email: 'nobody@student.uni.example',
    });
    expect(unknown.status).toBe(303);
    expect(unknown.location).toBe('/sign-in/check-email');
    const elsewhere = await visitor.request('POST', '/sign-in/email', { _csrf: token, email: 'someone@gmail.example' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body).toContain('Use your university email address (ending in student.uni.example)');
  });

  it('expires a link after 15 minutes', async () => {
    const visitor = client();
    const token = await visitor.csrf();
    web.sink.received.length = 0;
    await visitor.request('POST', '/sign-in/email', { _csrf: token, email: 'slow@student.uni.example' });
    await web.worker.runOnce();
    const mail = await mailTo('slow@student.uni.example');
    const link = /\/sign-in\/link\?token=[\w-]{43}/.exec(mail?.text ?? '')?.[0] as string;
    web.t.clock.set('2027-03-16T08:15:01Z');
    try {
      expect((await visitor.request('GET', link)).status).toBe(410);
    } finally {
      web.t.clock.set(NOW);
    }
  });
});

describe('two students confirming one time', () => {
  it('books it for one; the other sees that it has just been taken, with the nearest free times, keeping what they typed', async () => {
    const pages = await Promise.all(
      ['first', 'second'].map(async (who) => {
        const context = await browser.newContext({
          baseURL: web.baseUrl,
          locale: 'en-GB',
          timezoneId: 'Europe/London',
        });
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
        await settled(page);
        await page.getByLabel('Email', { exact: true }).fill(`${who}.racer@student.uni.example`);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(`${web.baseUrl}/`);
        await page.goto(`/book?librarian=${librarian.id}&start=${encodeURIComponent('2027-03-23T10:00:00.000Z')}`);
        await page.getByLabel('What would you like help with? (optional)').fill(`Topic of ${who}`);
        await page.getByRole('group', { name: 'Fee status' }).getByLabel('Home').check();
        await page.getByRole('group', { name: 'Level of study' }).getByLabel('Other').check();
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.getByRole('button', { name: 'Confirm booking' }).waitFor();
        return page;
      }),
    );
    await Promise.all(
      pages.map((page) =>
        Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Confirm booking' }).click()]),
      ),
    );
    const headings = await Promise.all(pages.map((page) => page.getByRole('heading', { level: 1 }).textContent()));
    expect([...headings].sort()).toEqual(['Book your session', 'Booking confirmed']);
    const loser = pages[headings.indexOf('Book your session')] as (typeof pages)[number];
    const alert = loser.getByRole('alert');
    expect(await alert.getByRole('heading').textContent()).toBe('That time has just been taken');
    await expectAccessible(loser, 'slot just taken');
    const nearest = loser.getByRole('group', { name: 'Choose one of the nearest free times' }).getByRole('radio');
    const names = await nearest.evaluateAll((radios) => radios.map((radio) => radio.labels?.[0]?.textContent ?? ''));
    expect(names).toContain('Tuesday, 23 March 2027, 09:00 Greenwich Mean Time');
    expect(names).toContain('Tuesday, 23 March 2027, 11:00 Greenwich Mean Time');
    expect(names).not.toContain('Tuesday, 23 March 2027, 10:00 Greenwich Mean Time');
    const typed = await loser.getByLabel('What would you like help with? (optional)').inputValue();
    expect(typed).toMatch(/^Topic of (first|second)$/);
    // Choosing a nearby time goes on from there, with everything typed still there.
    await loser.getByLabel('Tuesday, 23 March 2027, 11:00 Greenwich Mean Time').check();
    await loser.getByRole('button', { name: 'Continue' }).click();
    expect(await loser.getByRole('heading', { level: 1 }).textContent()).toBe('Check your booking');
    expect(await loser.locator('main').textContent()).toContain(typed);
    for (const page of pages) await page.context().close();
  });
});
