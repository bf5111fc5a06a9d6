import type { ParsedMail } from 'mailparser';
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
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// The feedback form in a browser: no sign-in, keyboard only, WCAG 2.2 AA in every state; the
// librarian reads the comment on the session's page; the analyst sees the figures beside the
// companion effect.

let web: WebContext;
let browser: Browser;
let librarian: { id: string; email: string };
interface Links {
  bookingId: string;
  studentLink: string;
  friendLink: string;
}
let form: Links;
let staff: Links;

function to(mail: ParsedMail): string {
  const address = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return address?.value[0]?.address ?? '';
}

/** A session with a friend, both recorded as attended, and the two feedback links emailed after it. */
async function sessionWithFeedback(student: string, friend: string, start: string) {
  web.t.clock.set('2027-03-01T08:00:00Z');
  const headers = await web.t.auth('student', {
    sub: `idp|${student}`,
    email: `${student}@student.uni.example`,
    name: student,
  });
  await web.t.app.inject({
    method: 'PUT',
    url: '/api/v1/me',
    headers,
    payload: { categories: { fee_status: 'international' } },
  });
  const booked = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers,
    payload: {
      librarianId: librarian.id,
      start,
      companions: [{ name: friend, email: `${friend.toLowerCase()}@student.uni.example` }],
    },
  });
  expect(booked.statusCode, booked.body).toBe(201);
  const bookingId = booked.json().id as string;
  web.t.clock.set(new Date(new Date(start).getTime() + 55 * 60_000).toISOString());
  const recorded = await web.t.app.inject({
    method: 'POST',
    url: `/api/v1/bookings/${bookingId}/attendance`,
    headers: await web.t.auth('librarian', { email: librarian.email }),
    payload: { student: 'attended', companion: true },
  });
  expect(recorded.statusCode).toBe(200);
  web.t.clock.set(new Date(new Date(start).getTime() + 3 * 3_600_000).toISOString());
  await web.worker.runOnce();
  const mails = (await web.sink.parsed()).filter((mail) => (mail.subject ?? '').startsWith('How was'));
  const link = (address: string) => {
    const mail = mails.find((candidate) => to(candidate) === address);
    const url = /https?:\/\/\S+\/feedback\?token=[\w-]+/.exec(mail?.text ?? '')?.[0];
    if (!url) throw new Error(`no feedback link for ${address}`);
    return new URL(url).pathname + new URL(url).search;
  };
  return {
    bookingId,
    studentLink: link(`${student}@student.uni.example`),
    friendLink: link(`${friend.toLowerCase()}@student.uni.example`),
  };
}

beforeAll(async () => {
  web = await startWebApp({ now: '2027-03-01T08:00:00Z' });
  browser = await launchBrowser();
  librarian = await createLibrarianWithWeek(web.t, {
    email: 'grace@library.uni.example',
    name: 'Grace Hopper',
    minNoticeMinutes: 0,
  });
  form = await sessionWithFeedback('li', 'Sam', '2027-03-02T10:00:00Z');
  staff = await sessionWithFeedback('ana', 'Bo', '2027-03-03T10:00:00Z');
  // The day after both: every link is live.
  web.t.clock.set('2027-03-04T09:00:00Z');
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

describe('the feedback form', () => {
  it('a student answers with the keyboard alone, without signing in, and can change the answers', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', timezoneId: 'Europe/London' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(form.studentLink);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('How did it go?');
    expect(await page.locator('main').textContent()).toContain(
      'Your library session with Grace Hopper, Tuesday, 2 March 2027, 10:00–11:00 Greenwich Mean Time.',
    );
    expect(await page.getByRole('group', { name: 'Would you book a session for yourself?' }).count()).toBe(0);
    await expectAccessible(page, 'feedback form');
    // Tab into the first scale, Space picks 1, the arrow moves to 2; then the second scale, the
    // third (how nervous now: 4 from 1 by three arrows) and the comment.
    const before = page.getByRole('group', { name: 'Before the session, how nervous did you feel about it?' });
    const now = page.getByRole('group', { name: 'How nervous do you feel now about booking a session like this?' });
    await tabTo(page, before.getByLabel('1 – Not at all nervous'));
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowDown');
    await tabTo(page, page.getByLabel('1 – Not at all useful'));
    await page.keyboard.press('Space');
    for (let step = 0; step < 4; step++) await page.keyboard.press('ArrowDown');
    await tabTo(page, now.getByLabel('1 – Not at all nervous'));
    await page.keyboard.press('Space');
    for (let step = 0; step < 3; step++) await page.keyboard.press('ArrowDown');
    await tabTo(page, page.getByLabel('Anything else you would like to tell us?'));
    await page.keyboard.type('Having a friend there made it easier.');
    await tabTo(page, page.getByRole('button', { name: 'Send my answers' }));
    await Promise.all([page.waitForURL(/saved=1/), page.keyboard.press('Enter')]);
    expect(await page.getByRole('status').textContent()).toContain('Thank you: your answers are saved.');
    expect(await before.getByLabel('2 – A little nervous').isChecked()).toBe(true);
    expect(await page.getByLabel('5 – Extremely useful').isChecked()).toBe(true);
    expect(await now.getByLabel('4 – Quite nervous').isChecked()).toBe(true);
    await expectAccessible(page, 'feedback saved');
    await before.getByLabel('3 – Somewhat nervous').check();
    await page.getByRole('button', { name: 'Update my answers' }).click();
    await page.waitForURL(/saved=1/);
    expect(await before.getByLabel('3 – Somewhat nervous').isChecked()).toBe(true);
    expect(await now.getByLabel('4 – Quite nervous').isChecked()).toBe(true);
    // The link lives on this site only: nothing on the page points elsewhere, and no referrer is sent.
    const hrefs = await page
      .locator('a[href]')
      .evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
    expect(hrefs.filter((href) => !href.startsWith('/') && !href.startsWith('#'))).toEqual([]);
    expect((await page.request.get(form.studentLink)).headers()['referrer-policy']).toBe('no-referrer');
    await context.close();
  });

  it('a friend is asked whether they would book for themselves; a forged answer is refused, naming the field', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', javaScriptEnabled: false });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(form.friendLink);
    await page.getByRole('group', { name: 'Would you book a session for yourself?' }).getByLabel('Maybe').check();
    await page.getByRole('button', { name: 'Send my answers' }).click();
    await page.waitForURL(/saved=1/);
    await expectAccessible(page, 'friend feedback saved, without JavaScript', { javaScript: false });
    // A value outside the scale, as a crafted request would send it.
    const forged = await page.request.post('/feedback', {
      form: {
        _csrf: (await page.locator('input[name="_csrf"]').first().getAttribute('value')) ?? '',
        token: new URL(form.friendLink, web.baseUrl).searchParams.get('token') ?? '',
        nervous: '9',
      },
    });
    expect(forged.status()).toBe(400);
    const html = await forged.text();
    expect(html).toContain('href="#nervous-1"');
    await page.setContent(html);
    await expectAccessible(page, 'feedback refused', { javaScript: false });
    await context.close();
  });

  it('says so, readably, when the link is unknown or expired', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB' });
    const page = await context.newPage();
    const unknown = await page.goto('/feedback?token=nothing-like-a-token');
    expect(unknown?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('This link does not work');
    await expectAccessible(page, 'unknown feedback link');
    web.t.clock.set('2027-03-20T12:00:00Z');
    try {
      const expired = await page.goto(form.studentLink);
      expect(expired?.status()).toBe(410);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('This link has expired');
      await expectAccessible(page, 'expired feedback link');
    } finally {
      web.t.clock.set('2027-03-04T09:00:00Z');
    }
    await context.close();
  });
});

describe('feedback for staff and analysts', () => {
  it('the librarian reads the answers and the comment on the session page; the analyst sees figures, not comments', async () => {
    const friend = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', javaScriptEnabled: false });
    const answerPage = await friend.newPage();
    await answerPage.goto(staff.studentLink);
    await answerPage.getByLabel('Anything else you would like to tell us?').fill('<script>alert(1)</script> thanks');
    await answerPage.getByRole('button', { name: /my answers/ }).click();
    await answerPage.waitForURL(/saved=1/);
    await answerPage.goto(staff.friendLink);
    await answerPage.getByRole('group', { name: 'Would you book a session for yourself?' }).getByLabel('Yes').check();
    await answerPage.getByRole('button', { name: /my answers/ }).click();
    await answerPage.waitForURL(/saved=1/);
    await friend.close();

    const page = await signedInPage(browser, web.baseUrl, librarian.email, 'Librarian');
    await page.goto(`/bookings/${staff.bookingId}`);
    const section = page.getByRole('region', { name: 'What they said afterwards' });
    expect(await section.locator('.comment').first().textContent()).toBe('<script>alert(1)</script> thanks');
    expect(await section.textContent()).toContain('Bo (friend)');
    await expectAccessible(page, 'session page with feedback');
    await page.context().close();

    const analyst = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    await analyst.goto('/analytics/companion-effect?period=dates&from=2027-03-03&to=2027-03-03&by=fee_status');
    const panel = analyst.getByRole('region', { name: 'How it felt' });
    const rows = await panel
      .locator('tbody tr')
      .evaluateAll((all) =>
        all.map((row) => [...row.querySelectorAll('th, td')].map((cell) => (cell.textContent ?? '').trim())),
      );
    // One answer makes a share of 0% or 100%: marked as few, as the effect table marks few bookings.
    expect(rows.find((row) => row[0] === 'International' && row[1] === 'Students with a friend (few)')?.[2]).toBe(
      '1 of 1',
    );
    expect(rows.find((row) => row[0] === 'International' && row[1] === 'The friends (few)')?.[2]).toBe('1 of 1');
    expect(await analyst.locator('main').textContent()).not.toContain('thanks');
    await expectAccessible(analyst, 'companion effect with feedback');
    await analyst.context().close();
  });
});
