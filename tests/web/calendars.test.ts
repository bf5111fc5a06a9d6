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
import { ADA_CALENDAR, serveCalendar } from '../helpers/calendar-fixture.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { startRadicale } from '../helpers/radicale.js';

// Sunday 28 February 2027, noon in London.
const NOW = '2027-02-28T12:00:00Z';

describe("a librarian's own calendars, in a real browser", () => {
  let web: WebContext;
  let browser: Browser;
  let calendar: Awaited<ReturnType<typeof serveCalendar>>;

  beforeAll(async () => {
    calendar = await serveCalendar(ADA_CALENDAR);
    web = await startWebApp({
      now: NOW,
      env: { CALENDAR_SECRET_KEY: 'calendar-key-for-tests-0123456789abcdef', CALENDAR_ALLOW_HOSTS: '127.0.0.1' },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await calendar?.close();
  });

  it('connects a calendar address with the keyboard and no JavaScript, and shows when it was read', async () => {
    const ada = await createLibrarianWithWeek(web.t, { email: 'ada@library.uni.example', name: 'Ada Lovelace' });
    const page = await signedInPage(browser, web.baseUrl, ada.email, 'Librarian', { javaScriptEnabled: false });
    await page.getByRole('link', { name: 'Your own calendars' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your own calendars');
    expect(await page.locator('main').textContent()).toContain('No calendar is connected.');
    await expectAccessible(page, 'no calendars', { javaScript: false });

    // A web page where a calendar should be: refused by name, nothing saved.
    await tabTo(page, page.getByLabel('Name').first());
    await page.keyboard.type('Outlook');
    await tabTo(page, page.getByLabel('Calendar address'));
    await page.keyboard.type(calendar.url('/html'));
    await page.keyboard.press('Enter');
    await page.waitForLoadState('load');
    const summary = page.getByRole('alert');
    expect(await summary.textContent()).toContain(
      'Liaison could not read that address: the address gives a web page, not a calendar. Nothing was saved.',
    );
    await expectAccessible(page, 'address refused', { javaScript: false });

    await tabTo(page, page.getByLabel('Calendar address'));
    await page.keyboard.type(calendar.url());
    await page.keyboard.press('Enter');
    await page.waitForURL(`${web.baseUrl}/staff/calendars?notice=connected`);
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('Connected and read.');
    expect(main).toContain('Read just now: 10 stretches of busy time ahead.');
    expect(main).toContain('Its address is kept secret (from 127.0.0.1, set on Sunday, 28 February 2027).');
    // The address itself is never shown again.
    expect(await page.content()).not.toContain('calendar.ics');
    await expectAccessible(page, 'one calendar', { javaScript: false });

    // Students are not offered the Monday 09:00 her team meeting holds.
    const times = await web.t.app.inject({ method: 'GET', url: `/librarians/${ada.id}?from=2027-03-01` });
    expect(times.body).not.toContain('value="2027-03-01T09:00:00.000Z"');
    expect(times.body).toContain('value="2027-03-01T10:00:00.000Z"');
    await page.context().close();
  });

  it('shows a failing calendar to its librarian and the admin, and withholds only that librarian’s times once stale', async () => {
    const own = await serveCalendar('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n');
    const grace = await createLibrarianWithWeek(web.t, { email: 'grace@library.uni.example', name: 'Grace Hopper' });
    const created = await web.t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${grace.id}/calendars`,
      headers: await web.t.auth('librarian', { email: grace.email }),
      payload: { label: 'Work', url: own.url() },
    });
    expect(created.statusCode, created.body).toBe(201);
    await own.close();
    web.t.clock.set('2027-02-28T14:00:00Z');
    try {
      const page = await signedInPage(browser, web.baseUrl, grace.email, 'Librarian');
      await page.goto('/staff/calendars');
      await tabTo(page, page.getByRole('button', { name: 'Check Work now' }));
      await page.keyboard.press('Enter');
      await page.waitForURL(`${web.baseUrl}/staff/calendars?notice=checked`);
      const main = (await page.locator('main').textContent()) ?? '';
      expect(main).toContain('Read 2 hours ago: no busy time ahead.');
      expect(main).toContain('Liaison could not read it (since just now): the server could not be reached.');
      expect(main).toContain('The busy time it last read still holds.');
      await expectAccessible(page, 'a failing calendar');
      await page.context().close();

      const admin = await signedInPage(browser, web.baseUrl, 'admin@library.uni.example', 'Admin');
      await admin.goto('/admin');
      await admin.getByRole('link', { name: 'Calendar connections' }).click();
      const adminText = (await admin.locator('main').textContent()) ?? '';
      expect(adminText).toContain('1 calendar cannot be read.');
      expect(adminText).toContain('Grace Hopper: Work');
      await expectAccessible(admin, 'admin calendars');
      await admin.context().close();

      // A day after the last good read: Grace's times are withheld, and a student is told why.
      web.t.clock.set('2027-03-01T12:30:00Z');
      await web.t.app.inject({
        method: 'POST',
        url: `/api/v1/librarians/${grace.id}/calendars/${created.json().id}/check`,
        headers: await web.t.auth('librarian', { email: grace.email }),
      });
      const student = await signedInPage(browser, web.baseUrl, 'wei@student.uni.example', 'Student');
      await student.goto(`/librarians/${grace.id}`);
      expect(await student.locator('main').textContent()).toContain(
        "This librarian's times are unavailable for now, while their calendar is being checked.",
      );
      await expectAccessible(student, 'times withheld');
      await student.getByRole('link', { name: 'Choose another librarian' }).click();
      await student.waitForURL(`${web.baseUrl}/`);
      await student.context().close();
    } finally {
      web.t.clock.set(NOW);
    }
  });

  it('lets an admin connect, check and remove a calendar for any librarian, with the keyboard and no JavaScript', async () => {
    const katherine = await createLibrarianWithWeek(web.t, {
      email: 'katherine@library.uni.example',
      name: 'Katherine Johnson',
    });
    const listed = async () =>
      (
        await web.t.app.inject({
          method: 'GET',
          url: `/api/v1/librarians/${katherine.id}/calendars`,
          headers: await web.t.auth('librarian', { email: katherine.email }),
        })
      ).json() as { label: string }[];
    const admin = await signedInPage(browser, web.baseUrl, 'admin@library.uni.example', 'Admin', {
      javaScriptEnabled: false,
    });
    await admin.goto('/admin/calendars');
    await tabTo(admin, admin.getByRole('link', { name: 'Manage Katherine Johnson’s calendars' }));
    await admin.keyboard.press('Enter');
    await admin.waitForURL(`${web.baseUrl}/admin/librarians/${katherine.id}/calendars`);
    expect(await admin.getByRole('heading', { level: 1 }).textContent()).toBe('Katherine Johnson’s own calendars');
    await expectAccessible(admin, 'an admin on a librarian’s calendars', { javaScript: false });

    await tabTo(admin, admin.getByLabel('Name').first());
    await admin.keyboard.type('Outlook');
    await tabTo(admin, admin.getByLabel('Calendar address'));
    await admin.keyboard.type(calendar.url());
    await admin.keyboard.press('Enter');
    await admin.waitForURL(`${web.baseUrl}/admin/librarians/${katherine.id}/calendars?notice=connected`);
    // Eleven, not Ada's ten: the event Ada declined is declined by Ada's address, not Katherine's.
    expect(await admin.locator('main').textContent()).toContain('Read just now: 11 stretches of busy time ahead.');
    // It is hers: her own page and the API list it.
    expect((await listed()).map((connection) => connection.label)).toEqual(['Outlook']);
    await expectAccessible(admin, 'connected for her', { javaScript: false });

    await tabTo(admin, admin.getByRole('button', { name: 'Check Outlook now' }));
    await admin.keyboard.press('Enter');
    await admin.waitForURL(`${web.baseUrl}/admin/librarians/${katherine.id}/calendars?notice=checked`);
    await tabTo(admin, admin.getByRole('button', { name: 'Remove Outlook' }));
    await admin.keyboard.press('Enter');
    await admin.waitForURL(`${web.baseUrl}/admin/librarians/${katherine.id}/calendars?notice=removed`);
    expect(await admin.locator('main').textContent()).toContain(
      'Removed. Its busy time no longer hides any of this librarian’s times.',
    );
    expect(await listed()).toEqual([]);

    // No such librarian: the page is not found.
    const missing = await admin.goto('/admin/librarians/0b6f0b3e-4a55-4e0f-9d7c-2b1f5a0c9e11/calendars');
    expect(missing?.status()).toBe(404);
    await admin.context().close();

    // A librarian cannot use the admin's page, even for herself.
    const herself = await signedInPage(browser, web.baseUrl, katherine.email, 'Librarian');
    const refused = await herself.goto(`/admin/librarians/${katherine.id}/calendars`);
    expect(refused?.status()).toBe(403);
    await herself.context().close();
  });

  it('connects a CalDAV account, chooses the busy calendars and the one for bookings, with the keyboard', async () => {
    const radicale = await startRadicale({ lin: 'lins-app-password' });
    try {
      await radicale.makeCalendar('lin', 'work', 'Work');
      await radicale.makeCalendar('lin', 'family', 'Family');
      const lin = await createLibrarianWithWeek(web.t, { email: 'lin@library.uni.example', name: 'Lin Wu' });
      const page = await signedInPage(browser, web.baseUrl, lin.email, 'Librarian');
      await page.goto('/staff/calendars');
      const fill = async (label: string, text: string) => {
        await tabTo(page, page.getByLabel(label, { exact: true }).last());
        await page.keyboard.type(text);
      };
      await fill('Name', 'University calendar');
      await fill('Server address', radicale.url);
      await fill('User name', 'lin');
      await fill('App password', 'lins-app-password');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${web.baseUrl}/staff/calendars?notice=connected`);
      expect(await page.content()).not.toContain('lins-app-password');
      await expectAccessible(page, 'a CalDAV account');

      const busy = page.getByRole('group', { name: 'Calendars of University calendar whose events hide your time' });
      expect(await busy.getByRole('checkbox', { checked: true }).count()).toBe(2);
      await tabTo(page, busy.getByLabel('Family'));
      await page.keyboard.press('Space');
      const bookings = page.getByRole('group', { name: 'Where University calendar puts your bookings' });
      await tabTo(page, bookings.getByLabel('Nowhere (use the calendar feed instead)'));
      await page.keyboard.press('ArrowDown');
      expect(await bookings.getByLabel('Work').isChecked()).toBe(true);
      await tabTo(page, page.getByRole('button', { name: 'Save choices for University calendar' }));
      await page.keyboard.press('Enter');
      await page.waitForURL(`${web.baseUrl}/staff/calendars?notice=chosen`);
      const [saved] = (
        await web.t.app.inject({
          method: 'GET',
          url: `/api/v1/librarians/${lin.id}/calendars`,
          headers: await web.t.auth('librarian', { email: lin.email }),
        })
      ).json();
      expect(
        saved.calendars.map((calendar: { name: string; busy: boolean; receivesBookings: boolean }) => [
          calendar.name,
          calendar.busy,
          calendar.receivesBookings,
        ]),
      ).toEqual(
        expect.arrayContaining([
          ['Work', true, true],
          ['Family', false, false],
        ]),
      );
      await expectAccessible(page, 'calendars chosen');
      await page.context().close();
    } finally {
      await radicale.close();
    }
  });
});
