import { simpleParser } from 'mailparser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAccessible,
  launchBrowser,
  signedInPage,
  startWebApp,
  tabTo,
  type WebContext,
} from '../helpers/browser.js';

// Monday 1 March 2027, noon in London.
const NOW = '2027-03-01T12:00:00Z';

describe('booking any librarian for a subject, in a real browser', () => {
  let web: WebContext;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebApp({ now: NOW });
    const admin = await web.t.auth('admin');
    for (const [email, name, maxCompanions] of [
      ['ada@library.uni.example', 'Ada Lovelace', 1],
      ['cai@library.uni.example', 'Cai Jones', 0],
    ] as const) {
      const created = await web.t.app.inject({
        method: 'POST',
        url: '/api/v1/librarians',
        headers: admin,
        payload: { email, name, subjects: ['Law'], modes: ['in_person'], location: 'Law Library' },
      });
      await web.t.app.inject({
        method: 'PUT',
        url: `/api/v1/librarians/${created.json().id}/availability`,
        headers: admin,
        payload: {
          timeZone: 'Europe/London',
          slotMinutes: 60,
          minNoticeMinutes: 60,
          horizonDays: 60,
          maxCompanions,
          weekly: [{ weekday: 3, start: '10:00', end: '11:00' }],
        },
      });
    }
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('finds Law from the home page, books a time with a friend without JavaScript, and is told who it is with', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'wei@student.uni.example', 'Student', {
      javaScriptEnabled: false,
    });
    await page.goto('/');
    expect(await page.getByRole('heading', { name: 'Book by subject' }).count()).toBe(1);
    await expectAccessible(page, 'home with subjects', { javaScript: false });
    await tabTo(page, page.getByRole('link', { name: 'Law', exact: true }));
    await page.keyboard.press('Enter');
    await page.waitForURL(`${web.baseUrl}/subjects/Law`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Any Law librarian');
    // Two librarians free on Wednesday 3 March at 10:00: one time, shown once.
    // Both meet in the Law Library: the place is said with the time.
    const times = page.getByRole('radio', {
      name: 'Wednesday, 3 March 2027, 10:00 Greenwich Mean Time, In person, Law Library',
    });
    expect(await times.count()).toBe(1);
    await expectAccessible(page, 'any Law librarian', { javaScript: false });
    await tabTo(page, times);
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Continue' }).click();

    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Book your session');
    expect(await page.locator('main').textContent()).toContain(
      'any Law librarian (you will see who when it is booked)',
    );
    await expectAccessible(page, 'book form, any librarian', { javaScript: false });
    await page.getByLabel("Friend's name").first().fill('Amira Haddad');
    await page.getByRole('group', { name: 'Fee status' }).getByLabel('International').check();
    await page.getByRole('group', { name: 'Level of study' }).getByLabel('Prefer not to say').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Check your booking');
    await page.getByRole('button', { name: 'Confirm booking' }).click();

    // Cai takes no friends, so Ada is assigned; the page and the email name her.
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Booking confirmed');
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('Ada Lovelace');
    expect(main).toContain('Wednesday, 3 March 2027, 10:00–11:00 Greenwich Mean Time');
    await expectAccessible(page, 'confirmed with the librarian assigned', { javaScript: false });
    web.sink.received.length = 0;
    await web.worker.runOnce();
    const mails = await Promise.all(web.sink.received.map((raw) => simpleParser(raw)));
    const own = mails.find((mail) => (mail.to && !Array.isArray(mail.to) ? mail.to.text : '').includes('wei@'));
    expect(own?.subject).toBe(
      'Confirmed: library session with Ada Lovelace, Wednesday, 3 March 2027, 10:00–11:00 Greenwich Mean Time',
    );
    await page.context().close();
  });

  it('lets an admin make a team with the keyboard, which students then book as one', async () => {
    const admin = await signedInPage(browser, web.baseUrl, 'admin@library.uni.example', 'Admin');
    await admin.goto('/admin');
    await admin.getByRole('link', { name: 'Teams', exact: true }).click();
    expect(await admin.getByRole('heading', { level: 1 }).textContent()).toBe('Teams');
    await expectAccessible(admin, 'no teams');
    await tabTo(admin, admin.getByLabel('Name (students see it)'));
    await admin.keyboard.type('Law team');
    await tabTo(admin, admin.getByLabel('Description (optional)'));
    await admin.keyboard.type('Cases, legislation and legal databases.');
    await tabTo(admin, admin.getByRole('group', { name: 'Librarians in the team' }).getByLabel('Cai Jones'));
    await admin.keyboard.press('Space');
    await tabTo(admin, admin.getByRole('button', { name: 'Save team' }));
    await admin.keyboard.press('Enter');
    await admin.waitForURL(`${web.baseUrl}/admin/teams?notice=saved`);
    expect(await admin.locator('main').textContent()).toContain('Cai Jones');
    await expectAccessible(admin, 'one team');
    await admin.context().close();

    const student = await signedInPage(browser, web.baseUrl, 'sam@student.uni.example', 'Student');
    await student.goto('/');
    expect(await student.locator('main').textContent()).toContain(
      'Law team (1 librarian): Cases, legislation and legal databases.',
    );
    await student.getByRole('link', { name: 'Law team' }).click();
    expect(await student.getByRole('heading', { level: 1 }).textContent()).toBe('Any Law team librarian');
    expect(
      await student.getByRole('radio', { name: /^Wednesday, 3 March 2027, 10:00 Greenwich Mean Time/ }).count(),
    ).toBe(1);
    await expectAccessible(student, 'a team’s times');
    await student.context().close();
  });
});
