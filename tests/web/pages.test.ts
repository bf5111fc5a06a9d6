import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { loadCatalogues, MESSAGES_DIR } from '../../src/text/i18n.js';
import { fixedClock } from '../../src/time/clock.js';
import { DEVELOPMENT_SIGN_IN_ADDRESS, TEST_JWT_SECRET } from '../helpers/app.js';
import {
  expectAccessible,
  launchBrowser,
  settled,
  signedInPage,
  startWebApp,
  type WebContext,
} from '../helpers/browser.js';
import { createTestDatabase } from '../helpers/db.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Web pages, part 1: the pages not on the booking path, and the message catalogue.

describe('the message catalogue', () => {
  it('takes a new language from one more file, falling back to English for what it lacks', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'liaison-messages-'));
    writeFileSync(path.join(folder, 'en.json'), readFileSync(path.join(MESSAGES_DIR, 'en.json')));
    // A second language: Welsh, for two of the home page's lines.
    writeFileSync(
      path.join(folder, 'cy.json'),
      JSON.stringify({ 'home.title': 'Dod o hyd i lyfrgellydd', 'nav.signIn': 'Mewngofnodi' }),
    );
    const database = await createTestDatabase();
    const app = await buildApp({
      db: database.handle.db,
      clock: fixedClock('2027-03-16T08:00:00Z'),
      config: loadConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent' }),
      messagesDir: folder,
    });
    try {
      const welsh = await app.inject({
        method: 'GET',
        url: '/',
        headers: { accept: 'text/html', 'accept-language': 'cy-GB,cy;q=0.9,en;q=0.5' },
      });
      expect(welsh.body).toContain('<html lang="cy" dir="ltr">');
      expect(welsh.body).toContain('<h1>Dod o hyd i lyfrgellydd</h1>');
      expect(welsh.body).toContain('>Mewngofnodi</a>');
      // Not translated yet: English.
      expect(welsh.body).toContain('Skip to main content');
      const english = await app.inject({
        method: 'GET',
        url: '/',
        headers: { accept: 'text/html', 'accept-language': 'fr-FR,fr' },
      });
      expect(english.body).toContain('<h1>Find a librarian</h1>');
    } finally {
      await app.close();
      await database.drop();
    }
  });

  it('has every message the templates and routes use', () => {
    const catalogue = JSON.parse(readFileSync(path.join(MESSAGES_DIR, 'en.json'), 'utf8')) as Record<string, string>;
    const translate = loadCatalogues().translator('en');
    const srcDir = path.resolve(MESSAGES_DIR, '../..');
    const sources = [
      ...['layout', 'student', 'sign-in', 'staff', 'admin', 'analytics', 'feedback'].map((area) => `web/${area}`),
      // Emails and calendar files: every word of them comes from the catalogue too.
      'modules/notifications',
      'modules/calendar',
    ]
      .flatMap((folder) => {
        const dir = path.join(srcDir, folder);
        return readdirSync(dir)
          .filter((file: string) => /\.(eta|ts)$/.test(file))
          .map((file: string) => readFileSync(path.join(dir, file), 'utf8'));
      })
      .join('\n');
    const keys = [...sources.matchAll(/\bt\('([a-zA-Z]+\.[\w.]+)'/g)].map((match) => match[1] as string);
    expect(keys.length).toBeGreaterThan(100);
    for (const key of new Set(keys)) {
      // t('mode.' + mode): a prefix of keys made at run time; some key must start with it.
      if (key.endsWith('.'))
        expect(
          Object.keys(catalogue).some((known) => known.startsWith(key)),
          key,
        ).toBe(true);
      // A message with plural forms has key.other (and the language's other forms) instead.
      else expect(catalogue[key] ?? catalogue[`${key}.other`], key).toBeDefined();
    }
    expect(() => translate('no.such.message')).toThrow('Message "no.such.message" is not in the catalogue');
  });
});

describe('pages beside the booking path', () => {
  let web: WebContext;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebApp({
      now: '2027-03-16T08:00:00Z',
      env: { LIBRARY_CONTACT_EMAIL: 'help@library.uni.example' },
    });
    await createLibrarianWithWeek(web.t, { email: 'mary@library.uni.example', name: 'Mary Somerville' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('lists my bookings, upcoming and past, each linking to its page', async () => {
    const librarians = (await web.t.app.inject({ method: 'GET', url: '/api/v1/librarians' })).json().librarians;
    const headers = await web.t.auth('student', {
      sub: 'dev:list@student.uni.example',
      email: 'list@student.uni.example',
    });
    const booked = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers,
      payload: { librarianId: librarians[0].id, start: '2027-03-17T10:00:00Z' },
    });
    expect(booked.statusCode).toBe(201);
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', timezoneId: 'Europe/London' });
    // As a developer's browser that opened the address npm start prints.
    await context.request.get(DEVELOPMENT_SIGN_IN_ADDRESS, { maxRedirects: 0 });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/sign-in?next=/bookings');
    await settled(page);
    await page.getByLabel('Email', { exact: true }).fill('list@student.uni.example');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.baseUrl}/bookings`);
    await expectAccessible(page, 'my bookings');
    const link = page.getByRole('link', { name: 'Wednesday, 17 March 2027, 10:00–11:00 Greenwich Mean Time' });
    expect(await link.getAttribute('href')).toBe(`/bookings/${booked.json().id}`);
    await page.goto('/accessibility');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Accessibility statement');
    await expectAccessible(page, 'accessibility statement');
    await context.close();
  });

  it('says, before a time is chosen, how long sessions are, how far ahead, which days are closed and the booking limit', async () => {
    const librarians = (await web.t.app.inject({ method: 'GET', url: '/api/v1/librarians' })).json().librarians;
    const mary = librarians.find((entry: { name: string }) => entry.name === 'Mary Somerville').id as string;
    const closure = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/closures',
      headers: await web.t.auth('admin'),
      payload: { from: '2027-03-26', to: '2027-03-26', reason: 'Staff training' },
    });
    expect(closure.statusCode, closure.body).toBe(201);
    const headers = await web.t.auth('student', {
      sub: 'dev:full@student.uni.example',
      email: 'full@student.uni.example',
    });
    for (const start of ['2027-03-18T09:00:00Z', '2027-03-18T10:00:00Z', '2027-03-18T11:00:00Z']) {
      const booked = await web.t.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers,
        payload: { librarianId: mary, start },
      });
      expect(booked.statusCode, booked.body).toBe(201);
    }
    const page = await signedInPage(browser, web.baseUrl, 'full@student.uni.example', 'Student');
    await page.goto(`/librarians/${mary}`);
    const main = async () => (await page.locator('main').textContent()) ?? '';
    expect(await main()).toContain('Each session lasts 60 minutes.');
    expect(await main()).toContain('The library is closed on these days, so there are no times then:');
    expect(await main()).toContain('Friday, 26 March 2027 (Staff training)');
    // BOOKING_LIMIT_PER_STUDENT is 3 unless set: said now, not after Confirm.
    expect(await main()).toContain('You already have 3 upcoming sessions, the most you can have at once.');
    // 16 March 2027 and the librarian's 90 days ahead: Monday 14 June 2027.
    expect(await main()).toContain('Times can be booked up to Monday, 14 June 2027; later times open day by day.');
    await expectAccessible(page, 'times with a closure and the limit reached');
    await page.goto(`/librarians/${mary}?from=2027-05-24`);
    expect(await page.getByRole('link', { name: 'Later weeks' }).count()).toBe(1);
    await page.goto(`/librarians/${mary}?from=2027-05-25`);
    expect(await page.getByRole('link', { name: 'Later weeks' }).count()).toBe(0);
    await page.goto(`/book?librarian=${mary}&start=${encodeURIComponent('2027-03-19T09:00:00.000Z')}`);
    expect(await main()).toContain('You already have 3 upcoming sessions, the most you can have at once.');
    await page.context().close();
  });

  it('states accessibility with a contact, compliance status and date, and links the privacy notice from every page', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', timezoneId: 'Europe/London' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/accessibility');
    await settled(page);
    const statement = (await page.locator('main').textContent()) ?? '';
    expect(statement).toContain(
      'This service is fully compliant with the Web Content Accessibility Guidelines version 2.2, level AA.',
    );
    expect(statement).toContain('This statement was prepared and last reviewed on Friday, 4 December 2026.');
    expect(await page.getByRole('link', { name: 'help@library.uni.example' }).getAttribute('href')).toBe(
      'mailto:help@library.uni.example',
    );
    await page.getByRole('link', { name: 'Privacy notice' }).click();
    await page.waitForURL(`${web.baseUrl}/privacy`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Privacy notice');
    // The retention it promises is the setting's (RETENTION_MONTHS, 24 unless set).
    expect((await page.locator('main').textContent()) ?? '').toContain('24 months after a session');
    await expectAccessible(page, 'privacy notice');
    await context.close();
  });

  it('keeps the list of time zones to its own page: every other page names the zone in its footer', async () => {
    const home = await (await fetch(`${web.baseUrl}/`, { headers: { accept: 'text/html' } })).text();
    expect(home).not.toContain('value="Asia/Kolkata"');
    expect(home).toContain('Times are shown in Greenwich Mean Time (UTC).');
    const choice = await (await fetch(`${web.baseUrl}/time-zone?next=/`, { headers: { accept: 'text/html' } })).text();
    expect(choice).toContain('<option value="Asia/Kolkata">Kolkata – India Standard Time (UTC+05:30)</option>');
    // The whole list (over 400 zones) is its page's weight, not every page's: the home page stays small.
    expect(Buffer.byteLength(choice) - Buffer.byteLength(home)).toBeGreaterThan(20_000);
    expect(Buffer.byteLength(home)).toBeLessThan(8_000);
  });

  it('serves pages with a strict Content-Security-Policy and no inline script or style', async () => {
    const response = await fetch(`${web.baseUrl}/`, { headers: { accept: 'text/html' } });
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[\w.-]+\/[\w./-]*\.(css|js)/);
  });
});
