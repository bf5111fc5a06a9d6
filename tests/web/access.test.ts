import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_SIGN_IN_ADDRESS } from '../helpers/app.js';
import { expectAccessible, launchBrowser, settled, startWebApp, tabTo, type WebContext } from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Web pages, part 1: the journey with JavaScript off, with the keyboard alone, and in other zones.

let web: WebContext;
let browser: Browser;
let librarian: { id: string; email: string };
// Tuesday 16 March 2027, 08:00 UTC: New York moved to EDT on the 14th; London moves on the 28th.
const NOW = '2027-03-16T08:00:00Z';

beforeAll(async () => {
  web = await startWebApp({ now: NOW });
  librarian = await createLibrarianWithWeek(web.t, { email: 'grace@library.uni.example', name: 'Grace Hopper' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function newPage(options: { timezoneId?: string; javaScriptEnabled?: boolean } = {}) {
  const context = await browser.newContext({
    baseURL: web.baseUrl,
    timezoneId: options.timezoneId ?? 'Europe/London',
    locale: 'en-GB',
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  // As a developer's browser that opened the address npm start prints: the development form is there.
  await context.request.get(DEVELOPMENT_SIGN_IN_ADDRESS, { maxRedirects: 0 });
  const page = await context.newPage();
  // Fail fast with the locator in the message, well inside the test's own timeout.
  page.setDefaultTimeout(15_000);
  return page;
}

async function heading(page: Page) {
  return page.getByRole('heading', { level: 1 }).textContent();
}

describe('without JavaScript', () => {
  it('signs in, books with a friend and confirms, with plain forms and redirects', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
    await page.getByLabel('Email', { exact: true }).fill('nojs@student.uni.example');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.baseUrl}/`);
    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('radio', { name: /^Wednesday, 17 March 2027, 10:00 Greenwich Mean Time/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel("Friend's name").fill('Pat');
    await page.getByRole('group', { name: 'Fee status' }).getByLabel('Home').check();
    await page.getByRole('group', { name: 'Level of study' }).getByLabel('Undergraduate').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await heading(page)).toBe('Check your booking');
    await page.getByRole('button', { name: 'Confirm booking' }).click();
    expect(await heading(page)).toBe('Booking confirmed');
    await expectAccessible(page, 'confirmation without JavaScript', { javaScript: false });
    await page.context().close();
  });

  it('shows every problem in one summary at the top, linked to its field, keeping what was typed', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
    await page.getByLabel('Email', { exact: true }).fill('errors@student.uni.example');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.goto(`/book?librarian=${librarian.id}&start=${encodeURIComponent('2027-03-18T10:00:00.000Z')}`);
    await page.getByLabel("Friend's email (optional)").fill('not-an-address');
    await page.getByLabel('What would you like help with? (optional)').fill('Referencing');
    await page.getByRole('button', { name: 'Continue' }).click();
    const summary = page.getByRole('alert');
    expect(await summary.getByRole('heading').textContent()).toBe('There is a problem');
    const links = await summary.getByRole('link').evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')));
    expect(links).toEqual([
      '#friendName0',
      '#friendEmail0',
      '#category_fee_status-home',
      '#category_study_level-undergraduate',
    ]);
    expect(await page.getByLabel('What would you like help with? (optional)').inputValue()).toBe('Referencing');
    // Each error is also at its field, which names it as its description; a radio group's, after its legend.
    const description = (element: { getAttribute(name: string): string | null; ownerDocument: unknown }) => {
      const document = element.ownerDocument as { getElementById(id: string): { textContent: string } | null };
      return (element.getAttribute('aria-describedby') ?? '')
        .split(' ')
        .map((id) => document.getElementById(id)?.textContent?.trim())
        .join(' | ');
    };
    expect(await page.getByLabel("Friend's email (optional)").evaluate(description)).toBe(
      "We send them the time and place, and a link to say if they can't come. | Error: Enter your friend's email address in the correct format, like name@example.ac.uk",
    );
    const fee = page.getByRole('group', { name: 'Fee status' });
    expect(await fee.evaluate(description)).toBe('Error: Choose an answer for Fee status, or “Prefer not to say”');
    expect(await fee.locator('legend + .field-error').count()).toBe(1);
    await expectAccessible(page, 'form with errors', { javaScript: false });
    await page.context().close();
  });
});

describe('with the keyboard alone', () => {
  it('signs in, chooses a time, books and confirms with the keyboard alone (Tab, arrows, Space, Enter)', async () => {
    const page = await newPage();
    await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
    await settled(page);
    await tabTo(page, page.getByLabel('Email', { exact: true }));
    await page.keyboard.type('keys@student.uni.example');
    await tabTo(page, page.getByRole('button', { name: 'Sign in' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(`${web.baseUrl}/`);
    await tabTo(page, page.getByRole('link', { name: 'Grace Hopper' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/librarians\//);
    const slot = page.getByRole('radio', { name: /^Thursday, 18 March 2027, 11:00 Greenwich Mean Time/ });
    // All the times are one radio group: one Tab stop, then the arrow keys move (and choose).
    await tabTo(page, page.getByRole('radio').first());
    for (let presses = 0; presses < 100 && !(await slot.isChecked()); presses++)
      await page.keyboard.press('ArrowRight');
    expect(await slot.isChecked()).toBe(true);
    await tabTo(page, page.getByRole('button', { name: 'Continue' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/book\?/);
    // The first radio of a group is its Tab stop; the arrow keys choose within it.
    await tabTo(page, page.getByRole('group', { name: 'Fee status' }).getByLabel('Home'));
    await page.keyboard.press('ArrowDown');
    expect(await page.getByRole('group', { name: 'Fee status' }).getByLabel('International').isChecked()).toBe(true);
    await tabTo(page, page.getByRole('group', { name: 'Level of study' }).getByLabel('Undergraduate'));
    await page.keyboard.press('Space');
    await tabTo(page, page.getByRole('button', { name: 'Continue' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/book\/check$/);
    await tabTo(page, page.getByRole('button', { name: 'Confirm booking' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/bookings\/[0-9a-f-]{36}\?booked=1$/);
    expect(await heading(page)).toBe('Booking confirmed');
    await page.context().close();
  });
});

describe('times in the viewer’s zone, with its name', () => {
  it('changes the zone on “Check your booking” and comes back to it with every answer (no JavaScript)', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
    await page.getByLabel('Email', { exact: true }).fill('zone-check@student.uni.example');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.goto(`/book?librarian=${librarian.id}&start=${encodeURIComponent('2027-03-19T10:00:00.000Z')}`);
    await page.getByLabel('What would you like help with? (optional)').fill('Finding journal articles');
    // Where "About you" is asked, the privacy notice is a link away.
    const privacy = page.getByRole('region', { name: 'About you' }).getByRole('link', { name: /privacy notice/ });
    expect(await privacy.getAttribute('href')).toBe('/privacy#about-you');
    await page.getByLabel("Friend's name").fill('Priya');
    await page.getByLabel("Friend's email (optional)").fill('priya@example.org');
    await page.getByLabel('Who are they to you?').selectOption('family');
    await page.getByRole('group', { name: 'Fee status' }).getByLabel('International').check();
    await page.getByRole('group', { name: 'Level of study' }).getByLabel('Postgraduate taught').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await heading(page)).toBe('Check your booking');
    await page.getByRole('button', { name: 'Change time zone' }).click();
    expect(await heading(page)).toBe('Choose your time zone');
    await expectAccessible(page, 'time zone choice without JavaScript', { javaScript: false });
    const zones = await page
      .getByLabel('Time zone', { exact: true })
      .locator('option')
      .evaluateAll((options) => options.map((option) => option.getAttribute('value')));
    expect(zones).toContain('Asia/Kolkata');
    expect(zones).not.toContain('Asia/Calcutta');
    await page.getByLabel('Time zone', { exact: true }).selectOption('Asia/Kolkata');
    await page.getByRole('button', { name: 'Show times in this zone' }).click();
    expect(await heading(page)).toBe('Check your booking');
    const summary = (await page.locator('dl.summary').textContent()) ?? '';
    // 10:00 UTC on Friday 19 March 2027 is 15:30 in Kolkata (UTC+05:30).
    expect(summary).toContain('Friday, 19 March 2027, 15:30–16:30 India Standard Time');
    expect(summary).toContain('Finding journal articles');
    expect(summary).toContain('Priya (priya@example.org), a family member');
    expect(summary).toContain('International');
    expect(summary).toContain('Postgraduate taught');
    await page.getByRole('button', { name: 'Confirm booking' }).click();
    expect(await heading(page)).toBe('Booking confirmed');
    expect((await page.locator('main').textContent()) ?? '').toContain('15:30–16:30 India Standard Time');
    expect((await page.locator('main').textContent()) ?? '').toContain('Priya (a family member) – invited');
    await page.context().close();
  });

  it('returns to the same week of a librarian’s times, and finds a zone by searching (JavaScript on)', async () => {
    const page = await newPage({ timezoneId: 'Europe/London' });
    await page.goto(`/librarians/${librarian.id}?from=2027-03-26`);
    await settled(page);
    await page.getByRole('button', { name: 'Change time zone' }).click();
    await page.getByLabel('Search time zones').fill('kolkata');
    expect(await page.getByText('Matching time zones: 1').count()).toBe(1);
    const options = page.getByLabel('Time zone', { exact: true }).locator('option');
    expect(await options.allTextContents()).toEqual(['Kolkata – India Standard Time (UTC+05:30)']);
    await page.getByLabel('Search time zones').fill('kyiv');
    expect(await options.evaluateAll((all) => all.map((option) => (option as { value: string }).value))).toEqual([
      'Europe/Kyiv',
    ]);
    await page.getByLabel('Search time zones').fill('nowhere at all');
    expect(await page.getByText('No time zone matches.', { exact: false }).count()).toBe(1);
    await page.getByLabel('Search time zones').fill('Sao Paulo');
    await expectAccessible(page, 'time zone search');
    await page.getByRole('button', { name: 'Show times in this zone' }).click();
    await page.waitForURL(`${web.baseUrl}/librarians/${librarian.id}?from=2027-03-26`);
    // 09:00 London (GMT) on Friday 26 March 2027 is 06:00 in São Paulo (UTC−03:00).
    expect(
      await page.getByRole('radio', { name: /^Friday, 26 March 2027, 06:00 Brasilia Standard Time/ }).count(),
    ).toBe(1);
    await page.context().close();
  });

  it('shows a Shanghai student the slot instants in China Standard Time, detected by the browser', async () => {
    const page = await newPage({ timezoneId: 'Asia/Shanghai' });
    await page.goto(`/librarians/${librarian.id}`);
    await settled(page);
    // 09:00 London (GMT) on Wednesday 17 March is 17:00 in Shanghai.
    expect(
      await page.getByRole('radio', { name: /^Wednesday, 17 March 2027, 17:00 China Standard Time/ }).count(),
    ).toBe(1);
    expect(await page.locator('#zone-now').textContent()).toBe('Times are shown in China Standard Time (UTC+08:00).');
    await expectAccessible(page, 'slots in Shanghai');
    await page.context().close();
  });

  it('shows a New York student both sides of London’s clock change correctly, and the library’s time', async () => {
    const page = await newPage({ timezoneId: 'America/New_York' });
    await page.goto(`/librarians/${librarian.id}?from=2027-03-26`);
    await settled(page);
    // 09:00 London is 05:00 New York on Friday 26 March (GMT) and 04:00 on Monday 29 March (BST).
    expect(await page.getByRole('radio', { name: /^Friday, 26 March 2027, 05:00 Eastern Daylight Time/ }).count()).toBe(
      1,
    );
    expect(await page.getByRole('radio', { name: /^Monday, 29 March 2027, 04:00 Eastern Daylight Time/ }).count()).toBe(
      1,
    );
    await page.getByRole('radio', { name: /^Monday, 29 March 2027, 04:00 Eastern Daylight Time/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/sign-in/);
    await page.getByLabel('Email', { exact: true }).fill('nyc@student.uni.example');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/book\?/);
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('Monday, 29 March 2027, 04:00–05:00 Eastern Daylight Time');
    expect(main).toContain('At the library that is Monday, 29 March 2027, 09:00–10:00 British Summer Time.');
    await page.context().close();
  });
});
