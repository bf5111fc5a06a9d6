import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    await page.goto('/sign-in');
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
    await page.goto('/sign-in');
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
    await expectAccessible(page, 'form with errors', { javaScript: false });
    await page.context().close();
  });
});

describe('with the keyboard alone', () => {
  it('signs in, chooses a time, books and confirms with the keyboard alone (Tab, arrows, Space, Enter)', async () => {
    const page = await newPage();
    await page.goto('/sign-in');
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
  it('shows a Shanghai student the slot instants in China Standard Time, detected by the browser', async () => {
    const page = await newPage({ timezoneId: 'Asia/Shanghai' });
    await page.goto(`/librarians/${librarian.id}`);
    await settled(page);
    // 09:00 London (GMT) on Wednesday 17 March is 17:00 in Shanghai.
    expect(
      await page.getByRole('radio', { name: /^Wednesday, 17 March 2027, 17:00 China Standard Time/ }).count(),
    ).toBe(1);
    expect(await page.getByLabel('Times are shown in').inputValue()).toBe('Asia/Shanghai');
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
