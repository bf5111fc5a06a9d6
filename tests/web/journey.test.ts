import { simpleParser } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEVELOPMENT_SIGN_IN_ADDRESS } from '../helpers/app.js';
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
// Each test starts with an empty queue and mailbox, whatever ran before it.
beforeEach(async () => {
  await web.worker.runOnce();
  web.sink.received.length = 0;
});

async function newPage(options: { timezoneId?: string; locale?: string; javaScriptEnabled?: boolean } = {}) {
  const context = await browser.newContext({
    baseURL: web.baseUrl,
    timezoneId: options.timezoneId ?? 'Europe/London',
    locale: options.locale ?? 'en-GB',
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  const page = await context.newPage();
  // Fail fast with the locator in the message, well inside the test's own timeout.
  page.setDefaultTimeout(15_000);
  return page;
}

async function signIn(page: Page, email: string, role = 'Student', javaScript = true) {
  // The address npm start prints: it shows the development sign-in form.
  await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
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

    // Back after Confirm asks the browser to send nothing again: "Check your booking" was a GET,
    // and with the booking made it leads to the list, which holds it once.
    await page.goBack();
    await page.waitForURL(`${web.baseUrl}/bookings`);
    expect(
      await page.getByRole('link', { name: 'Tuesday, 23 March 2027, 09:00–10:00 Greenwich Mean Time' }).count(),
    ).toBe(1);
    expect(await web.worker.runOnce()).toMatchObject({ sent: 3, failed: 0 });
    expect(await mailsTo('wei@student.uni.example')).toHaveLength(1);
    expect(await mailsTo('amira@student.uni.example')).toHaveLength(1);
    expect(await mailsTo('ada@library.uni.example')).toHaveLength(1);
    const [own] = await mailsTo('wei@student.uni.example');
    expect(own?.text).toMatch(new RegExp(`${web.baseUrl}/bookings/[0-9a-f-]{36}\\?token=[\\w-]+`));
    // Each email, as a phone's mail reader shows it: 320 CSS pixels wide, no sideways scrolling.
    await page.setViewportSize({ width: 320, height: 640 });
    for (const address of ['wei@student.uni.example', 'amira@student.uni.example', 'ada@library.uni.example']) {
      const [mail] = await mailsTo(address);
      await page.setContent(String(mail?.html));
      const overflow = await page.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      expect(overflow, `sideways scrolling in the email to ${address}`).toBeLessThanOrEqual(0);
    }
    await page.context().close();
  });
});

async function bookThroughApi(who: string, start: string, companions: { name: string; email?: string }[] = []) {
  const claims = { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: `${who} Student` };
  const response = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await web.t.auth('student', claims),
    payload: { librarianId: librarian.id, start, ...(companions.length > 0 ? { companions } : {}) },
  });
  expect(response.statusCode, response.body).toBe(201);
  web.sink.received.length = 0;
  await web.worker.runOnce();
  return response.json() as { id: string };
}

function linkIn(text: string | undefined): string {
  const link = new RegExp(`${web.baseUrl}/bookings/[0-9a-f-]{36}\\?token=[\\w-]+`).exec(text ?? '')?.[0];
  if (!link) throw new Error(`no manage link in: ${text}`);
  return link.replace(web.baseUrl, '');
}

describe('managing a booking from the emailed link', () => {
  it('opens the link from the email, reschedules, adds a second friend and cancels, without signing in', async () => {
    const booking = await bookThroughApi('mina', '2027-03-24T09:00:00Z', [
      { name: 'Jo', email: 'jo@student.uni.example' },
    ]);
    const [mail] = await mailsTo('mina@student.uni.example');
    const page = await newPage();
    await page.goto(linkIn(mail?.text));
    await settled(page);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Your booking');
    await expectAccessible(page, 'booking page from link');

    await page.getByRole('link', { name: 'Choose another time' }).click();
    await expectAccessible(page, 'reschedule');
    await page.getByRole('radio', { name: /^Wednesday, 24 March 2027, 11:00 Greenwich Mean Time/ }).check();
    await page.getByRole('button', { name: 'Move my booking' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('moved to the new time');
    await expectAccessible(page, 'booking moved');
    expect(await page.locator('main').textContent()).toContain(
      'Wednesday, 24 March 2027, 11:00–12:00 Greenwich Mean Time',
    );

    await page.getByLabel("Friend's name").fill('Sam');
    await page.getByLabel("Friend's email (optional)").fill('sam@student.uni.example');
    await page.getByRole('button', { name: 'Save friend' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('saved and invited');
    expect(await page.getByRole('button', { name: /^Remove / }).count()).toBe(2);
    // A wrong email is corrected in place, from the keyboard: Sam stays one invited friend.
    await tabTo(page, page.getByText("Correct Sam's name or email"));
    await page.keyboard.press('Enter');
    await page.getByLabel('Right email for Sam (optional)').fill('sam.jones@student.uni.example');
    await expectAccessible(page, 'correcting a friend');
    await page.getByRole('button', { name: 'Save correction' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('have been corrected');
    expect(await page.locator('main').textContent()).toContain('Sam (sam.jones@student.uni.example)');
    expect(await page.getByRole('button', { name: /^Remove / }).count()).toBe(2);

    await page.getByRole('link', { name: 'Cancel this booking' }).click();
    await expectAccessible(page, 'cancel');
    await page.getByLabel('Reason (optional)').fill('Deadline moved');
    await page.getByRole('button', { name: 'Cancel booking' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('is cancelled');
    await expectAccessible(page, 'cancelled');

    const stored = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}`,
      headers: await web.t.auth('admin'),
    });
    expect(stored.json()).toMatchObject({ status: 'cancelled', start: '2027-03-24T11:00:00+00:00' });
    expect(stored.json().companions.map((c: { name: string; status: string }) => `${c.name} ${c.status}`)).toEqual([
      'Jo invited',
      'Sam invited',
    ]);
    await page.context().close();
  });

  it("lets a friend decline through their own link, showing the student's name but not their email", async () => {
    const booking = await bookThroughApi('omar', '2027-03-25T09:00:00Z', [
      { name: 'Lena', email: 'lena@student.uni.example' },
    ]);
    const [mail] = await mailsTo('lena@student.uni.example');
    const page = await newPage();
    await page.goto(linkIn(mail?.text));
    await settled(page);
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toBe('omar Student invited you to a library session');
    expect(await page.locator('main').textContent()).not.toContain('omar@student.uni.example');
    await expectAccessible(page, 'friend view');
    // The friend says they will come: the student's page and the librarian's say "coming".
    await page.getByRole('button', { name: "I'll come" }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toBe('Thank you. The student has been told you are coming.');
    expect((await page.locator('main').textContent()) ?? '').toContain('Lena – coming');
    expect(await page.getByRole('button', { name: "I'll come" }).count()).toBe(0);
    await page.getByRole('button', { name: "I can't come" }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain("can't come");
    await expectAccessible(page, 'friend declined');
    const stored = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}`,
      headers: await web.t.auth('admin'),
    });
    expect(stored.json()).toMatchObject({ status: 'confirmed', companions: [{ name: 'Lena', status: 'declined' }] });
    // No calendar entry for a session they can't come to; and they can change their mind.
    expect(await page.getByRole('link', { name: 'Add to my calendar (.ics)' }).count()).toBe(0);
    await page.getByRole('button', { name: 'I can come after all' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toBe('Thank you. The student has been told you can come after all.');
    await expectAccessible(page, 'friend rejoined');
    expect(await page.getByRole('link', { name: 'Add to my calendar (.ics)' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: "I can't come" }).count()).toBe(1);
    const again = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}`,
      headers: await web.t.auth('admin'),
    });
    expect(again.json().companions).toMatchObject([{ name: 'Lena', status: 'invited' }]);
    // The student and the librarian hear both answers, each in their own words.
    expect(await web.worker.runOnce()).toMatchObject({ sent: 6, failed: 0 });
    const subjects = async (address: string) => (await mailsTo(address)).map((mail) => mail.subject ?? '');
    await expect
      .poll(() => subjects('omar@student.uni.example'))
      .toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^Lena has said they will come to your session with Ada Lovelace/),
          expect.stringMatching(/^Lena can't come to your session with Ada Lovelace/),
          expect.stringMatching(/^Lena can come to your session with Ada Lovelace after all/),
        ]),
      );
    await expect
      .poll(() => subjects(librarian.email))
      .toEqual(
        expect.arrayContaining([expect.stringMatching(/^Lena can come to the session with omar Student after all/)]),
      );
    await page.context().close();
  });

  it('says before moving an in-person session to an online-only time that it would become online, and moves it when asked again', async () => {
    const hedy = await createLibrarianWithWeek(web.t, {
      email: 'hedy@library.uni.example',
      name: 'Hedy Lamarr',
      weekly: [
        { weekday: 2, start: '09:00', end: '10:00' },
        { weekday: 4, start: '14:00', end: '15:00', mode: 'online' },
      ],
    });
    const booked = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await web.t.auth('student', {
        sub: 'dev:moves@student.uni.example',
        email: 'moves@student.uni.example',
      }),
      payload: { librarianId: hedy.id, start: '2027-03-23T09:00:00Z', mode: 'in_person' },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const stored = async () =>
      (
        await web.t.app.inject({
          method: 'GET',
          url: `/api/v1/bookings/${booked.json().id}`,
          headers: await web.t.auth('admin'),
        })
      ).json();
    const page = await signedInPage(browser, web.baseUrl, 'moves@student.uni.example', 'Student');
    await page.goto(`/bookings/${booked.json().id}/reschedule`);
    expect((await page.locator('main').textContent()) ?? '').toContain(
      'Your session is in person. Some times below offer only the other way of meeting',
    );
    const online = page.getByRole('radio', { name: /^Thursday, 25 March 2027, 14:00 Greenwich Mean Time, Online$/ });
    await online.check();
    await page.getByRole('button', { name: 'Move my booking' }).click();
    await page.waitForLoadState('load');
    expect(await page.getByRole('alert').getByRole('heading').textContent()).toBe('That time is online only');
    expect(await online.isChecked()).toBe(true);
    expect(await stored()).toMatchObject({ startUtc: '2027-03-23T09:00:00.000Z', mode: 'in_person' });
    await expectAccessible(page, 'moving to an online-only time');
    await page.getByRole('button', { name: 'Move my booking' }).click();
    await page.waitForURL(/notice=moved$/);
    expect(await stored()).toMatchObject({ startUtc: '2027-03-25T14:00:00.000Z', mode: 'online' });
    await page.context().close();
  });
});
