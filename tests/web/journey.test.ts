import { simpleParser } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchBrowser, settled, startWebApp, type WebContext } from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Web pages, part 1: the student's journey in a real browser (Debian's chromium).

let web: WebContext;
let browser: Browser;
let librarian: { id: string; email: string };
// Saturday 20 March 2027, 08:00 UTC: London is on GMT until the 28th.
const NOW = '2027-03-20T08:00:00Z';

beforeAll(async () => {
  web = await startWebApp({ now: NOW });
  librarian = await createLibrarianWithWeek(web.t, {
    email: 'ada@library.uni.example',
    name: 'Ada Lovelace',
    maxCompanions: 2,
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function newPage(options: { timezoneId?: string; locale?: string; javaScriptEnabled?: boolean } = {}) {
  const context = await browser.newContext({
    baseURL: web.baseUrl,
    timezoneId: options.timezoneId ?? 'Europe/London',
    locale: options.locale ?? 'en-GB',
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  return context.newPage();
}

async function signIn(page: Page, email: string, role = 'Student', javaScript = true) {
  await page.goto('/sign-in');
  await settled(page, javaScript);
  await expectAccessible(page, 'sign-in');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel(role, { exact: true }).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${web.baseUrl}/`);
}

async function mailsTo(address: string) {
  const parsed = await Promise.all(web.sink.received.map((raw) => simpleParser(raw)));
  return parsed.filter((mail) => {
    const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
    return to?.value[0]?.address === address;
  });
}

describe('the student journey', () => {
  it('signs in, books with a friend, sees the confirmation, and the three emails go out', async () => {
    const page = await newPage();
    await page.goto('/');
    await settled(page);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Find a librarian');
    await expectAccessible(page, 'home');
    await signIn(page, 'wei@student.uni.example');

    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await expectAccessible(page, 'choose a time');
    await page
      .getByRole('radio', { name: 'Tuesday, 23 March 2027, 09:00 Greenwich Mean Time, In person, Online' })
      .check();
    await page.getByRole('button', { name: 'Continue' }).click();

    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Book your session');
    await expectAccessible(page, 'book form');
    await page.getByLabel('What would you like help with? (optional)').fill('Finding sources on climate policy');
    await page.getByLabel('Online').check();
    await page.getByLabel("Friend's name").first().fill('Amira Haddad');
    await page.getByLabel("Friend's email (optional)").first().fill('amira@student.uni.example');
    await page.getByRole('group', { name: 'Fee status' }).getByLabel('International').check();
    await page.getByRole('group', { name: 'Level of study' }).getByLabel('Prefer not to say').check();
    await page.getByRole('button', { name: 'Continue' }).click();

    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Check your booking');
    await expectAccessible(page, 'check your booking');
    expect(await page.locator('main').textContent()).toContain('Amira Haddad (amira@student.uni.example)');
    await page.getByRole('button', { name: 'Confirm booking' }).click();

    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Booking confirmed');
    await expectAccessible(page, 'confirmation');
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('Tuesday, 23 March 2027, 09:00–10:00 Greenwich Mean Time');
    expect(main).toContain('Amira Haddad');
    expect(await page.getByRole('link', { name: 'Add to my calendar (.ics)' }).getAttribute('href')).toMatch(
      /^\/bookings\/[0-9a-f-]{36}\/calendar\.ics$/,
    );

    expect(await web.worker.runOnce()).toMatchObject({ sent: 3, failed: 0 });
    expect(await mailsTo('wei@student.uni.example')).toHaveLength(1);
    expect(await mailsTo('amira@student.uni.example')).toHaveLength(1);
    expect(await mailsTo('ada@library.uni.example')).toHaveLength(1);
    const [own] = await mailsTo('wei@student.uni.example');
    expect(own?.text).toMatch(new RegExp(`${web.baseUrl}/bookings/[0-9a-f-]{36}\\?token=[\\w-]+`));
    await page.context().close();
  });
});
