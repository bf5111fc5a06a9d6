import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeNext } from '../../src/web/layout/page.js';
import { createTestApp, TEST_DEVELOPMENT_CODE, type TestContext } from '../helpers/app.js';

// Hardening round three, finding 7: `next=/.//evil.example` became `Location: //evil.example`
// (language, time-zone and development sign-in forms), and GET /time-zone?next=/.//evil.example
// drew a Back link there. The destination is now decided on the normalised path. Payloads: the
// cases so far, and the shapes of PayloadsAllTheThings' "Open Redirect/Intruder/Open-Redirect-
// payloads.txt" (leading slashes, backslashes, tabs, encoded dot segments, schemes, user@host),
// written out here for a host of our own choosing.

const OURS = 'https://liaison.example';
const EVIL = 'evil.example';

const prefixes = [
  '',
  '/',
  '//',
  '///',
  '////',
  '/./',
  '/.//',
  '/./../',
  '/..//',
  '/a/..//',
  '/%2e//',
  '/.%2f/',
  '/%09/',
  '//%09/',
  '/%5c',
  '//%5c',
  '\\/\\/',
  '/\\/',
  '/https://',
  '//https://',
  'https://',
  'https:',
  'https:///',
  '<>//',
  '/〱',
  '/ｰ',
];
const hosts = [EVIL, `www.liaison.example@${EVIL}`, 'javascript:alert(1)'];
const suffixes = ['', '/', '//', '/%2f..', '/%2f%2e%2e', '/%2e%2e%2f', `\\@www.liaison.example`];
const payloads = [
  ...prefixes.flatMap((prefix) => hosts.flatMap((host) => suffixes.map((suffix) => `${prefix}${host}${suffix}`))),
  '/.//evil.example',
  '/././/evil.example',
  '/%2e%2e//evil.example',
  'java%0d%0ascript%0d%0a:alert(0)',
  `//google%E3%80%82com`,
  `http://google.com:80#@www.liaison.example/`,
];

/** Where a browser on our page goes when sent to `location`. */
const destination = (location: string) => new URL(location, `${OURS}/some/page`);

describe('next= stays on this site, decided on the normalised path', () => {
  it(`keeps every one of ${payloads.length} payloads on this site, as a browser resolves it`, () => {
    const escaped = payloads.filter((payload) => {
      const safe = safeNext(payload);
      return destination(safe).origin !== OURS || !safe.startsWith('/') || /^\/[/\\]/.test(safe);
    });
    expect(escaped).toEqual([]);
  });

  it.each([
    ['/.//evil.example', '/'],
    ['/a/..//evil.example/x', '/'],
    ['/./bookings', '/bookings'],
    ['/a/../bookings?week=2', '/bookings?week=2'],
  ])('takes %j to %j', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  describe('through the forms and pages that take next=', () => {
    let t: TestContext;
    beforeAll(async () => {
      t = await createTestApp({ env: { RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '1000000' } });
    });
    afterAll(() => t.close());

    async function post(url: string, form: Record<string, string>) {
      const page = await t.app.inject({ method: 'GET', url: '/sign-in', headers: { accept: 'text/html' } });
      // As a browser that opened the development sign-in address npm start prints.
      const cookie = [...[page.headers['set-cookie'] ?? []].flat(), `liaison_dev=${TEST_DEVELOPMENT_CODE}`]
        .map((set) => set.split(';')[0])
        .join('; ');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      return t.app.inject({
        method: 'POST',
        url,
        headers: { accept: 'text/html', cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrf, ...form }).toString(),
      });
    }

    it('redirects the language, time-zone and development sign-in forms home, and draws no Back link off-site', async () => {
      for (const next of ['/.//evil.example', '/a/..//evil.example', '/%2e//evil.example']) {
        const language = await post('/language', { uiLanguage: 'en', next });
        expect(language.headers.location, `language ${next}`).toBe('/');
        const zone = await post('/time-zone', { timeZone: 'Europe/London', next });
        expect(zone.headers.location, `time zone ${next}`).toBe('/');
        const signIn = await post('/sign-in/development', { email: 'ana@uni.example', role: 'student', next });
        expect(signIn.headers.location, `sign-in ${next}`).toBe('/');
        const page = await t.app.inject({
          method: 'GET',
          url: `/time-zone?next=${encodeURIComponent(next)}`,
          headers: { accept: 'text/html' },
        });
        expect(page.statusCode).toBe(200);
        const hrefs = [...page.body.matchAll(/href="([^"]*)"/g)].map((match) => match[1] as string);
        expect(hrefs.filter((href) => destination(href.replaceAll('&amp;', '&')).host === EVIL)).toEqual([]);
      }
    });
  });
});
