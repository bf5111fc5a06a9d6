import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { DEVELOPMENT_SIGN_IN_ADDRESS } from './app.js';
import { createTestAppWithMail, type MailContext } from './mail.js';
import { freePort } from './processes.js';

/** Debian's chromium (installed by .ci/run); no browser is downloaded. */
export const CHROMIUM = '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export interface WebContext extends MailContext {
  baseUrl: string;
}

/** The app listening on loopback, with a real SMTP sink and a worker the test drives. */
export async function startWebApp(options: { now?: string; env?: Record<string, string> } = {}): Promise<WebContext> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const mail = await createTestAppWithMail({
    ...(options.now ? { now: options.now } : {}),
    env: { PUBLIC_URL: baseUrl, PORT: String(port), ...options.env },
  });
  await mail.t.app.listen({ port, host: '127.0.0.1' });
  return { ...mail, baseUrl };
}

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * The accessibility bar for the page as it is now: no axe violations against WCAG 2.2 AA, and no
 * sideways scrolling at 320 CSS pixels (WCAG 1.4.10), after which the viewport is restored.
 */
export async function expectAccessible(
  page: Page,
  label: string,
  options: { javaScript?: boolean } = {},
): Promise<void> {
  if (options.javaScript === false) {
    // axe runs as a script: check a copy of this page's document in a page that allows scripts, at
    // the same origin (so its stylesheet loads), in the same viewport.
    const html = await page.content();
    const copyContext = await page.context().browser()?.newContext({ viewport: page.viewportSize() });
    if (!copyContext) throw new Error('no browser');
    try {
      const copy = await copyContext.newPage();
      await copy.goto(new URL('/accessibility', page.url()).toString());
      await copy.setContent(html, { waitUntil: 'load' });
      await expectAccessible(copy, `${label} (JavaScript off, checked as a copy)`);
    } finally {
      await copyContext.close();
    }
    return;
  }
  // Legacy mode runs axe.run() in the page itself. The default runs axe.runPartial() per frame,
  // then axe.finishRun() in a new blank page, injecting axe's 570 kB source three times: twice the
  // time (1.2 s against 0.6 s a page, measured here). The pages have no frames, so nothing is
  // left unchecked. setLegacyMode is public and documented in 4.13; it is to go in axe 5, when this
  // line should follow whatever replaces it.
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).setLegacyMode().analyze();
  const violations = results.violations.map(
    (violation) =>
      `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join('; ')})`,
  );
  expect(violations, `axe on ${label}`).toEqual([]);
  expect(results.passes.length, `axe checked ${label}`).toBeGreaterThan(10);
  const viewport = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 640 });
  // A string expression: it runs in the browser, and the project's types have no DOM.
  const overflow = await page.evaluate<number>(
    'document.documentElement.scrollWidth - document.documentElement.clientWidth',
  );
  expect(overflow, `horizontal scroll at 320 px on ${label}`).toBeLessThanOrEqual(0);
  if (viewport) await page.setViewportSize(viewport);
}

/** Waits for the first-visit zone detection (JavaScript on) to settle. */
export async function settled(page: Page, javaScript = true): Promise<void> {
  await page.waitForLoadState('load');
  if (javaScript) {
    // A function, not a string: the pages' CSP forbids eval.
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { body: { dataset: Record<string, string | undefined> } | null } })
          .document.body?.dataset.detectZone !== 'true',
      undefined,
      { timeout: 10_000 },
    );
    await page.waitForLoadState('load');
  }
}

/** A new browser context (en-GB, London unless said) signed in through the development form. */
export async function signedInPage(
  browser: Browser,
  baseUrl: string,
  email: string,
  role: 'Student' | 'Librarian' | 'Analyst' | 'Admin',
  options: { timezoneId?: string; javaScriptEnabled?: boolean } = {},
): Promise<Page> {
  const timezoneId = options.timezoneId ?? 'Europe/London';
  const context = await browser.newContext({
    baseURL: baseUrl,
    locale: 'en-GB',
    timezoneId,
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  // The forms a person sends to sign in (development sign-in), sent over the context's own HTTP
  // client, which shares its cookies: the same session as filling in the page, without drawing it.
  // The zone goes first, as the page's script sends it on a first visit, so the session keeps it.
  // The sign-in page itself is filled in by a browser in access, journey and pages.test.ts.
  const csrf = async () => {
    const form = await context.request.get('/sign-in');
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
    if (!token) throw new Error('the sign-in page carries no CSRF token');
    return token;
  };
  // The address npm start prints: this browser may then use the development sign-in form.
  await context.request.get(DEVELOPMENT_SIGN_IN_ADDRESS, { maxRedirects: 0 });
  const zone = await context.request.post('/time-zone', {
    form: { _csrf: await csrf(), timeZone: timezoneId, next: '/sign-in' },
    maxRedirects: 0,
  });
  if (zone.status() !== 303) throw new Error(`choosing the time zone answered ${zone.status()}`);
  const signedIn = await context.request.post('/sign-in/development', {
    form: { _csrf: await csrf(), email, role: role.toLowerCase() },
    maxRedirects: 0,
  });
  const landing = signedIn.headers().location;
  if (signedIn.status() !== 303 || !landing) throw new Error(`signing in answered ${signedIn.status()}`);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(landing);
  return page;
}

/** Presses Tab until `target` has focus, as a keyboard user reaches it; fails past `limit` presses. */
export async function tabTo(page: Page, target: Locator, limit = 400): Promise<void> {
  for (let presses = 0; presses < limit; presses++) {
    if (await target.evaluate((element) => element === element.ownerDocument.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`could not reach ${target} with the Tab key`);
}
