import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '../../src/db/schema.js';
import { DEVELOPMENT_SIGN_IN_ADDRESS } from '../helpers/app.js';
import { expectAccessible, launchBrowser, signedInPage, startWebApp, type WebContext } from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Web pages, part 2 (admins): librarians, closures, imports and email problems.

let web: WebContext;
let browser: Browser;
const NOW = '2027-03-15T08:00:00Z';

beforeAll(async () => {
  web = await startWebApp({ now: NOW });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

describe('admin pages', () => {
  it('adds a librarian, who then signs in and lands on their own empty day', async () => {
    const admin = await signedInPage(browser, web.baseUrl, 'boss@uni.example', 'Admin');
    expect(admin.url()).toBe(`${web.baseUrl}/admin`);
    await expectAccessible(admin, 'admin home');
    await admin.getByRole('link', { name: 'Librarians' }).click();
    await expectAccessible(admin, 'librarians');
    await admin.getByLabel('Name').fill('Rosalind Franklin');
    await admin.getByLabel('Email').fill('rosalind@library.uni.example');
    await admin.getByLabel('Subjects (comma-separated, optional)').fill('Chemistry, Biology');
    await admin.getByRole('button', { name: 'Add librarian' }).click();
    await admin.waitForURL(/notice=added$/);
    expect(await admin.getByRole('heading', { name: 'Rosalind Franklin' }).count()).toBe(1);
    await expectAccessible(admin, 'librarian added');
    await admin.getByRole('link', { name: 'Edit Rosalind Franklin' }).click();
    await expectAccessible(admin, 'edit librarian');
    await admin.getByLabel('Faculty (optional)').fill('Natural Sciences');
    await admin.getByRole('button', { name: 'Save changes' }).click();
    await admin.waitForURL(/notice=saved$/);
    expect(await admin.locator('main').textContent()).toContain('Subjects: Chemistry, Biology');
    await admin.context().close();

    const rosalind = await signedInPage(browser, web.baseUrl, 'rosalind@library.uni.example', 'Librarian');
    expect(rosalind.url()).toBe(`${web.baseUrl}/staff`);
    expect(await rosalind.locator('main').textContent()).toContain('No sessions booked in the coming week.');
    await rosalind.context().close();
  });

  it('deactivates a librarian, cancelling their upcoming bookings with an email to each student', async () => {
    const leaving = await createLibrarianWithWeek(web.t, {
      email: 'leaving@library.uni.example',
      name: 'Leaving Soon',
    });
    const booked = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await web.t.auth('student', { sub: 'idp|left', email: 'left@student.uni.example', name: 'Left' }),
      payload: { librarianId: leaving.id, start: '2027-03-16T09:00:00Z' },
    });
    const admin = await signedInPage(browser, web.baseUrl, 'boss@uni.example', 'Admin');
    await admin.goto('/admin/librarians');
    await admin.getByRole('link', { name: 'Deactivate Leaving Soon' }).click();
    await expectAccessible(admin, 'deactivate');
    await admin.getByLabel('Cancel them, and email each student and friend').check();
    await admin.getByRole('button', { name: 'Deactivate' }).click();
    await admin.waitForURL(/notice=deactivated$/);
    const stored = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.json().id}`,
      headers: await web.t.auth('admin'),
    });
    expect(stored.json()).toMatchObject({ status: 'cancelled', cancellation: { by: 'admin' } });
    const queued = await web.t.db.select().from(notifications).where(eq(notifications.bookingId, booked.json().id));
    expect(
      queued.some((row) => row.kind === 'booking_cancelled' && row.recipientEmail === 'left@student.uni.example'),
    ).toBe(true);
    expect((await web.t.app.inject({ method: 'GET', url: `/api/v1/librarians/${leaving.id}` })).statusCode).toBe(404);

    // Back again: one button, and students can find and book them with the hours they had.
    await expectAccessible(admin, 'librarians with one inactive');
    await admin.getByRole('button', { name: 'Reactivate Leaving Soon' }).click();
    await admin.waitForURL(/notice=reactivated$/);
    expect(await admin.getByRole('status').first().textContent()).toContain(
      'The librarian is active again: students can book them.',
    );
    expect((await web.t.app.inject({ method: 'GET', url: `/api/v1/librarians/${leaving.id}` })).statusCode).toBe(200);
    const slots = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${leaving.id}/slots?from=2027-03-16&to=2027-03-16`,
    });
    expect(slots.json().slots.map((slot: { start: string }) => slot.start)).toEqual([
      '2027-03-16T09:00:00+00:00',
      '2027-03-16T10:00:00+00:00',
      '2027-03-16T11:00:00+00:00',
    ]);
    await admin.context().close();
  });

  it('uploads a CSV with one bad row, sees its row and imports nothing; then skips it', async () => {
    await createLibrarianWithWeek(web.t, { email: 'import@library.uni.example', name: 'Import Target' });
    const folder = mkdtempSync(path.join(tmpdir(), 'liaison-import-'));
    const file = path.join(folder, 'past.csv');
    writeFileSync(
      file,
      [
        'start,minutes,librarian_email,student_ref,companion,outcome,fee_status',
        '2026-10-05T10:00:00+01:00,45,import@library.uni.example,s-1,yes,attended,international',
        '2026-10-06T10:00:00+01:00,45,import@library.uni.example,s-2,no,maybe,home',
        '2026-10-07T10:00:00+01:00,30,import@library.uni.example,s-3,no,no_show,home',
      ].join('\n'),
    );
    const admin = await signedInPage(browser, web.baseUrl, 'boss@uni.example', 'Admin');
    await admin.goto('/admin/imports');
    await expectAccessible(admin, 'imports');
    // The page lists the columns, then this library's category questions (the two every library
    // starts with, and any another test here has added since).
    const columns = admin.getByRole('table', { name: 'Columns' });
    const names = await columns.getByRole('rowheader').allTextContents();
    expect(names.slice(0, 8)).toEqual([
      'start',
      'minutes',
      'librarian_email',
      'student_ref',
      'companion',
      'outcome',
      'fee_status',
      'study_level',
    ]);
    expect(await columns.getByRole('row', { name: /^fee_status/ }).textContent()).toContain(
      'Fee status (optional): one of home, international, or empty',
    );
    await admin.getByLabel('CSV file').setInputFiles(file);
    await admin.getByRole('button', { name: 'Import' }).click();
    await admin.waitForLoadState('load');
    const rows = await admin
      .getByRole('region', { name: /Rows to fix/ })
      .getByRole('listitem')
      .allTextContents();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toBe('Row 2: the outcome must be one of attended, no_show, cancelled, late_cancelled');
    await expectAccessible(admin, 'import refused');
    const before = await web.t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake?from=2026-10-01&to=2026-10-31',
      headers: await web.t.auth('analyst'),
    });
    expect(before.json().totals.bookings).toBe(0);
    await admin.getByLabel('CSV file').setInputFiles(file);
    await admin.getByLabel('Import the good rows and skip the wrong ones').check();
    await admin.getByRole('button', { name: 'Import' }).click();
    await admin.waitForLoadState('load');
    expect(await admin.getByRole('status').first().textContent()).toContain(
      'Imported 2 sessions; 0 were already there; 1 row skipped.',
    );
    // The example file imports as it is: its header is this library's, its sessions valid.
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByRole('link', { name: /Download an example file/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('past-sessions-example.csv');
    const example = readFileSync((await download.path()) as string, 'utf8');
    // The same columns as the page lists, in its order.
    expect(example.split('\r\n')[0]).toBe(names.join(','));
    await admin.getByLabel('CSV file').setInputFiles((await download.path()) as string);
    await admin.getByLabel('Import the good rows and skip the wrong ones').uncheck();
    await admin.getByRole('button', { name: 'Import' }).click();
    await admin.waitForLoadState('load');
    expect(await admin.getByRole('status').first().textContent()).toContain(
      'Imported 2 sessions; 0 were already there; 0 rows skipped.',
    );
    await admin.context().close();
  });

  it('lists a dead email with its last error and sends it again on Retry', async () => {
    const librarian = await createLibrarianWithWeek(web.t, { email: 'dead@library.uni.example', name: 'Dead Letters' });
    const booked = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await web.t.auth('student', { sub: 'idp|ghost', email: 'ghost@student.uni.example', name: 'Ghost' }),
      payload: { librarianId: librarian.id, start: '2027-03-17T09:00:00Z' },
    });
    await web.t.db
      .update(notifications)
      .set({ status: 'dead', attempts: 32, lastError: '550 mailbox unavailable' })
      .where(and(eq(notifications.bookingId, booked.json().id), eq(notifications.kind, 'booking_created')));
    const admin = await signedInPage(browser, web.baseUrl, 'boss@uni.example', 'Admin');
    await admin.goto('/admin/emails');
    await expectAccessible(admin, 'email problems');
    expect(await admin.locator('main').textContent()).toContain('550 mailbox unavailable');
    await admin.getByRole('button', { name: 'Retry the email to ghost@student.uni.example' }).click();
    await admin.waitForURL(/notice=retried$/);
    web.sink.received.length = 0;
    await web.worker.runOnce();
    const rows = await web.t.db.select().from(notifications).where(eq(notifications.bookingId, booked.json().id));
    expect(
      rows.find((row) => row.recipientEmail === 'ghost@student.uni.example' && row.kind === 'booking_created')?.status,
    ).toBe('sent');
    await admin.context().close();
  });

  it('refuses admin pages to students, librarians and analysts', async () => {
    const response = async (role: 'student' | 'librarian' | 'analyst') => {
      const context = await browser.newContext({ baseURL: web.baseUrl });
      const page = await context.newPage();
      await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
      await page.getByLabel('Email', { exact: true }).fill(`${role}@uni.example`);
      await page.getByLabel(role[0]?.toUpperCase() + role.slice(1), { exact: true }).check();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForLoadState('load');
      const statuses = [];
      for (const url of ['/admin', '/admin/librarians', '/admin/closures', '/admin/imports', '/admin/emails']) {
        statuses.push((await page.goto(url))?.status());
      }
      await context.close();
      return statuses;
    };
    for (const role of ['student', 'librarian', 'analyst'] as const) {
      expect(await response(role), role).toEqual([403, 403, 403, 403, 403]);
    }
  });
});

describe('categories, terms and cohort sizes', () => {
  it('adds a category question, and sets a term and a cohort size for the uptake rates', async () => {
    const admin = await signedInPage(browser, web.baseUrl, 'boss@uni.example', 'Admin');
    await admin.goto('/admin/categories');
    await expectAccessible(admin, 'categories');
    const blank = admin.getByRole('group', { name: 'Question 3' });
    await blank.getByLabel('Question, as students read it').fill('First in family at university');
    await blank.getByLabel('Key').fill('first_generation');
    await blank.getByLabel('Answers').fill('yes = Yes\nno = No');
    await admin.getByRole('button', { name: 'Save categories' }).click();
    await admin.waitForURL(/saved=1$/);
    const dimensions = (await web.t.app.inject({ method: 'GET', url: '/api/v1/categories' })).json().dimensions;
    expect(dimensions.map((d: { key: string }) => d.key)).toEqual(['fee_status', 'study_level', 'first_generation']);

    await admin.goto('/admin/terms');
    await expectAccessible(admin, 'terms');
    await admin.getByRole('group', { name: 'Term 1' }).getByLabel('Name').fill('Spring 2027');
    await admin.getByRole('group', { name: 'Term 1' }).getByLabel('First day (YYYY-MM-DD)').fill('2027-01-04');
    await admin.getByRole('group', { name: 'Term 1' }).getByLabel('Last day (YYYY-MM-DD)').fill('2027-03-26');
    await admin.getByRole('button', { name: 'Save terms and cohort sizes' }).click();
    await admin.waitForURL(/saved=1$/);
    await admin.getByLabel('International students in Spring 2027').fill('400');
    await admin.getByRole('button', { name: 'Save terms and cohort sizes' }).click();
    await admin.waitForURL(/saved=1$/);
    await expectAccessible(admin, 'terms with cohorts');
    const cohorts = await web.t.app.inject({
      method: 'GET',
      url: '/api/v1/cohorts',
      headers: await web.t.auth('admin'),
    });
    expect(cohorts.json().cohorts).toEqual([
      { term: 'Spring 2027', dimension: 'fee_status', value: 'international', size: 400 },
    ]);
    await admin.context().close();
  });

  it('refuses a bad category key or term date in the error summary, saving nothing', async () => {
    const admin = await signedInPage(browser, web.baseUrl, 'boss@uni.example', 'Admin');
    await admin.goto('/admin/categories');
    const before = (await web.t.app.inject({ method: 'GET', url: '/api/v1/categories' })).json();
    const first = admin.getByRole('group', { name: 'Question 1' });
    await first.getByLabel('Key').fill('Fee Status');
    await admin.getByRole('button', { name: 'Save categories' }).click();
    const summary = admin.getByRole('alert');
    expect(await summary.getByRole('link').allTextContents()).toEqual([
      'Enter a key of lower case letters, digits and _, starting with a letter',
    ]);
    expect(await summary.getByRole('link').getAttribute('href')).toBe('#key_0');
    await expectAccessible(admin, 'categories with an error');
    expect((await web.t.app.inject({ method: 'GET', url: '/api/v1/categories' })).json()).toEqual(before);

    await admin.goto('/admin/terms');
    const term = admin.getByRole('group', { name: 'Term 1' });
    await term.getByLabel('Name').fill('Broken term');
    await term.getByLabel('First day (YYYY-MM-DD)').fill('2027-05-01');
    await term.getByLabel('Last day (YYYY-MM-DD)').fill('2027-04-01');
    await admin.getByRole('button', { name: 'Save terms and cohort sizes' }).click();
    expect(await admin.getByRole('alert').getByRole('link').getAttribute('href')).toBe('#endsOn_0');
    await expectAccessible(admin, 'terms with an error');
    const terms = (
      await web.t.app.inject({ method: 'GET', url: '/api/v1/terms', headers: await web.t.auth('admin') })
    ).json();
    expect(terms.terms.map((t: { name: string }) => t.name)).not.toContain('Broken term');
    await admin.context().close();
  });
});
