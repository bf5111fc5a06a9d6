import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAccessible,
  launchBrowser,
  settled,
  signedInPage,
  startWebApp,
  tabTo,
  type WebContext,
} from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Web pages, part 2 (librarians): the day, attendance, walk-ins and the calendar feed.

let web: WebContext;
let browser: Browser;
let ada: { id: string; email: string };
let other: { id: string; email: string };
// Monday 15 March 2027, 08:00 UTC.
const NOW = '2027-03-15T08:00:00Z';

beforeAll(async () => {
  web = await startWebApp({ now: NOW });
  ada = await createLibrarianWithWeek(web.t, {
    email: 'ada@library.uni.example',
    name: 'Ada Lovelace',
    maxCompanions: 2,
  });
  other = await createLibrarianWithWeek(web.t, { email: 'other@library.uni.example', name: 'Other Librarian' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function book(librarianId: string, who: string, start: string, companions: { name: string }[] = []) {
  const response = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await web.t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who }),
    payload: { librarianId, start, ...(companions.length ? { companions } : {}) },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; companions: { id: string; name: string }[] };
}

describe("a librarian's day", () => {
  it('lands on their sessions, sees a booking with a friend, and records with the keyboard that the student came and the friend did not', async () => {
    const booked = await book(ada.id, 'sam', '2027-03-15T10:00:00Z', [{ name: 'Friend Fi' }]);
    const page = await signedInPage(browser, web.baseUrl, ada.email, 'Librarian');
    expect(page.url()).toBe(`${web.baseUrl}/staff`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('My sessions');
    const card = page.getByRole('listitem').filter({ hasText: 'sam' });
    expect(await card.textContent()).toContain('Friend Fi (invited)');
    await expectAccessible(page, 'my sessions');

    // The session has started: the form appears on its page, and the day flags it until recorded.
    web.t.clock.set('2027-03-15T10:30:00Z');
    try {
      await page.reload();
      await page.getByRole('link', { name: /sam$/ }).first().click();
      await page.waitForURL(`${web.baseUrl}/bookings/${booked.id}`);
      // Written for the librarian: whose session it is, and none of the student's own words or links.
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Session with sam');
      const main = (await page.locator('main').textContent()) ?? '';
      for (const studentWords of ['Your booking', 'Coming with you', 'Change this booking', 'Cancel this booking']) {
        expect(main).not.toContain(studentWords);
      }
      await expectAccessible(page, 'session with attendance form');
      // Nothing is answered for the librarian: they say who came.
      expect(await page.getByRole('radio', { checked: true }).count()).toBe(0);
      await tabTo(page, page.getByRole('group', { name: 'Did sam come?' }).getByLabel('Came'));
      await page.keyboard.press('Space');
      await tabTo(page, page.getByRole('group', { name: 'Did Friend Fi (friend) come?' }).getByLabel('Came'));
      await page.keyboard.press('ArrowDown');
      // The READ scale, optional: level 3 from level 1 by two arrows.
      await tabTo(page, page.getByLabel('1 – Least: no specialist knowledge, a few minutes'));
      await page.keyboard.press('Space');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await tabTo(page, page.getByRole('button', { name: 'Save attendance' }));
      await page.keyboard.press('Enter');
      await page.waitForURL(/notice=attendance$/);
      expect(await page.getByRole('status').first().textContent()).toContain('Attendance saved.');
      expect(await page.locator('main').textContent()).toContain("Friend Fi – didn't come");
      await expectAccessible(page, 'attendance saved');
    } finally {
      web.t.clock.set(NOW);
    }
    const stored = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.id}`,
      headers: await web.t.auth('admin'),
    });
    expect(stored.json()).toMatchObject({
      attendance: 'attended',
      effort: 3,
      companions: [{ name: 'Friend Fi', attended: false }],
    });
    const uptake = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/uptake?from=2027-03-15&to=2027-03-15&librarianId=${ada.id}&groupBy=companion`,
      headers: await web.t.auth('analyst'),
    });
    expect(uptake.json().rows).toEqual([
      expect.objectContaining({ group: { companion: true }, bookings: 1, attended: 1, noShow: 0 }),
    ]);
    await page.context().close();
  });

  it("answers another librarian's session page with a 404, and a student on the staff page with a 403", async () => {
    const theirs = await book(other.id, 'tia', '2027-03-17T09:00:00Z');
    const page = await signedInPage(browser, web.baseUrl, ada.email, 'Librarian');
    const response = await page.goto(`/bookings/${theirs.id}`);
    expect(response?.status()).toBe(404);
    await page.context().close();
    const student = await signedInPage(browser, web.baseUrl, 'stu@student.uni.example', 'Student');
    expect((await student.goto('/staff'))?.status()).toBe(403);
    await student.context().close();
  });

  it('records a walk-in that counts in the figures, refusing a time in the future by name', async () => {
    const page = await signedInPage(browser, web.baseUrl, ada.email, 'Librarian');
    await page.getByRole('link', { name: 'Record a walk-in or phone session' }).click();
    await expectAccessible(page, 'record a walk-in');
    await page.getByLabel('Date').fill('2027-03-15');
    await page.getByLabel('Start time (Europe/London)').fill('10:00');
    await page.getByRole('button', { name: 'Record the session' }).click();
    expect(await page.getByRole('alert').getByRole('link').allTextContents()).toEqual([
      'Record a session once it has started; the date and time are in the future',
    ]);
    await expectAccessible(page, 'walk-in with an error');
    await page.getByLabel('Date').fill('2027-03-14');
    await page.getByLabel('Start time (Europe/London)').fill('15:00');
    await page.getByRole('group', { name: 'Did the student bring a friend?' }).getByLabel('Yes').check();
    await page.getByRole('group', { name: 'Fee status' }).getByLabel('International').check();
    await page.getByRole('button', { name: 'Record the session' }).click();
    await page.waitForURL(`${web.baseUrl}/staff?notice=recorded`);
    const uptake = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/uptake?from=2027-03-14&to=2027-03-14&librarianId=${ada.id}&groupBy=fee_status,companion`,
      headers: await web.t.auth('analyst'),
    });
    expect(uptake.json().rows).toEqual([
      expect.objectContaining({ group: { fee_status: 'international', companion: true }, bookings: 1, attended: 1 }),
    ]);
    await page.context().close();
  });

  it('replaces the calendar feed address, and the old one stops at once', async () => {
    const old = await web.t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${ada.id}/calendar-token`,
      headers: await web.t.auth('admin'),
    });
    const oldUrl = new URL(old.json().url);
    expect((await web.t.app.inject({ method: 'GET', url: `${oldUrl.pathname}${oldUrl.search}` })).statusCode).toBe(200);
    const page = await signedInPage(browser, web.baseUrl, ada.email, 'Librarian');
    await page.getByRole('link', { name: 'Calendar feed' }).click();
    await expectAccessible(page, 'calendar feed');
    await page.getByRole('button', { name: 'Make a new feed address' }).click();
    // The whole address is shown (never cut short), with a button that copies it.
    const shown = ((await page.locator('#feed-url').textContent()) ?? '').trim();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy the address' }).click();
    await page.getByText('Copied. Paste it into your calendar app.').waitFor();
    const clipboard = () =>
      (
        globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
      ).navigator.clipboard.readText();
    expect(await page.evaluate(clipboard)).toBe(shown);
    expect(shown).toMatch(new RegExp(`^${web.baseUrl}/api/v1/librarians/${ada.id}/calendar\\.ics\\?token=[\\w-]{43}$`));
    await expectAccessible(page, 'new feed address');
    expect((await web.t.app.inject({ method: 'GET', url: `${oldUrl.pathname}${oldUrl.search}` })).statusCode).toBe(404);
    const fresh = new URL(shown);
    expect((await web.t.app.inject({ method: 'GET', url: `${fresh.pathname}${fresh.search}` })).statusCode).toBe(200);
    await page.context().close();
  });
});

describe('availability, as forms', () => {
  async function slotStarts(librarianId: string, day: string) {
    const response = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarianId}/slots?from=${day}&to=${day}`,
    });
    return response.json().slots.map((slot: { start: string }) => slot.start);
  }

  it('changes a weekly window with the keyboard alone, and students see the new hours on both sides of the clock change', async () => {
    const grace = await createLibrarianWithWeek(web.t, { email: 'grace@library.uni.example', name: 'Grace Hopper' });
    const page = await signedInPage(browser, web.baseUrl, grace.email, 'Librarian');
    await page.getByRole('link', { name: 'Availability' }).click();
    await expectAccessible(page, 'availability editor');
    const window1 = page.getByRole('group', { name: 'Window 1' });
    expect(await window1.getByLabel('Day').inputValue()).toBe('1');
    await tabTo(page, window1.getByLabel('From (HH:MM)'));
    await page.keyboard.press('Control+A');
    await page.keyboard.type('13:00');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('15:00');
    await tabTo(page, page.getByRole('button', { name: 'Save availability' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/saved=1$/);
    expect(await page.getByRole('status').first().textContent()).toContain('Saved.');
    await expectAccessible(page, 'availability saved');
    // Monday 22 March (GMT) and Monday 29 March (BST): 13:00 and 14:00 on London's clock.
    expect(await slotStarts(grace.id, '2027-03-22')).toEqual([
      '2027-03-22T13:00:00+00:00',
      '2027-03-22T14:00:00+00:00',
    ]);
    expect(await slotStarts(grace.id, '2027-03-29')).toEqual([
      '2027-03-29T13:00:00+01:00',
      '2027-03-29T14:00:00+01:00',
    ]);
    // Tuesday is as it was.
    expect(await slotStarts(grace.id, '2027-03-23')).toHaveLength(3);
    // And the page students choose from says so, in their own zone (New York: EDT since the 14th).
    const student = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', timezoneId: 'America/New_York' });
    const times = await student.newPage();
    await times.goto(`/librarians/${grace.id}?from=2027-03-22`);
    await settled(times);
    expect(
      await times.getByRole('radio', { name: /^Monday, 22 March 2027, 09:00 Eastern Daylight Time/ }).count(),
    ).toBe(1);
    expect(
      await times.getByRole('radio', { name: /^Monday, 29 March 2027, 08:00 Eastern Daylight Time/ }).count(),
    ).toBe(1);
    expect(await times.getByRole('radio', { name: /^Monday, 22 March 2027, 05:00/ }).count()).toBe(0);
    await student.close();
    await page.context().close();
  });

  it('refuses a window that ends before it starts, naming the field, and saves nothing', async () => {
    const kay = await createLibrarianWithWeek(web.t, { email: 'kay@library.uni.example', name: 'Kay Antcliff' });
    const page = await signedInPage(browser, web.baseUrl, kay.email, 'Librarian');
    await page.goto('/staff/availability');
    const window2 = page.getByRole('group', { name: 'Window 2' });
    await window2.getByLabel('From (HH:MM)').fill('11:00');
    await window2.getByLabel('To (HH:MM)').fill('10:00');
    await page.getByRole('button', { name: 'Save availability' }).click();
    const summary = page.getByRole('alert');
    expect(await summary.getByRole('link').allTextContents()).toEqual([
      'Window 2 (Tuesday): the end must be after the start',
    ]);
    expect(await summary.getByRole('link').getAttribute('href')).toBe('#end_1');
    await expectAccessible(page, 'availability with an error');
    expect(await slotStarts(kay.id, '2027-03-23')).toEqual([
      '2027-03-23T09:00:00+00:00',
      '2027-03-23T10:00:00+00:00',
      '2027-03-23T11:00:00+00:00',
    ]);
    await page.context().close();
  });

  it('takes times as people type them: 9:00 is 09:00', async () => {
    const lin = await createLibrarianWithWeek(web.t, { email: 'lin@library.uni.example', name: 'Lin Huang' });
    const page = await signedInPage(browser, web.baseUrl, lin.email, 'Librarian');
    await page.goto('/staff/availability');
    const window2 = page.getByRole('group', { name: 'Window 2' });
    await window2.getByLabel('From (HH:MM)').fill('9:00');
    await window2.getByLabel('To (HH:MM)').fill('11.00');
    await page.getByRole('button', { name: 'Save availability' }).click();
    await page.waitForLoadState('load');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByRole('group', { name: 'Window 2' }).getByLabel('From (HH:MM)').inputValue()).toBe('09:00');
    expect(await slotStarts(lin.id, '2027-03-23')).toEqual(['2027-03-23T09:00:00+00:00', '2027-03-23T10:00:00+00:00']);
    await page.context().close();
  });

  it('adds a day off, and those slots disappear until it is removed', async () => {
    const joan = await createLibrarianWithWeek(web.t, { email: 'joan@library.uni.example', name: 'Joan Clarke' });
    expect(await slotStarts(joan.id, '2027-03-17')).toHaveLength(3);
    const page = await signedInPage(browser, web.baseUrl, joan.email, 'Librarian');
    await page.getByRole('link', { name: 'Time off and extra hours' }).click();
    await expectAccessible(page, 'time off');
    await page.getByLabel('From date').fill('2027-03-17');
    await page.getByLabel('Reason (optional)').fill('Conference');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.waitForURL(`${web.baseUrl}/staff/time-off`);
    expect(await page.locator('main').textContent()).toContain('Time off: Wednesday, 17 March 2027 (Conference)');
    await expectAccessible(page, 'time off added');
    expect(await slotStarts(joan.id, '2027-03-17')).toEqual([]);
    // Part of a day reads as its times, in the viewer's zone with its name.
    await page.getByLabel('From date').fill('2027-03-18');
    await page.getByLabel('From time (optional)').fill('9:00');
    await page.getByLabel('To time (optional)').fill('10:00');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.waitForURL(`${web.baseUrl}/staff/time-off`);
    expect(await page.locator('main').textContent()).toContain(
      'Time off: Thursday, 18 March 2027, 09:00–10:00 Greenwich Mean Time',
    );
    await page.getByRole('button', { name: 'Remove Wednesday, 17 March 2027' }).click();
    await page.waitForURL(`${web.baseUrl}/staff/time-off`);
    expect(await slotStarts(joan.id, '2027-03-17')).toHaveLength(3);
    expect(await page.getByRole('button', { name: /^Remove / }).allTextContents()).toEqual([
      'Remove Thursday, 18 March 2027, 09:00–10:00 Greenwich Mean Time',
    ]);
    await page.context().close();
  });
});
