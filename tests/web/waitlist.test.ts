import { simpleParser } from 'mailparser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/services.js';
import {
  expectAccessible,
  launchBrowser,
  signedInPage,
  startWebApp,
  tabTo,
  type WebContext,
} from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Monday 1 March 2027, 08:00 in London; Ada's one time that week is Wednesday 3 March at 10:00.
const NOW = '2027-03-01T08:00:00Z';

describe('waiting for a time, in a real browser', () => {
  let web: WebContext;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebApp({ now: NOW });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('joins the waitlist without JavaScript, then takes the freed time from the email in one click', async () => {
    const ada = await createLibrarianWithWeek(web.t, {
      email: 'ada@library.uni.example',
      name: 'Ada Lovelace',
      weekly: [{ weekday: 3, start: '10:00', end: '11:00' }],
    });
    const holder = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await web.t.auth('student', { sub: 'idp|holder', email: 'holder@student.uni.example' }),
      payload: { librarianId: ada.id, start: '2027-03-03T10:00:00Z' },
    });
    expect(holder.statusCode, holder.body).toBe(201);

    const page = await signedInPage(browser, web.baseUrl, 'wei@student.uni.example', 'Student', {
      javaScriptEnabled: false,
    });
    await page.goto(`/librarians/${ada.id}`);
    await page
      .getByRole('link', { name: 'No time suits you? Wait for one: we will email you when one frees up.' })
      .click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Wait for a time with Ada Lovelace');
    await expectAccessible(page, 'join the waitlist', { javaScript: false });
    // A last day before the first is refused by name.
    await page.getByLabel('Last day that would suit you').fill('2027-02-27');
    await page.getByRole('button', { name: 'Wait for a time' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('The last day must be on or after the first');
    await expectAccessible(page, 'join refused', { javaScript: false });
    await page.getByLabel('Last day that would suit you').fill('2027-03-05');
    await tabTo(page, page.getByRole('group', { name: 'Days that would suit you' }).getByLabel('Wednesday'));
    await page.keyboard.press('Space');
    await page.getByLabel('A friend to bring (optional)').fill('Amira Haddad');
    await page.getByRole('button', { name: 'Wait for a time' }).click();
    await page.waitForURL(`${web.baseUrl}/bookings?waiting=1`);
    const mine = (await page.locator('main').textContent()) ?? '';
    expect(mine).toContain('You are on the waitlist.');
    expect(mine).toContain('Ada Lovelace');
    await expectAccessible(page, 'my bookings, waiting', { javaScript: false });
    await page.context().close();

    // Ada sees that one student waits for her; an admin sees it among everyone waiting.
    const staff = await signedInPage(browser, web.baseUrl, 'ada@library.uni.example', 'Librarian');
    expect(await staff.locator('main').textContent()).toContain('1 student is waiting for a time with you.');
    await staff.context().close();
    const admin = await signedInPage(browser, web.baseUrl, 'admin@library.uni.example', 'Admin');
    await admin.goto('/admin/teams');
    const row = admin.getByRole('row', { name: /Ada Lovelace/ });
    expect(await row.getByRole('cell').allTextContents()).toEqual(['Ada Lovelace', '1']);
    await expectAccessible(admin, 'who is waiting');
    await admin.context().close();

    // The holder cancels; the next round offers the time to Wei by email.
    web.t.clock.set('2027-03-01T09:00:00Z');
    try {
      const cancelled = await web.t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${holder.json().id}/cancel`,
        headers: await web.t.auth('student', { sub: 'idp|holder', email: 'holder@student.uni.example' }),
        payload: {},
      });
      expect(cancelled.statusCode).toBe(200);
      await web.clearMail();
      const services = createServices({ db: web.t.db, clock: web.t.clock, config: web.t.config });
      expect(await services.waitlist.match()).toMatchObject({ offered: 1 });
      await web.worker.runOnce();
      const [offer] = await Promise.all(web.sink.received.map((raw) => simpleParser(raw)));
      expect(offer?.subject).toBe(
        'A time with Ada Lovelace is free: Wednesday, 3 March 2027, 10:00–11:00 Greenwich Mean Time',
      );
      const link = /http:\/\/127\.0\.0\.1:\d+(\/waitlist\/offer\?token=[\w-]+)/.exec(offer?.text ?? '')?.[1] as string;

      // The link opens in any browser, signed in or not.
      const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', javaScriptEnabled: false });
      const offerPage = await context.newPage();
      await offerPage.goto(link);
      expect(await offerPage.getByRole('heading', { level: 1 }).textContent()).toBe('A time has come up for you');
      const text = (await offerPage.locator('main').textContent()) ?? '';
      expect(text).toContain('It is held for you until Monday, 1 March 2027, 09:30 Greenwich Mean Time.');
      expect(text).toContain('Amira Haddad will be booked to come with you.');
      await expectAccessible(offerPage, 'an offer', { javaScript: false });
      await tabTo(offerPage, offerPage.getByRole('button', { name: 'Take this time' }));
      await offerPage.keyboard.press('Enter');
      await offerPage.waitForURL(/\/bookings\/[0-9a-f-]{36}\?token=/);
      expect(await offerPage.getByRole('heading', { level: 1 }).textContent()).toBe('Booking confirmed');
      expect(await offerPage.locator('main').textContent()).toContain('Amira Haddad');

      // The link again: the offer has ended.
      await offerPage.goto(link);
      expect(await offerPage.getByRole('heading', { level: 1 }).textContent()).toBe('This offer has ended');
      await expectAccessible(offerPage, 'an ended offer', { javaScript: false });
      await context.close();

      // The analyst sees the demand: one student waited for Ada, was offered a time and took it.
      const analyst = await signedInPage(browser, web.baseUrl, 'analyst@library.uni.example', 'Analyst');
      await analyst.goto('/analytics');
      await analyst.getByRole('link', { name: 'Waiting', exact: true }).click();
      await analyst.getByLabel('Joined from (YYYY-MM-DD)').fill('2027-03-01');
      await analyst.getByLabel('Joined until (YYYY-MM-DD)').fill('2027-03-31');
      await analyst.getByRole('button', { name: 'Show' }).click();
      const cells = await analyst
        .getByRole('row', { name: /Ada Lovelace/ })
        .getByRole('cell')
        .allTextContents();
      expect(cells).toEqual(['March 2027', 'Ada Lovelace', '1', '1', '1', '0']);
      await expectAccessible(analyst, 'waiting figures');
      // For sharing: HESA's rounding turns each 1 into 0, and says so.
      await analyst.getByLabel('Apply HESA disclosure control (counts rounded to the nearest 5)').check();
      await analyst.getByRole('button', { name: 'Show' }).click();
      expect(
        await analyst
          .getByRole('row', { name: /Ada Lovelace/ })
          .getByRole('cell')
          .allTextContents(),
      ).toEqual(['March 2027', 'Ada Lovelace', '0', '0', '0', '0']);
      expect(await analyst.getByText('HESA disclosure control is on').isVisible()).toBe(true);
      await expectAccessible(analyst, 'waiting figures, HESA rounding');
      await analyst.context().close();
    } finally {
      web.t.clock.set(NOW);
    }
  });
});
