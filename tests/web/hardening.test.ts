import { PassThrough } from 'node:stream';
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { bookings, librarians, notifications, webSessions } from '../../src/db/schema.js';
import { loggableUrl } from '../../src/http/logging.js';
import { clockTime } from '../../src/web/layout/forms.js';
import { safeNext } from '../../src/web/layout/page.js';
import { createTestApp, TEST_DEVELOPMENT_CODE, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Hardening round two, the page-side findings (1, 6–12, 14, 16), each by the attack that found it.

let t: TestContext;
let librarian: { id: string; email: string };
const log: string[] = [];

beforeAll(async () => {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  t = await createTestApp({
    now: '2027-03-01T12:00:00Z',
    // Hundreds of anonymous page views from one address: the read budget has its own test below.
    env: {
      LOG_LEVEL: 'info',
      SIGN_IN_EMAIL_DOMAINS: 'student.uni.example',
      RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '1000000',
    },
    logStream: stream,
  });
  librarian = await createLibrarianWithWeek(t, { email: 'ruth@library.uni.example', name: 'Ruth Librarian' });
});
afterAll(() => t.close());

type Form = Record<string, string | string[]>;

/** A browser without a browser: app.inject with a cookie jar, as a person on this machine would send. */
function visitor(headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') {
  const jar = new Map<string, string>();
  async function request(method: 'GET' | 'POST', url: string, form?: Form) {
    const body = form ? new URLSearchParams() : undefined;
    for (const [name, value] of Object.entries(form ?? {})) for (const one of [value].flat()) body?.append(name, one);
    const response = await t.app.inject({
      method,
      url,
      remoteAddress,
      headers: {
        accept: 'text/html',
        ...headers,
        ...(jar.size > 0 ? { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') } : {}),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { payload: body.toString() } : {}),
    });
    for (const set of [response.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = set.split(';');
      const index = pair.indexOf('=');
      if (pair.slice(index + 1) === '') jar.delete(pair.slice(0, index));
      else jar.set(pair.slice(0, index), pair.slice(index + 1));
    }
    return response;
  }
  return {
    request,
    jar,
    async csrf(url = '/sign-in') {
      const page = await request('GET', url);
      return /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    },
    async post(url: string, form: Form, from = '/sign-in') {
      return request('POST', url, { _csrf: await this.csrf(from), ...form });
    },
    /** Opens the development sign-in address npm start prints (or another code). */
    async unlock(code = TEST_DEVELOPMENT_CODE) {
      return request('GET', `/sign-in/development?code=${code}`);
    },
    async signIn(role: string, email: string) {
      await this.unlock();
      const response = await this.post('/sign-in/development', { email, role });
      expect(response.statusCode, response.body).toBe(303);
      return this;
    },
  };
}

const sessionRows = async () => (await t.db.select({ total: count() }).from(webSessions))[0]?.total ?? 0;

/** A booking with Ruth made through the API by the student `email` (as the development sign-in names them). */
async function bookAs(email: string, payload: Record<string, unknown>) {
  const headers = await t.auth('student', { sub: `dev:${email}`, email });
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers,
    payload: { librarianId: librarian.id, ...payload },
  });
  expect(response.statusCode, response.body).toBe(201);
  const booking = response.json() as {
    id: string;
    companions: { id: string }[];
    links: { companions: { manage: string }[] };
  };
  /** The first friend's link token. */
  const friendToken = () => new URL(booking.links.companions[0]?.manage as string).searchParams.get('token') as string;
  return { headers, booking, id: booking.id, friendToken };
}

describe('1: development sign-in only on a developer’s own machine', () => {
  it('offers and accepts it for a request from loopback without forwarding headers', async () => {
    const own = visitor();
    expect((await own.unlock()).headers.location).toBe('/sign-in');
    expect((await own.request('GET', '/sign-in')).body).toContain('Development sign-in');
    await own.signIn('admin', 'me@uni.example');
    expect((await own.request('GET', '/admin')).statusCode).toBe(200);
  });

  it.each([
    ['a proxy on this machine', { 'x-forwarded-for': '203.0.113.9' }, '127.0.0.1'],
    ['a Forwarded header', { forwarded: 'for=203.0.113.9;proto=https' }, '127.0.0.1'],
    ['X-Real-IP', { 'x-real-ip': '203.0.113.9' }, '127.0.0.1'],
    ['another interface', {}, '10.1.2.3'],
  ])('hides and refuses it for %s', async (_name, headers, remoteAddress) => {
    const outsider = visitor(headers, remoteAddress);
    expect((await outsider.unlock()).statusCode).toBe(404);
    const page = await outsider.request('GET', '/sign-in');
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('Development sign-in');
    const before = await sessionRows();
    const response = await outsider.post('/sign-in/development', { email: 'attacker@uni.example', role: 'admin' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['set-cookie'] ?? '').not.toContain('liaison_session=');
    expect(await sessionRows()).toBe(before);
  });

  it('hides and refuses it for a header-less proxy on this machine: loopback, no forwarding headers, no code', async () => {
    // Hardening round three, finding 10: HAProxy in TCP mode (or without forwardfor) looks local.
    const proxied = visitor();
    for (const code of ['', 'guessed-code-guessed-code-0000', `${TEST_DEVELOPMENT_CODE.slice(0, -1)}x`]) {
      expect((await proxied.unlock(code)).statusCode, code).toBe(404);
    }
    expect((await proxied.request('GET', '/sign-in')).body).not.toContain('Development sign-in');
    const before = await sessionRows();
    const response = await proxied.post('/sign-in/development', { email: 'attacker@uni.example', role: 'admin' });
    expect(response.statusCode).toBe(404);
    expect(await sessionRows()).toBe(before);
  });

  it.each([
    [{ TRUST_PROXY: '127.0.0.1' }, 'TRUST_PROXY is set'],
    [{ PUBLIC_URL: 'https://appointments.uni.example' }, 'PUBLIC_URL is https'],
    [{ HOST: '0.0.0.0' }, 'HOST=0.0.0.0 is beyond this machine'],
    [{ DATABASE_URL: 'postgres://liaison@127.0.0.1/liaison' }, 'DATABASE_URL is set'],
    [{ DEVELOPMENT_SIGN_IN: 'off' }, 'DEVELOPMENT_SIGN_IN=off'],
  ])('turns it off with %o, saying why', (env, reason) => {
    const config = loadConfig({ AUTH_JWT_SECRET: 'x'.repeat(40), ...env });
    expect(config.web.developmentSignIn).toBe(false);
    expect(config.web.developmentSignInRefused).toBe(reason);
  });

  it('keeps it for README’s first command: embedded database, loopback, plain http', () => {
    const config = loadConfig({});
    expect(config.web.developmentSignIn).toBe(true);
    expect(config.web.developmentSignInRefused).toBeNull();
  });

  it('refuses it in an app configured behind a proxy, even from loopback', async () => {
    const proxied = await createTestApp({ env: { TRUST_PROXY: '127.0.0.1' } });
    try {
      const form = await proxied.app.inject({ method: 'GET', url: '/sign-in', headers: { accept: 'text/html' } });
      expect(form.body).not.toContain('Development sign-in');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
      const cookie = String(form.headers['set-cookie']).split(';')[0] as string;
      const response = await proxied.app.inject({
        method: 'POST',
        url: '/sign-in/development',
        headers: { accept: 'text/html', cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrf, email: 'a@uni.example', role: 'admin' }).toString(),
      });
      expect(response.statusCode).toBe(404);
    } finally {
      await proxied.close();
    }
  });
});

describe('6: a librarian’s form is validated as strictly as the API', () => {
  it('answers rows=1e9 (and other counts) with the editor, never a crash', async () => {
    const staff = await visitor().signIn('librarian', librarian.email);
    const csrf = await staff.csrf('/staff/availability');
    for (const rows of ['1e9', '1000000000', '-1', '999999', 'NaN', '50']) {
      const response = await staff.request('POST', '/staff/availability', {
        _csrf: csrf,
        rows,
        slotMinutes: 'many',
        timeZone: 'Europe/London',
      });
      expect(response.statusCode, rows).toBe(400);
      expect(response.body, rows).toContain('There is a problem');
      // At most the API's 100 weekly rules and the editor's blank rows are drawn.
      expect((response.body.match(/name="start_\d+"/g) ?? []).length, rows).toBeLessThanOrEqual(103);
    }
  });

  it('refuses a javascript: meeting link by name, and saves nothing of the form', async () => {
    const staff = await visitor().signIn('librarian', librarian.email);
    const admin = await t.auth('admin');
    const before = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarian.id}/availability`,
      headers: admin,
    });
    expect(before.statusCode).toBe(200);
    const [stored] = await t.db.select().from(librarians).where(eq(librarians.id, librarian.id));
    const csrf = await staff.csrf('/staff/availability');
    const response = await staff.request('POST', '/staff/availability', {
      _csrf: csrf,
      rows: '1',
      weekday_0: '3',
      start_0: '13:00',
      end_0: '15:00',
      slotMinutes: '30',
      bufferMinutes: '0',
      minNoticeMinutes: '60',
      horizonDays: '60',
      timeZone: 'Europe/London',
      meetingUrl: 'javascript:alert(document.cookie)',
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Enter the meeting link as an address starting https://');
    expect(response.body).toContain('href="#meetingUrl"');
    const [row] = await t.db.select().from(librarians).where(eq(librarians.id, librarian.id));
    expect(row?.meetingUrl).toBe(stored?.meetingUrl);
    expect(row?.meetingUrl).toMatch(/^https:/);
    const after = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarian.id}/availability`,
      headers: admin,
    });
    expect(after.body).toBe(before.body);
  });
});

describe('9: meeting links are https on every path', () => {
  it.each([
    'javascript:alert(1)',
    'http://meet.example.org/room',
    'data:text/html,hi',
    `https://x.example/${'a'.repeat(600)}`,
  ])('refuses %s through the API', async (meetingUrl) => {
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/librarians/${librarian.id}`,
      headers: await t.auth('admin'),
      payload: { meetingUrl },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].pointer).toBe('/meetingUrl');
  });

  it('never shows or sends a link stored before the rule', async () => {
    const online = await createLibrarianWithWeek(t, { email: 'online@library.uni.example', name: 'Online Librarian' });
    await t.db
      .update(librarians)
      .set({ modes: ['online'] })
      .where(eq(librarians.id, online.id));
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { sub: 'idp|js', email: 'js@student.uni.example' }),
      payload: { librarianId: online.id, start: '2027-03-03T10:00:00Z', mode: 'online' },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    await t.db.update(bookings).set({ meetingUrl: 'javascript:alert(1)' }).where(eq(bookings.id, booked.json().id));
    const token = new URL(booked.json().links.manage).searchParams.get('token');
    const api = await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booked.json().id}?token=${token}` });
    expect(api.json().meetingUrl).toBeNull();
    const page = await visitor().request('GET', `/bookings/${booked.json().id}?token=${token}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('javascript:');
    const invite = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.json().id}/calendar.ics?token=${token}`,
    });
    expect(invite.body).not.toContain('javascript:');
  });
});

describe('7: looking at pages writes nothing, and shares the public read budget', () => {
  it('makes no session row for 200 anonymous page views, and still accepts their forms', async () => {
    const before = await sessionRows();
    for (let index = 0; index < 100; index++) {
      expect((await visitor().request('GET', '/sign-in')).statusCode).toBe(200);
      expect((await visitor().request('GET', `/librarians/${librarian.id}`)).statusCode).toBe(200);
    }
    expect(await sessionRows()).toBe(before);
    // The signed cookie's token is what a visitor's form carries.
    const person = visitor();
    const response = await person.post('/sign-in/email', { email: 'reader@student.uni.example' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/sign-in/check-email');
    // A token from another visitor's cookie, or a forged cookie, is refused.
    const other = visitor();
    const stolen = await other.csrf();
    expect(
      (await person.request('POST', '/sign-in/email', { _csrf: stolen, email: 'x@student.uni.example' })).statusCode,
    ).toBe(403);
    person.jar.set('liaison_csrf', `${stolen}.${'A'.repeat(43)}`);
    expect(
      (await person.request('POST', '/sign-in/email', { _csrf: stolen, email: 'x@student.uni.example' })).statusCode,
    ).toBe(403);
  });

  it('counts anonymous page views against RATE_LIMIT_PUBLIC_READS_PER_MINUTE with the API, but not a signed-in person’s', async () => {
    const limited = await createTestApp({ env: { RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '4' } });
    try {
      const statuses: number[] = [];
      for (const url of ['/api/v1/librarians', '/sign-in', '/', '/accessibility', '/sign-in', '/api/v1/librarians']) {
        statuses.push((await limited.app.inject({ method: 'GET', url, headers: { accept: 'text/html' } })).statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      const refused = await limited.app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } });
      expect(refused.headers['content-type']).toContain('text/html');
      // en.json's rule.rate_limited, with the seconds of Retry-After.
      expect(refused.body).toContain(
        `Too many requests from here in a short time. Wait ${refused.headers['retry-after']} seconds, then try again.`,
      );
    } finally {
      await limited.close();
    }
  });
});

describe('8: redirects after sign-in stay on this site', () => {
  it.each([
    ['/\t/evil.example/path', '/'],
    ['/\n/evil.example', '/'],
    ['/ /evil.example', '/'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['/%5Cevil.example', '/%5Cevil.example'],
    ['https://evil.example/', '/'],
    ['javascript:alert(1)', '/'],
    ['/bookings?week=2', '/bookings?week=2'],
    ['/librarians/abc?q=日本語', '/librarians/abc?q=%E6%97%A5%E6%9C%AC%E8%AA%9E'],
    ['/ремонт', '/%D1%80%D0%B5%D0%BC%D0%BE%D0%BD%D1%82'],
  ])('takes %j to %j', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  it('redirects to a non-Latin path percent-encoded, instead of failing', async () => {
    const person = visitor();
    await person.unlock();
    const response = await person.post('/sign-in/development', {
      email: 'wei@student.uni.example',
      role: 'student',
      next: '/librarians?q=图书馆',
    });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/librarians?q=%E5%9B%BE%E4%B9%A6%E9%A6%86');
  });

  it('never follows a tab-split path off-site after the emailed link', async () => {
    const person = visitor();
    await person.post('/sign-in/email', { email: 'tab@student.uni.example', next: '/\t/evil.example/path' });
    const [queued] = await t.db
      .select({ token: notifications.linkToken })
      .from(notifications)
      .where(and(eq(notifications.kind, 'sign_in_link'), eq(notifications.recipientEmail, 'tab@student.uni.example')));
    const token = queued?.token as string;
    const confirm = await person.request('GET', `/sign-in/link?token=${token}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    const used = await person.request('POST', '/sign-in/link', { _csrf: csrf, token });
    expect(used.statusCode).toBe(303);
    expect(used.headers.location).toBe('/');
  });
});

describe('10 and 12: link tokens stay out of logs and out of other people’s hands', () => {
  it('logs route patterns and known-safe parameters only, however a token is encoded or named', () => {
    // Hardening round three, finding 13: path tokens and non-canonical names (?to%6Ben=) were logged.
    const at = (url: string, route?: string) => loggableUrl({ url, routeOptions: { url: route } });
    expect(at('/sign-in?next=%2Fbookings%2Fb1%3Ftoken%3DSECRETVALUE%26x%3D1', '/sign-in')).toBe('/sign-in?next=…');
    expect(at('/sign-in?next=%252Fbookings%253Ftoken%253DSECRET', '/sign-in')).toBe('/sign-in?next=…');
    expect(at('/feedback?TOKEN=SECRET#top', '/feedback')).toBe('/feedback?TOKEN=…');
    expect(at('/bookings/b1?to%6Ben=SECRET', '/bookings/:id')).toBe('/bookings/:id?token=…');
    expect(at('/invitation/SECRET', '/invitation/:token')).toBe('/invitation/:token');
    expect(at('/invitations/stop/SECRET', '/invitations/stop/:token')).toBe('/invitations/stop/:token');
    expect(at('/people/export?email=ana%40uni.example', '/api/v1/people/export')).toBe('/api/v1/people/export?email=…');
    expect(at('/no/such/SECRET')).toBe('(no route)');
    expect(at('/api/v1/uptake?from=2026-08-01&groupBy=fee_status', '/api/v1/uptake')).toBe(
      '/api/v1/uptake?from=2026-08-01&groupBy=fee_status',
    );
  });

  it('puts no token in the manage page’s sign-in link, and none reaches the log', async () => {
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { sub: 'idp|logs', email: 'logs@student.uni.example' }),
      payload: { librarianId: librarian.id, start: '2027-03-04T10:00:00Z' },
    });
    const token = new URL(booked.json().links.manage).searchParams.get('token') as string;
    const page = await visitor().request('GET', `/bookings/${booked.json().id}?token=${token}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`href="/sign-in?next=${encodeURIComponent(`/bookings/${booked.json().id}`)}"`);
    expect(page.body.match(new RegExp(token, 'g'))?.length ?? 0).toBeGreaterThan(0);
    expect(page.body).not.toContain(`next=${encodeURIComponent(`/bookings/${booked.json().id}?token=`)}`);
    await visitor().request(
      'GET',
      `/sign-in?next=${encodeURIComponent(`/bookings/${booked.json().id}?token=${token}`)}`,
    );
    expect(log.join('')).not.toContain(token);
  });

  it('asks before an emailed link replaces the session in this browser, and uses it only by a POST', async () => {
    const person = await visitor().signIn('student', 'owner@student.uni.example');
    await visitor().post('/sign-in/email', { email: 'victim@student.uni.example' });
    const [queued] = await t.db
      .select({ token: notifications.linkToken })
      .from(notifications)
      .where(
        and(eq(notifications.kind, 'sign_in_link'), eq(notifications.recipientEmail, 'victim@student.uni.example')),
      );
    const token = queued?.token as string;
    const confirm = await person.request('GET', `/sign-in/link?token=${token}`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('<h1>Sign in as v…@student.uni.example instead?</h1>');
    expect(confirm.body).toContain('You are signed in as owner@student.uni.example in this browser.');
    // Opening it changed nothing: still the same person, and the link still works once.
    const mine = await person.request('GET', '/bookings');
    expect(mine.statusCode).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    const used = await person.request('POST', '/sign-in/link', { _csrf: csrf, token });
    expect(used.statusCode).toBe(303);
    const again = await person.request('POST', '/sign-in/link', { _csrf: await person.csrf('/accessibility'), token });
    expect(again.statusCode).toBe(410);
    // A forged form (no CSRF token) cannot use someone's link either.
    const forged = await visitor().request('POST', '/sign-in/link', { token });
    expect(forged.statusCode).toBe(403);
  });
});

describe('11: odd page input is a page, never a 5xx', () => {
  const ODD_QUERY = [
    'q=a&q=b',
    'notice=bogus',
    'notice=__proto__',
    'notice=a&notice=b',
    'token=a&token=b',
    `token=${'x'.repeat(43)}&token=y`,
    'start=%2B275760-09-13T00:00:00Z&librarian=00000000-0000-4000-8000-000000000000',
    'start=275760-09-13T00:00:00Z&librarian=00000000-0000-4000-8000-000000000000',
    'from=0000-01-01&to=9999-12-31',
    'from=2027-02-30',
    'period=year:275760&group=fee_status&group=fee_status&split=week',
    'period=term:%00&friend=with&friend=without',
    `q=${encodeURIComponent('日本語 العربية \u202e')}`,
    'week=99999999999&page=-1&rows=1e9',
    'saved=1&saved=2&booked=1&booked=x',
    `next=${encodeURIComponent('/\t/evil.example')}`,
  ];
  const PAGES = [
    '/',
    '/accessibility',
    '/time-zone',
    '/sign-in',
    '/sign-in/check-email',
    '/sign-in/link',
    '/librarians/LIBRARIAN',
    '/librarians/not-a-uuid',
    '/book',
    '/book/check',
    '/bookings',
    '/bookings/00000000-0000-4000-8000-000000000000',
    '/bookings/not-a-uuid',
    '/feedback',
    '/staff',
    '/staff/availability',
    '/staff/time-off',
    '/staff/record',
    '/staff/calendar',
    '/staff/calendars',
    '/admin',
    '/admin/librarians',
    '/admin/librarians/LIBRARIAN/edit',
    '/admin/categories',
    '/admin/closures',
    '/admin/terms',
    '/admin/imports',
    '/admin/imports/example.csv',
    '/admin/emails',
    '/admin/calendars',
    '/admin/teams',
    '/subjects/Law',
    '/teams/00000000-0000-4000-8000-000000000000',
    '/teams/not-a-uuid',
    '/waitlist/join',
    '/waitlist/offer',
    '/analytics',
    '/analytics/companion-effect',
    '/analytics/compare',
    '/analytics/uptake.csv',
    '/analytics/uptake.svg',
    '/analytics/companion-effect.csv',
    '/analytics/companion-effect.svg',
    '/analytics/feedback.csv',
    '/analytics/compare.csv',
    '/analytics/waitlist',
    '/privacy',
    '/sign-in/development',
    '/sign-in/oidc/callback',
    '/bookings/BOOKING/calendar.ics',
    '/bookings/BOOKING/reschedule',
    '/bookings/BOOKING/cancel',
    '/admin/librarians/LIBRARIAN/deactivate',
    '/admin/librarians/LIBRARIAN/calendars',
    '/admin/librarians/not-a-uuid/calendars',
    '/admin/people',
    '/admin/record',
    '/admin/campaigns',
    '/admin/campaigns/CAMPAIGN',
    '/admin/campaigns/not-a-uuid',
    '/analytics/friends-later.csv',
    '/analytics/campaigns',
    '/analytics/campaigns/CAMPAIGN',
    '/analytics/campaigns/CAMPAIGN/results.csv',
    '/analytics/campaigns/not-a-uuid',
    '/invitation/not-a-token',
    '/invitations/stop/not-a-token',
  ];
  const ODD_FORM: Form = {
    rows: '1e9',
    start: '275760-09-13T00:00:00Z',
    librarian: ['00000000-0000-4000-8000-000000000000', 'x'],
    from: '0000-01-01',
    to: '9999-12-31',
    startTime: '25:99',
    endTime: '',
    date: '275760-01-01',
    name: ['Comp\r\nSubject: injected', 'second'],
    email: ['a@b.example', 'c@d.example'],
    friendName0: 'Ünïcödé 名前 \u202e',
    friendEmail0: 'not an email',
    weekday_0: '99',
    start_0: '09:00',
    end_0: '08:00',
    timeZone: 'x'.repeat(300),
    meetingUrl: 'javascript:alert(1)',
    reason: 'x'.repeat(40_000),
    kind: 'bogus',
    role: 'admin',
    student: 'maybe',
    mode: 'teleport',
    token: ['a', 'b'],
    next: '/\t/evil.example',
    label: 'x'.repeat(200),
    url: 'webcal://192.168.0.1/\r\ncalendar.ics',
  };
  const POSTS = [
    '/time-zone',
    '/time-zone/choose',
    '/sign-in/email',
    '/sign-in/link',
    '/book/check',
    '/book/confirm',
    '/bookings/BOOKING/cancel',
    '/bookings/BOOKING/reschedule',
    '/bookings/BOOKING/friends',
    '/bookings/BOOKING/friends/remove',
    '/bookings/BOOKING/decline',
    '/bookings/BOOKING/attendance',
    '/feedback',
    '/staff/availability',
    '/staff/time-off',
    '/staff/time-off/not-a-uuid/remove',
    '/staff/record',
    '/staff/calendar',
    '/staff/calendars',
    '/staff/calendars/not-a-uuid/check',
    '/staff/calendars/caldav',
    '/staff/calendars/00000000-0000-4000-8000-000000000000/choose',
    '/admin/teams',
    '/admin/teams/not-a-uuid/remove',
    '/admin/teams/00000000-0000-4000-8000-000000000000/remove',
    '/waitlist/join',
    '/waitlist/offer',
    '/waitlist/not-a-uuid/leave',
    '/waitlist/00000000-0000-4000-8000-000000000000/leave',
    '/staff/calendars/00000000-0000-4000-8000-000000000000/remove',
    '/admin/librarians',
    '/admin/librarians/LIBRARIAN/edit',
    '/admin/librarians/LIBRARIAN/deactivate',
    '/admin/categories',
    '/admin/closures',
    '/admin/closures/not-a-uuid/remove',
    '/admin/terms',
    '/admin/emails/not-a-uuid/retry',
  ];

  it('lists every page the app serves (a page added later is fuzzed too, or this fails)', () => {
    const patterns = t.app
      .pageRoutes()
      .filter((route) => route.methods.includes('GET'))
      .map((route) => route.url);
    const concrete = (pattern: string) => new RegExp(`^${pattern.replace(/:\w+/g, '[^/]+')}$`);
    expect(patterns.filter((pattern) => !PAGES.some((page) => concrete(pattern).test(page)))).toEqual([]);
  });

  it('gives every page, for every kind of visitor, a non-5xx answer to odd queries, and logs no error', async () => {
    // A librarian of its own: the admin's odd posts may deactivate them.
    const librarian = await createLibrarianWithWeek(t, { email: 'fuzz@library.uni.example', name: 'Fuzz Librarian' });
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { sub: 'dev:fuzz@student.uni.example', email: 'fuzz@student.uni.example' }),
      payload: { librarianId: librarian.id, start: '2027-03-05T10:00:00Z', companion: { name: 'Friend' } },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const people = [
      visitor(),
      await visitor().signIn('student', 'fuzz@student.uni.example'),
      await visitor().signIn('librarian', librarian.email),
      await visitor().signIn('admin', 'admin@uni.example'),
      await visitor().signIn('analyst', 'analyst@uni.example'),
    ];
    const campaign = await t.app.inject({
      method: 'POST',
      url: '/api/v1/campaigns',
      headers: await t.auth('admin'),
      payload: {
        name: 'Fuzz campaign',
        hypothesis: 'An invitation raises bookings.',
        primaryOutcome: 'booked',
        arms: [{ key: 'A', name: 'Plain', percent: 50, subject: 'Book', body: '{bookingLink}', friendParagraph: '' }],
        holdoutPercent: 50,
        sendFrom: '2027-03-02T09:00:00Z',
        sendUntil: '2027-03-09T09:00:00Z',
      },
    });
    expect(campaign.statusCode, campaign.body).toBe(201);
    const fill = (path: string) =>
      path
        .replaceAll('LIBRARIAN', librarian.id)
        .replaceAll('BOOKING', booked.json().id as string)
        .replaceAll('CAMPAIGN', campaign.json().id as string);
    const errorsBefore = log.filter((line) => line.includes('"level":50')).length;
    const failures: string[] = [];
    for (const person of people) {
      // Every case, sent 16 at a time: a slow machine makes this slower, never different.
      const gets = PAGES.flatMap((path) => ODD_QUERY.map((query) => `${path}?${query}`));
      for (let at = 0; at < gets.length; at += 16) {
        await Promise.all(
          gets.slice(at, at + 16).map(async (url) => {
            const response = await person.request('GET', fill(url));
            // A 429 would mean the page was never reached: that would hide a 5xx, so it counts too.
            if (response.statusCode >= 500 || response.statusCode === 429) {
              failures.push(`GET ${url}: ${response.statusCode}`);
            }
          }),
        );
      }
      const csrf = await person.csrf('/accessibility');
      for (const path of POSTS) {
        const response = await person.request('POST', fill(path), { _csrf: csrf, ...ODD_FORM });
        if (response.statusCode >= 500) failures.push(`POST ${path}: ${response.statusCode}`);
      }
    }
    expect(failures).toEqual([]);
    expect(log.filter((line) => line.includes('"level":50')).slice(errorsBefore)).toEqual([]);
  });
});

describe('13: a malformed availability form saves nothing', () => {
  it('refuses a form whose row count or a weekday was tampered with, keeping the week as it was', async () => {
    const own = await createLibrarianWithWeek(t, { email: 'rows@library.uni.example', name: 'Rows Librarian' });
    const staff = await visitor().signIn('librarian', own.email);
    const week = async () =>
      (
        await t.app.inject({
          method: 'GET',
          url: `/api/v1/librarians/${own.id}/availability`,
          headers: await t.auth('admin'),
        })
      ).json().weekly;
    const before = await week();
    expect(before).toHaveLength(5);
    const settings = {
      slotMinutes: '60',
      bufferMinutes: '0',
      minNoticeMinutes: '60',
      horizonDays: '90',
      maxCompanions: '1',
    };
    const tamperedForms: Form[] = [
      { rows: 'abc' },
      {},
      { rows: '1', weekday_0: '9', start_0: '09:00', end_0: '12:00' },
      { rows: '1', weekday_0: 'x', start_0: '09:00', end_0: '12:00' },
    ];
    for (const tampered of tamperedForms) {
      const response = await staff.post('/staff/availability', { ...settings, ...tampered }, '/staff/availability');
      expect(response.statusCode, JSON.stringify(tampered)).toBe(400);
      expect(response.body).toContain('This form arrived incomplete, so nothing was saved.');
    }
    expect(await week()).toEqual(before);
  });
});

describe('refusals on a student’s page are worded from the catalogue', () => {
  it('says so in the catalogue’s words when a booking is moved to the time it already has', async () => {
    const email = 'same@student.uni.example';
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { sub: `dev:${email}`, email }),
      payload: { librarianId: librarian.id, start: '2027-03-09T11:00:00Z' },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const student = await visitor().signIn('student', email);
    const id = booked.json().id as string;
    const csrf = await student.csrf(`/bookings/${id}/reschedule`);
    const response = await student.request('POST', `/bookings/${id}/reschedule`, {
      _csrf: csrf,
      start: '2027-03-09T11:00:00Z',
    });
    expect(response.statusCode).toBe(422);
    // en.json's rule.same_slot, written here by hand; the service's English detail stays in the API.
    expect(response.body).toContain('Your session is already at that time. Choose a different time.');
    expect(response.body).not.toContain('The booking is already at that time.');
  });
});

describe('the confirmation promises only what will happen', () => {
  async function confirmation(email: string, start: string) {
    const { id } = await bookAs(email, { start });
    const student = await visitor().signIn('student', email);
    const page = await student.request('GET', `/bookings/${id}?booked=1`);
    expect(page.statusCode).toBe(200);
    return page.body;
  }

  it('says when the reminder goes for a session days ahead', async () => {
    // REMINDER_HOURS is 24: the day before, 10:00 on the clock in London (GMT in early March).
    const body = await confirmation('ahead@student.uni.example', '2027-03-10T10:00:00Z');
    expect(body).toContain('We will email you a reminder on Tuesday, 9 March 2027, 10:00 Greenwich Mean Time.');
  });

  it('promises no reminder for a session less than a day away, for none is sent', async () => {
    // Booked at 12:00 on 1 March for 11:00 on the 2nd: the reminder's time has passed already.
    const body = await confirmation('soon@student.uni.example', '2027-03-02T11:00:00Z');
    expect(body).toContain('What happens next');
    expect(body).not.toContain('reminder');
  });
});

describe('every page describes itself and has an icon', () => {
  it('gives a description from the catalogue and an SVG icon the server serves', async () => {
    const home = await visitor().request('GET', '/');
    expect(home.body).toContain(
      '<meta name="description" content="Book a one-to-one session with a university librarian, and bring a friend if you like.">',
    );
    expect(home.body).toContain('<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">');
    const icon = await t.app.inject({ method: 'GET', url: '/assets/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toContain('image/svg+xml');
    expect(icon.body.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });
});

describe('times of day as people type them', () => {
  it.each([
    ['9:00', '09:00'],
    ['09:00', '09:00'],
    ['9.30', '09:30'],
    [' 17:05 ', '17:05'],
    ['0:00', '00:00'],
    ['23:59', '23:59'],
    ['24:00', null],
    ['9:60', null],
    ['9', null],
    ['900', null],
    ['9:0', null],
    ['nine', null],
  ])('reads %j as %j', (typed, expected) => {
    expect(clockTime(typed)).toBe(expected);
  });
});

describe('a booking’s page offers only what still applies', () => {
  it('offers no meeting link on a cancelled session, and a way to book again', async () => {
    const email = 'cancelled.page@student.uni.example';
    const { id, headers } = await bookAs(email, { start: '2027-03-11T10:00:00Z', mode: 'online' });
    const student = await visitor().signIn('student', email);
    expect((await student.request('GET', `/bookings/${id}`)).body).toContain('join online');
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${id}/cancel`,
      headers,
      payload: {},
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const page = (await student.request('GET', `/bookings/${id}`)).body;
    expect(page).toContain('This session has been cancelled.');
    expect(page).not.toContain('join online');
    expect(page).not.toContain('Add to my calendar');
    expect(page).toContain(`href="/librarians/${librarian.id}">Book another session with Ruth Librarian</a>`);
  });

  it('lets the student correct a friend’s name and email in place, not remove and invite again', async () => {
    const email = 'corrects@student.uni.example';
    const { id, booking } = await bookAs(email, {
      start: '2027-03-15T10:00:00Z',
      companion: { name: 'Jo Mispelt', email: 'jo@wrong.example' },
    });
    const companionId = booking.companions[0]?.id as string;
    const student = await visitor().signIn('student', email);
    const before = (await student.request('GET', `/bookings/${id}`)).body;
    expect(before).toContain('Correct Jo Mispelt&#39;s name or email');
    const saved = await student.request('POST', `/bookings/${id}/friends`, {
      _csrf: await student.csrf(`/bookings/${id}`),
      companionId,
      name: 'Jo Spelt',
      email: 'jo@student.uni.example',
    });
    expect(saved.statusCode, saved.body).toBe(303);
    expect(saved.headers.location).toBe(`/bookings/${id}?notice=friendCorrected`);
    const after = (await student.request('GET', String(saved.headers.location))).body;
    expect(after).toContain('Your friend&#39;s details have been corrected.');
    expect(after).toContain('Jo Spelt (jo@student.uni.example)');
    expect(after).not.toContain('Jo Mispelt');
    expect(after).not.toContain('removed');
  });

  it('tells a removed friend their link no longer works because they were taken off, not that nothing was found', async () => {
    const { id, headers, friendToken } = await bookAs('removes@student.uni.example', {
      start: '2027-03-16T10:00:00Z',
      companion: { name: 'Lee' },
    });
    const token = friendToken();
    const removed = await t.app.inject({ method: 'DELETE', url: `/api/v1/bookings/${id}/companion`, headers });
    expect(removed.statusCode, removed.body).toBe(200);
    const page = await visitor().request('GET', `/bookings/${id}?token=${token}`);
    expect(page.statusCode).toBe(410);
    expect(page.body).toContain('You are no longer invited to this session');
    expect(page.body).not.toContain('Lee');
    // Any other dead link is still plainly not found.
    const unknown = await visitor().request('GET', `/bookings/${id}?token=${'x'.repeat(43)}`);
    expect(unknown.statusCode).toBe(404);
  });

  it('shows a friend no topic, and no calendar once they have said they can’t come', async () => {
    const { id, friendToken } = await bookAs('friend.page@student.uni.example', {
      start: '2027-03-12T10:00:00Z',
      topic: 'My overdue essay',
      companion: { name: 'Pat', email: 'pat@student.uni.example' },
    });
    const token = friendToken();
    const friend = visitor();
    const url = `/bookings/${id}?token=${token}`;
    const invited = (await friend.request('GET', url)).body;
    expect(invited).toContain('Add to my calendar');
    expect(invited).not.toContain('My overdue essay');
    const declined = await friend.request('POST', `/bookings/${id}/decline`, {
      _csrf: await friend.csrf(url),
      token,
    });
    expect(declined.statusCode).toBe(303);
    const after = (await friend.request('GET', url)).body;
    expect(after).toContain('You have told the student you can&#39;t come.');
    expect(after).not.toContain('Add to my calendar');
  });
});

describe('refusals on staff and admin pages are worded from the catalogue', () => {
  // Sentences of en.json, written here by hand; the services' English details stay in the API.
  it('says a librarian with that email exists in the catalogue’s words, not the service’s', async () => {
    const admin = await visitor().signIn('admin', 'admin@library.uni.example');
    const response = await admin.post(
      '/admin/librarians',
      { name: 'Ruth Again', email: librarian.email },
      '/admin/librarians',
    );
    expect(response.statusCode).toBe(409);
    expect(response.body).toContain('A librarian with this email address already exists.');
    expect(response.body).not.toContain(`A librarian with email ${librarian.email} already exists.`);
  });

  it('finds a key given to two questions, or an answer given twice, before the service does', async () => {
    const admin = await visitor().signIn('admin', 'admin@library.uni.example');
    const response = await admin.post(
      '/admin/categories',
      {
        rows: '2',
        key_0: 'level',
        label_0: 'Your level of study',
        values_0: 'ug = Undergraduate\npg = Postgraduate\nug = Undergraduate again',
        key_1: 'level',
        label_1: 'Your level, again',
        values_1: 'ug = Undergraduate',
      },
      '/admin/categories',
    );
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('The answer key ug appears twice. Give each answer its own key');
    expect(response.body).toContain(
      'The key level is already used by another question. Give each question its own key',
    );
    expect(response.body).not.toContain('appears twice in level');
  });
});

describe('14: line breaks in names never make new lines', () => {
  it('collapses a friend’s name with CR/LF to one line, in the booking and what is sent', async () => {
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { sub: 'idp|crlf', email: 'crlf@student.uni.example', name: 'Wei\r\nBcc: x' }),
      payload: {
        librarianId: librarian.id,
        start: '2027-03-08T10:00:00Z',
        companion: { name: 'Comp\r\nSubject: injected', email: 'comp@student.uni.example' },
      },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    expect(booked.json().companions[0].name).toBe('Comp Subject: injected');
    expect(booked.json().student.name).toBe('Wei Bcc: x');
    const queued = await t.db
      .select({ name: notifications.recipientName })
      .from(notifications)
      .where(eq(notifications.bookingId, booked.json().id));
    for (const row of queued) expect(row.name ?? '').not.toMatch(/[\r\n]/);
  });
});

describe('16: the API documentation page has the pages’ protections', () => {
  it('sends a strict CSP, no framing and no referrer with /docs', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(response.statusCode).toBe(200);
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain('https:');
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });
});
