import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_SIGN_IN_ADDRESS } from '../helpers/app.js';
import {
  expectAccessible,
  launchBrowser,
  signedInPage,
  startWebApp,
  tabTo,
  type WebContext,
} from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Web pages, part 3 (analysts): uptake, the companion effect and before-and-after.

let web: WebContext;
let browser: Browser;
const NOW = '2027-03-15T08:00:00Z';
const YEAR_2025 = 'from=2025-08-01&to=2026-07-31';

/**
 * The fixture, by hand. Academic year 2025/26 (October 2025), one student per booking:
 *   international with a friend 12 (10 attended, 2 no-shows); without 15 (9, 6)
 *   home with a friend 4 (3, 1); without 20 (16, 4)
 * 2026/27 (October 2026): 20 international students attended with a friend, 10 home alone.
 * Cohorts: Autumn 2025 and Autumn 2026, international 40, home 100.
 */
beforeAll(async () => {
  web = await startWebApp({ now: NOW });
  browser = await launchBrowser();
  await createLibrarianWithWeek(web.t, { email: 'figures@library.uni.example', name: 'Figures Librarian' });
  const sessions: Record<string, unknown>[] = [];
  let student = 0;
  const add = (day: string, fee: string, companion: boolean, outcome: string, count: number) => {
    for (let index = 0; index < count; index++) {
      student += 1;
      sessions.push({
        start: `${day}T${String(9 + (index % 8)).padStart(2, '0')}:00:00Z`,
        minutes: 45,
        librarianEmail: 'figures@library.uni.example',
        studentRef: `student-${student}`,
        categories: { fee_status: fee },
        companion,
        outcome,
      });
    }
  };
  add('2025-10-06', 'international', true, 'attended', 10);
  add('2025-10-07', 'international', true, 'no_show', 2);
  add('2025-10-08', 'international', false, 'attended', 9);
  add('2025-10-09', 'international', false, 'no_show', 6);
  add('2025-10-13', 'home', true, 'attended', 3);
  add('2025-10-14', 'home', true, 'no_show', 1);
  add('2025-10-15', 'home', false, 'attended', 16);
  add('2025-10-16', 'home', false, 'no_show', 4);
  add('2026-10-05', 'international', true, 'attended', 20);
  add('2026-10-12', 'home', false, 'attended', 10);
  const admin = await web.t.auth('admin');
  const imported = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/imports/sessions',
    headers: admin,
    payload: { sessions },
  });
  expect(imported.json()).toMatchObject({ imported: 81, errors: [] });
  await web.t.app.inject({
    method: 'PUT',
    url: '/api/v1/terms',
    headers: admin,
    payload: {
      terms: [
        { name: 'Autumn 2025', startsOn: '2025-09-22', endsOn: '2025-12-12' },
        { name: 'Autumn 2026', startsOn: '2026-09-21', endsOn: '2026-12-11' },
      ],
    },
  });
  const cohorts = await web.t.app.inject({
    method: 'PUT',
    url: '/api/v1/cohorts',
    headers: admin,
    payload: {
      cohorts: ['Autumn 2025', 'Autumn 2026'].flatMap((term) => [
        { term, dimension: 'fee_status', value: 'international', size: 40 },
        { term, dimension: 'fee_status', value: 'home', size: 100 },
      ]),
    },
  });
  expect(cohorts.statusCode).toBe(200);
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function api(url: string) {
  const response = await web.t.app.inject({ method: 'GET', url, headers: await web.t.auth('analyst') });
  expect(response.statusCode).toBe(200);
  return response;
}

/** The figures table as text, one array of cells per body row. */
async function tableRows(page: Page, id: string): Promise<string[][]> {
  return page
    .locator(`#${id} tbody tr`)
    .evaluateAll((rows) =>
      rows.map((row) => [...row.querySelectorAll('th, td')].map((cell) => (cell.textContent ?? '').trim())),
    );
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

describe('the uptake page', () => {
  it('an analyst picks an academic year with the keyboard and reads the figures the API gives', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    expect(new URL(page.url()).pathname).toBe('/analytics');
    await expectAccessible(page, 'uptake, first visit');
    // First visit: this academic year, grouped by fee status and by friend, the library's question.
    expect(await page.getByLabel('Academic year, term or dates').inputValue()).toBe('year:2026');
    const groups = page.getByRole('group', { name: 'Group the figures by' });
    expect(await groups.getByLabel('Fee status', { exact: true }).isChecked()).toBe(true);
    expect(await groups.getByLabel('With or without a friend').isChecked()).toBe(true);

    await tabTo(page, page.getByLabel('Academic year, term or dates'));
    await page.keyboard.press('ArrowDown');
    expect(await page.getByLabel('Academic year, term or dates').inputValue()).toBe('year:2025');
    await tabTo(page, page.getByRole('button', { name: 'Show figures' }));
    await Promise.all([page.waitForURL(/period=year%3A2025/), page.keyboard.press('Enter')]);
    await expectAccessible(page, 'uptake, 2025/26 by fee status and friend');
    expect(await page.getByRole('heading', { level: 2 }).first().textContent()).toBe(
      'Figures for 2025-08-01 to 2026-07-31',
    );

    const report = (await api(`/api/v1/uptake?${YEAR_2025}&groupBy=fee_status,companion`)).json();
    const rows = await tableRows(page, 'uptake-table');
    expect(rows).toHaveLength(report.rows.length);
    expect(report.rows).toHaveLength(4);
    const labels: Record<string, string> = { home: 'Home', international: 'International' };
    for (const figures of report.rows) {
      const label = labels[figures.group.fee_status as string];
      const friend = figures.group.companion ? 'With a friend' : 'Without a friend';
      const cells = rows.find((cells) => cells[0] === label && cells[1] === friend);
      expect(cells, `${label}, ${friend}`).toBeDefined();
      expect(cells?.slice(2, 6)).toEqual([
        String(figures.bookings),
        String(figures.attended),
        String(figures.noShow),
        String(figures.cancelled),
      ]);
      expect(cells?.[8]).toContain(percent(figures.attendanceRate));
      expect(cells?.[9]).toBe(`${percent(figures.attendanceRateCi95[0])} to ${percent(figures.attendanceRateCi95[1])}`);
    }
    // Hand check of one row: international with a friend, 10 of 12 came.
    expect(rows.find((cells) => cells[0] === 'International' && cells[1] === 'With a friend')?.[8]).toBe('83.3%');
    // Home with a friend is 4 sessions: marked as few in the table, hatched in the chart.
    expect(rows.find((cells) => cells[0] === 'Home' && cells[1] === 'With a friend')?.[8]).toBe('75.0% (few)');
    const chart = page.getByRole('img', { name: /Attendance rate by fee status, with vs without a friend/ });
    expect(await chart.count()).toBe(1);
    expect(await chart.locator('desc').textContent()).toContain('International, With a friend: 83.3% (n=12)');
    await page.context().close();
  });

  it('downloads the CSV through the page, with the same figures as the API, ready for Excel', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    await page.goto('/analytics?period=year%3A2025&group=fee_status&group=companion&hesa=on');
    await expectAccessible(page, 'uptake with disclosure control');
    expect(await page.locator('main').textContent()).toContain('HESA disclosure control is on');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download this table (CSV)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('uptake-2025-08-01-to-2026-07-31.csv');
    const bytes = readFileSync((await download.path()) as string);
    // A UTF-8 byte order mark first, so Excel reads the file as UTF-8.
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const fromApi = (await api(`/api/v1/uptake?${YEAR_2025}&groupBy=fee_status,companion&disclosure=hesa&format=csv`))
      .body;
    const rows = parse(fromApi, { columns: true }) as Record<string, string>[];
    // 10 of 12 international students with a friend: 12 bookings round to 10 under HESA.
    const apiRow = rows.find((row) => row.fee_status === 'international' && row.companion === 'true');
    expect(apiRow?.bookings).toBe('10');
    // The page's download is the same figures for a person: named columns, labels, percentages.
    const readable = parse(bytes.subarray(3).toString('utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(readable[0] ?? {}).slice(0, 4)).toEqual(['Fee status', 'Friend', 'Bookings', 'Cancelled']);
    const row = readable.find((entry) => entry['Fee status'] === 'International' && entry.Friend === 'With a friend');
    expect(row?.Bookings).toBe('10');
    expect(row?.Attended).toBe(apiRow?.attended);
    // Under HESA the rate of so few is withheld: empty in both.
    expect(apiRow?.attendanceRate).toBe('');
    expect(row?.['Attendance rate (%)']).toBe('');
    expect(row?.['Figures withheld (HESA)']).toBe('No');
    await page.context().close();
  });

  it('shows an error summary naming the field for a reversed range, and keeps what was typed', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    await page.getByLabel('Academic year, term or dates').selectOption('dates');
    await page.getByLabel('From', { exact: true }).fill('2026-03-01');
    await page.getByLabel('To', { exact: true }).fill('2026-02-01');
    const [response] = await Promise.all([
      page.waitForResponse((candidate) => candidate.url().includes('/analytics?')),
      page.getByRole('button', { name: 'Show figures' }).click(),
    ]);
    expect(response.status()).toBe(400);
    await page.waitForLoadState('load');
    const summary = page.getByRole('alert');
    expect(await summary.getByRole('link').allTextContents()).toEqual([
      'Enter the last day as YYYY-MM-DD, on or after the first day',
    ]);
    expect(await summary.getByRole('link').getAttribute('href')).toBe('#to');
    expect(await page.getByLabel('From', { exact: true }).inputValue()).toBe('2026-03-01');
    await expectAccessible(page, 'uptake with an error');
    await page.context().close();
  });

  it('gives the totals alone when nothing is grouped, labelled as all sessions', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    await page.goto('/analytics?period=year%3A2025');
    const totals = await page
      .locator('#uptake-table tfoot tr')
      .evaluateAll((rows) =>
        rows.map((row) => [...row.querySelectorAll('th, td')].map((cell) => (cell.textContent ?? '').trim())),
      );
    // 51 sessions in 2025/26: 38 attended, 13 no-shows.
    expect(totals[0]?.slice(0, 4)).toEqual(['All sessions', '51', '38', '13']);
    await expectAccessible(page, 'uptake without grouping');
    await page.context().close();
  });

  it('says there are no cohort sizes instead of an empty uptake chart', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    await page.goto('/analytics?period=year%3A2025&group=companion&metric=uptakeRate');
    expect(
      await page.getByText('No cohort sizes for this period: set them under Terms and cohorts').count(),
    ).toBeGreaterThan(0);
    await expectAccessible(page, 'uptake chart without cohorts');
    await page.context().close();
  });
});

describe('the companion-effect page', () => {
  it('gives both rates, the difference and a sentence per fee status, with a dot-and-whisker chart', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    await page.getByRole('link', { name: 'Did a friend help?' }).click();
    await page.getByLabel('Academic year, term or dates').selectOption('year:2025');
    await page.getByRole('button', { name: 'Show figures' }).click();
    await page.waitForURL(/companion-effect\?/);
    await expectAccessible(page, 'companion effect');
    const report = (await api(`/api/v1/uptake/companion-effect?${YEAR_2025}&by=fee_status`)).json();
    const international = report.rows.find((row: { value: string }) => row.value === 'international');
    const rows = await tableRows(page, 'effect-table');
    const cells = rows.find((row) => row[0] === 'International');
    expect(cells?.slice(1, 3)).toEqual(['12', percent(international.withCompanion.attendanceRate)]);
    expect(cells?.[5]).toBe(percent(international.withoutCompanion.attendanceRate));
    // 10/12 − 9/15 = 0.2333: +23.3 points.
    expect(cells?.[7]).toBe('+23.3');
    const reading = page.locator('dl.sentences');
    // Newcombe's interval for 10/12 − 9/15 spans zero (it is about −0.10 to +0.50).
    // 10/12 is 83.3% and 9/15 is 60.0%: the sentence gives the figures exactly as the table does.
    const sentence = (await reading.locator('div', { hasText: 'International' }).locator('dd').textContent()) ?? '';
    expect(sentence).toMatch(/^No clear difference: 83\.3% attended with a friend and 60\.0% without one\./);
    expect(sentence).toContain(`${cells?.[2]} attended with a friend and ${cells?.[5]} without one`);
    expect(await reading.locator('div', { hasText: 'Home' }).locator('dd').textContent()).toBe(
      'Fewer than 10 bookings on one side: too few to compare.',
    );
    const chart = page.getByRole('img', { name: /Attendance with a friend minus without, by fee status/ });
    expect(await chart.locator('desc').textContent()).toContain('International: +23');
    const csv = await page.request.get(`/analytics/companion-effect.csv?period=year%3A2025&by=fee_status`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-disposition']).toBe(
      'attachment; filename="companion-effect-fee_status-2025-08-01-to-2026-07-31.csv"',
    );
    const svg = await page.request.get(`/analytics/companion-effect.svg?period=year%3A2025&by=fee_status`);
    expect(svg.headers()['content-type']).toBe('image/svg+xml; charset=utf-8');
    // On a laptop (1280 px) the whole table is in view: rates, intervals and p, no sideways scrolling.
    await page.setViewportSize({ width: 1280, height: 800 });
    const sideways = (element: { scrollWidth: number; clientWidth: number }) =>
      element.scrollWidth - element.clientWidth;
    for (const region of await page.locator('.table-scroll').all())
      expect(await region.evaluate(sideways)).toBeLessThanOrEqual(0);
    // On a phone (320 px) the chart gives way to the table, and says so.
    await page.setViewportSize({ width: 320, height: 640 });
    expect(await chart.isVisible()).toBe(false);
    expect(
      await page.getByText('The chart needs a wider screen: the table above gives the same figures.').isVisible(),
    ).toBe(true);
    await expectAccessible(page, 'companion effect on a phone');
    await page.context().close();
  });
});

describe('the before-and-after page', () => {
  it('compares last academic year with this one, with uptake against the cohorts and the change', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    await page.getByRole('link', { name: 'Before and after' }).click();
    await expectAccessible(page, 'before and after');
    // Default: 2025/26 against 2026/27 (today is in 2026/27).
    const rows = await tableRows(page, 'compare-table');
    // International: 19 of 40 attended before (47.5%), 20 of 40 after (50.0%).
    expect(rows.find((row) => row[0] === 'International')?.slice(1, 9)).toEqual([
      '19',
      '40',
      '47.5%',
      '20',
      '40',
      '50.0%',
      '+1',
      '+2.5',
    ]);
    // Home: 19 of 100 before, 10 of 100 after.
    expect(rows.find((row) => row[0] === 'Home')?.slice(1, 9)).toEqual([
      '19',
      '100',
      '19.0%',
      '10',
      '100',
      '10.0%',
      '-9',
      '-9.0',
    ]);
    const report = (
      await api(
        '/api/v1/uptake/compare?by=fee_status&beforeFrom=2025-08-01&beforeTo=2026-07-31&afterFrom=2026-08-01&afterTo=2027-07-31',
      )
    ).json();
    const home = report.rows.find((row: { value: string }) => row.value === 'home');
    expect(rows.find((row) => row[0] === 'Home')?.[9]).toBe(
      `${(home.uptakeChangeCi95[0] * 100).toFixed(1)} to +${(home.uptakeChangeCi95[1] * 100).toFixed(1)}`,
    );
    expect(await page.locator('main').textContent()).toContain(
      'Cohort sizes come from the terms each period overlaps: earlier, Autumn 2025; later, Autumn 2026.',
    );
    // The same figures as a chart: each fee status, the earlier and the later period side by side.
    const chart = page.getByRole('img', { name: /by fee status, by period/ });
    expect(await chart.locator('desc').textContent()).toBe(
      'Home, Earlier period: 19.0% (n=19); Home, Later period: 10.0% (n=10); International, Earlier period: 47.5% (n=19); International, Later period: 50.0% (n=20).',
    );
    const csv = await page.request.get('/analytics/compare.csv');
    expect(csv.status()).toBe(200);
    const parsed = parse((await csv.text()).replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
    expect(parsed.find((row) => row['Fee status'] === 'International')?.['Later period: Students who attended']).toBe(
      '20',
    );
    await page.context().close();
  });

  it('refuses a later period that starts before the earlier one ends, naming it', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'analyst@uni.example', 'Analyst');
    await page.goto('/analytics/compare?beforePeriod=year%3A2026&afterPeriod=year%3A2025&by=fee_status');
    const summary = page.getByRole('alert');
    expect(await summary.getByRole('link').getAttribute('href')).toBe('#afterPeriod');
    await expectAccessible(page, 'before and after with an error');
    await page.context().close();
  });
});

describe('without JavaScript', () => {
  it('signs in as an analyst, changes the grouping and reads all three pages', async () => {
    const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', javaScriptEnabled: false });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
    await page.getByLabel('Email', { exact: true }).fill('nojs-analyst@uni.example');
    await page.getByLabel('Analyst', { exact: true }).check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.baseUrl}/analytics`);
    await page.getByLabel('Academic year, term or dates').selectOption('year:2025');
    await page.getByRole('group', { name: 'Group the figures by' }).getByLabel('With or without a friend').uncheck();
    await page.getByLabel('Split by period').selectOption('month');
    await page.getByRole('button', { name: 'Show figures' }).click();
    await page.waitForURL(/split=month/);
    // Fee status by month: October 2025 holds every 2025/26 session.
    const rows = await tableRows(page, 'uptake-table');
    expect(rows.map((row) => row.slice(0, 3))).toEqual([
      ['Home', '2025-10', '24'],
      ['International', '2025-10', '27'],
    ]);
    await expectAccessible(page, 'uptake by month without JavaScript', { javaScript: false });
    await page.getByRole('link', { name: 'Did a friend help?' }).click();
    await expectAccessible(page, 'companion effect without JavaScript', { javaScript: false });
    await page.getByRole('link', { name: 'Before and after' }).click();
    await expectAccessible(page, 'before and after without JavaScript', { javaScript: false });
    await context.close();
  });
});

describe('who may see the figures', () => {
  const PAGES = [
    '/analytics',
    '/analytics/uptake.csv',
    '/analytics/uptake.svg',
    '/analytics/companion-effect',
    '/analytics/companion-effect.csv',
    '/analytics/companion-effect.svg',
    '/analytics/compare',
    '/analytics/compare.csv',
  ];

  it('gives a student and a librarian 403 on every analytics page and download', async () => {
    for (const [email, role] of [
      ['learner@student.uni.example', 'Student'],
      ['figures@library.uni.example', 'Librarian'],
    ] as const) {
      const page = await signedInPage(browser, web.baseUrl, email, role);
      for (const path of PAGES) {
        const response = await page.request.get(path, { maxRedirects: 0 });
        expect(response.status(), `${role} ${path}`).toBe(403);
        expect(await response.text()).not.toContain('International');
      }
      await page.goto('/analytics');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You cannot do that');
      await expectAccessible(page, `analytics refused to a ${role.toLowerCase()}`);
      await page.context().close();
    }
  });

  it('sends someone not signed in to sign in, and lets an admin in', async () => {
    const anonymous = await browser.newContext({ baseURL: web.baseUrl });
    const response = await anonymous.request.get('/analytics/uptake.csv', { maxRedirects: 0 });
    expect(response.status()).toBe(303);
    expect(response.headers().location).toBe('/sign-in?next=%2Fanalytics%2Fuptake.csv');
    await anonymous.close();
    const admin = await signedInPage(browser, web.baseUrl, 'boss@uni.example', 'Admin');
    expect((await admin.request.get('/analytics')).status()).toBe(200);
    await admin.context().close();
  });
});
