import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchBrowser, signedInPage, startWebApp, type WebContext } from '../helpers/browser.js';

// Issue 27 in the browser: an admin designs a campaign, uploads its cohort (a wrong line is named
// and nothing is saved), reads the preview, sends it, and an analyst reads the results, marked
// provisional while the window is open. Every state is checked with axe and at 320 px.

let web: WebContext;
let browser: Browser;

beforeAll(async () => {
  web = await startWebApp({ now: '2027-03-01T08:00:00Z' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web.close();
});

const heading = async (page: import('playwright-core').Page) => page.getByRole('heading', { level: 1 }).textContent();

describe('campaign pages', () => {
  it('designs, fills, previews and sends a campaign; the results page says provisional', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'outreach@uni.example', 'Admin');
    await page.goto('/admin');
    await page.getByRole('link', { name: 'Campaigns' }).click();
    expect(await heading(page)).toBe('Campaigns');
    await expectAccessible(page, 'campaigns, none yet');

    // Shares that do not add up are named on their field.
    await page.getByLabel('Name', { exact: true }).fill('Spring: bring a friend');
    await page.getByLabel('Hypothesis').fill('Inviting students to bring a friend raises the share who book.');
    await page.getByRole('radio', { name: 'Booked a session', exact: true }).check();
    const armA = page.getByRole('group', { name: 'Arm A' });
    await armA.getByLabel('Name of the arm').fill('Plain');
    await armA.getByLabel('Email subject').fill('Book a one-to-one, {firstName}');
    await armA.getByLabel('Email text').fill('Hello {firstName},\n\nBook here: {bookingLink}');
    const armB = page.getByRole('group', { name: /^Arm B/ });
    await armB.getByLabel('Name of the arm').fill('Bring a friend');
    await armB.getByLabel('Email subject').fill('Book a one-to-one, {firstName}');
    await armB.getByLabel('Email text').fill('Hello {firstName},\n\nBook here: {bookingLink}\n\n{friendParagraph}');
    await armB.getByLabel('Friend paragraph').fill('Bring a friend along: many students do.');
    await page.getByLabel('Holdout (percent who receive nothing)').fill('30');
    await page.getByLabel('Keep the shares within each group of').selectOption('fee_status');
    await page.getByRole('button', { name: 'Create the campaign' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('arms and holdout add up to 110, not 100');
    await expectAccessible(page, 'design refused');
    await page.getByLabel('Holdout (percent who receive nothing)').fill('20');
    await page.getByRole('button', { name: 'Create the campaign' }).click();
    await page.waitForURL(/\/admin\/campaigns\/[0-9a-f-]+\?notice=created/);
    expect(await heading(page)).toBe('Spring: bring a friend');
    await expectAccessible(page, 'draft campaign');

    // A file with a wrong line: named by number, nothing saved.
    const upload = async (name: string, text: string) => {
      await page
        .getByLabel('Cohort file (CSV)')
        .setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
      await page.getByRole('button', { name: 'Upload the cohort' }).click();
    };
    await upload('bad.csv', 'email,fee_status\nok@student.uni.example,home\nnope,home\n');
    expect(await page.locator('main').textContent()).toContain('Line 3: email is not an email address');
    expect(await page.locator('main').textContent()).toContain('0 people in the cohort');
    await expectAccessible(page, 'cohort refused');
    const lines = ['email,first_name,fee_status'];
    for (let index = 0; index < 10; index++) {
      lines.push(`s${index}@student.uni.example,Student${index},${index < 5 ? 'home' : 'international'}`);
    }
    await upload('cohort.csv', `${lines.join('\n')}\n`);
    await page.waitForURL(/notice=cohort/);
    expect(await page.locator('main').textContent()).toContain('10 people in the cohort');
    // The preview shows each arm's email for a sample person.
    const preview = (await page.getByRole('region', { name: 'Preview' }).textContent()) ?? '';
    expect(preview).toContain('Book a one-to-one, Sam');
    expect(preview).toContain('Bring a friend along: many students do.');
    await expectAccessible(page, 'cohort and preview');

    // Sending asks for the box to be ticked, then locks the design.
    await page.getByRole('button', { name: 'Send the campaign' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Tick the box to confirm.');
    await page.getByLabel(/I have checked the design and the preview/).check();
    await page.getByRole('button', { name: 'Send the campaign' }).click();
    await page.waitForURL(/notice=sent/);
    expect(await page.getByRole('status').textContent()).toContain('the design is locked');
    expect(await page.getByRole('button', { name: 'Save the design' }).count()).toBe(0);
    await expectAccessible(page, 'sent campaign');

    await page.getByRole('link', { name: 'See the results' }).click();
    expect(await heading(page)).toBe('Spring: bring a friend');
    expect(await page.getByRole('status').textContent()).toContain('Provisional');
    const comparisons =
      (await page.getByRole('region', { name: 'What the invitation changed (primary outcome)' }).textContent()) ?? '';
    expect(comparisons).toContain('Too few people to say');
    const everyone = page.getByRole('table', { name: 'Everyone' });
    expect(await everyone.getByRole('row').count()).toBe(4);
    await expectAccessible(page, 'results');
    // The download names its columns in words, the rest as the API writes it.
    const download = await page
      .context()
      .request.get(
        (await page.getByRole('link', { name: 'Download the results (CSV)' }).getAttribute('href')) as string,
      );
    const [header, everyoneA] = (await download.text()).replace(/^\uFEFF/, '').split('\r\n');
    expect(header?.split(',').slice(0, 8)).toEqual([
      'Group',
      'Arm',
      'Arm name',
      'Assigned',
      'Emailed',
      'Not delivered',
      'Booked',
      'Booked: rate',
    ]);
    expect(everyoneA).toMatch(/^,A,Plain,\d+,0,0,0,0,/);
    await page.context().close();
  });

  it('keeps campaigns from students and librarians, and the design from analysts', async () => {
    for (const [role, email] of [
      ['Student', 'kim@student.uni.example'],
      ['Librarian', 'lee@library.uni.example'],
    ] as const) {
      const page = await signedInPage(browser, web.baseUrl, email, role);
      for (const path of ['/admin/campaigns', '/analytics/campaigns']) {
        const response = await page.goto(path);
        expect(response?.status(), `${role} ${path}`).toBe(403);
      }
      await page.context().close();
    }
    const analyst = await signedInPage(browser, web.baseUrl, 'ana@uni.example', 'Analyst');
    expect((await analyst.goto('/analytics/campaigns'))?.status()).toBe(200);
    await expectAccessible(analyst, 'campaigns for analysts');
    expect((await analyst.goto('/admin/campaigns'))?.status()).toBe(403);
    await analyst.context().close();
  });
});
