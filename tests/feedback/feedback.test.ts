import { count, eq } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { feedbackResponses, notifications } from '../../src/db/schema.js';
import { anonymiseBefore } from '../../src/modules/bookings/retention.js';
import type { NotificationWorker } from '../../src/modules/notifications/worker.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { createTestAppWithMail, type MailContext } from '../helpers/mail.js';
import type { SmtpSink } from '../helpers/smtp.js';

// After the session: one feedback email to each person who came, a form behind the link, and the
// figures. A real SMTP server, the real worker, the injected clock; PostgreSQL in CI and PGlite.

let mail: MailContext;
let t: TestContext;
let sink: SmtpSink;
let worker: NotificationWorker;
let librarian: { id: string; email: string };
const MONDAY = '2027-03-01T08:00:00Z';

beforeAll(async () => {
  mail = await createTestAppWithMail({ now: MONDAY });
  ({ t, sink, worker } = mail);
  librarian = await createLibrarianWithWeek(t, {
    email: 'ada@library.uni.example',
    name: 'Ada Lovelace',
    maxCompanions: 2,
    minNoticeMinutes: 0,
  });
});
afterAll(() => mail.close());
beforeEach(async () => {
  t.clock.set(MONDAY);
  await mail.clearMail();
});

function to(mail: ParsedMail): string {
  const address = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return address?.value[0]?.address ?? '';
}

/** Feedback emails received, to these recipients only when given (other tests' mail is ignored). */
const feedbackMails = async (...recipients: string[]) =>
  (await sink.parsed()).filter(
    (mail) =>
      (mail.subject ?? '').startsWith('How was your library session') &&
      (recipients.length === 0 || recipients.includes(to(mail))),
  );

const tokenIn = (mail: ParsedMail) => {
  const match = /\/feedback\?token=([\w-]+)/.exec(mail.text ?? '');
  if (!match) throw new Error('no feedback link');
  return match[1] as string;
};

/** Books a session for a student (with their fee status) and friends, then records who came. */
async function sessionAttended(options: {
  start: string;
  student: string;
  fee: string;
  friends?: { name: string; email?: string; came: boolean }[];
  came?: 'attended' | 'no_show';
  nervesBefore?: number;
}) {
  const headers = await t.auth('student', {
    sub: `idp|${options.student}`,
    email: `${options.student}@student.uni.example`,
    name: options.student,
  });
  await t.app.inject({
    method: 'PUT',
    url: '/api/v1/me',
    headers,
    payload: { categories: { fee_status: options.fee } },
  });
  const booked = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers,
    payload: {
      librarianId: librarian.id,
      start: options.start,
      ...(options.nervesBefore ? { nervesBefore: options.nervesBefore } : {}),
      ...(options.friends ? { companions: options.friends.map(({ came: _came, ...friend }) => friend) } : {}),
    },
  });
  expect(booked.statusCode, booked.body).toBe(201);
  const booking = booked.json();
  t.clock.set(new Date(new Date(options.start).getTime() + 50 * 60_000).toISOString());
  const recorded = await recordAttendance(
    booking,
    options.came ?? 'attended',
    options.friends?.map((f) => f.came),
  );
  expect(recorded.statusCode, recorded.body).toBe(200);
  return booking as { id: string; companions: { id: string }[] };
}

async function recordAttendance(
  booking: { id: string; companions: { id: string }[] },
  student: string,
  friends?: boolean[],
) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/bookings/${booking.id}/attendance`,
    headers: await t.auth('librarian', { email: librarian.email }),
    payload: {
      student,
      ...(friends
        ? { companions: friends.map((came, index) => ({ companionId: booking.companions[index]?.id, attended: came })) }
        : {}),
    },
  });
}

/** Opens the link as a browser would (session cookie, CSRF token) and posts the answers. */
async function answer(token: string, fields: Record<string, string>) {
  const page = await t.app.inject({ method: 'GET', url: `/feedback?token=${token}`, headers: { accept: 'text/html' } });
  expect(page.statusCode).toBe(200);
  const cookie = String(page.headers['set-cookie']).split(';')[0] as string;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] as string;
  return t.app.inject({
    method: 'POST',
    url: '/feedback',
    headers: { cookie, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, token, ...fields }).toString(),
  });
}

async function figures(query = 'from=2027-03-02&to=2027-03-02&by=fee_status') {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/uptake/feedback?${query}`,
    headers: await t.auth('analyst'),
  });
  expect(response.statusCode, response.body).toBe(200);
  return response;
}

describe('the feedback loop', () => {
  it('emails the student and the friend who came after the delay, never the friend who did not; the link opens the form once per person', async () => {
    const booking = await sessionAttended({
      start: '2027-03-02T09:00:00Z',
      student: 'wei',
      fee: 'international',
      friends: [
        { name: 'Came Along', email: 'came@student.uni.example', came: true },
        { name: 'Stayed Home', email: 'stayed@student.uni.example', came: false },
      ],
    });
    const people = ['wei@student.uni.example', 'came@student.uni.example', 'stayed@student.uni.example'];
    await worker.runOnce();
    expect(await feedbackMails(...people)).toHaveLength(0);
    // Recorded at 09:50; FEEDBACK_DELAY_HOURS = 2, so due at 11:50.
    t.clock.set('2027-03-02T11:49:00Z');
    await worker.runOnce();
    expect(await feedbackMails(...people)).toHaveLength(0);
    t.clock.set('2027-03-02T11:51:00Z');
    await worker.runOnce();
    const mails = await feedbackMails(...people);
    expect(mails.map(to).sort()).toEqual(['came@student.uni.example', 'wei@student.uni.example']);
    expect(mails[0]?.subject).toBe('How was your library session with Ada Lovelace?');
    // Later runs and a second recording of the same attendance send nothing more.
    expect((await recordAttendance(booking, 'attended', [true, false])).statusCode).toBe(200);
    t.clock.set('2027-03-02T18:00:00Z');
    await worker.runOnce();
    expect(await feedbackMails(...people)).toHaveLength(2);

    const studentMail = mails.find((mail) => to(mail) === 'wei@student.uni.example') as ParsedMail;
    const friendMail = mails.find((mail) => to(mail) === 'came@student.uni.example') as ParsedMail;
    expect(tokenIn(studentMail)).toMatch(/^[\w-]{43}$/);
    const form = await t.app.inject({
      method: 'GET',
      url: `/feedback?token=${tokenIn(studentMail)}`,
      headers: { accept: 'text/html' },
    });
    expect(form.body).toContain('Before the session, how nervous did you feel about it?');
    expect(form.body).not.toContain('Would you book a session for yourself?');
    const friendForm = await t.app.inject({
      method: 'GET',
      url: `/feedback?token=${tokenIn(friendMail)}`,
      headers: { accept: 'text/html' },
    });
    expect(friendForm.body).toContain('Would you book a session for yourself?');
    // Each email counts the questions its form asks: the fields of the form, counted here.
    const asked = (html: string) =>
      new Set([...html.matchAll(/name="(nervous|useful|nervesNow|bookMyself|comment)"/g)].map((m) => m[1])).size;
    expect([asked(form.body), asked(friendForm.body)]).toEqual([4, 4]);
    expect(studentMail.text).toContain('4 short questions, all optional');
    expect(friendMail.text).toContain('4 short questions, all optional');

    const sent = await answer(tokenIn(studentMail), { nervous: '4', useful: '5', comment: 'Less scary with a friend' });
    expect(sent.statusCode).toBe(303);
    expect(sent.headers.location).toBe(`/feedback?token=${tokenIn(studentMail)}&saved=1`);
    let report = (await figures()).json();
    let international = report.rows.find((row: { value: string }) => row.value === 'international');
    expect(international.withCompanion).toMatchObject({ requests: 1, responses: 1, responseRate: 1 });
    expect(international.withCompanion.nervous).toMatchObject({ answered: 1, mean: 4, distribution: [0, 0, 0, 1, 0] });
    expect(JSON.stringify(report)).not.toContain('Less scary');

    // A second submission replaces the first: still one response.
    expect((await answer(tokenIn(studentMail), { nervous: '2', useful: '5' })).statusCode).toBe(303);
    report = (await figures()).json();
    international = report.rows.find((row: { value: string }) => row.value === 'international');
    expect(international.withCompanion.responses).toBe(1);
    expect(international.withCompanion.nervous.distribution).toEqual([0, 1, 0, 0, 0]);
    const stored = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}/feedback`,
      headers: await t.auth('admin'),
    });
    expect(stored.json().feedback).toEqual([
      expect.objectContaining({ respondent: 'student', nervous: 2, useful: 5, comment: null }),
    ]);

    // A friend who would book for themselves is given the way to, once their answers are saved.
    expect((await answer(tokenIn(friendMail), { bookMyself: 'yes' })).statusCode).toBe(303);
    const friendSaved = await t.app.inject({
      method: 'GET',
      url: `/feedback?token=${tokenIn(friendMail)}&saved=1`,
      headers: { accept: 'text/html' },
    });
    expect(friendSaved.body).toContain('<a class="button" href="/">Book a session of your own with a librarian</a>');
    expect(friendForm.body).not.toContain('Book a session of your own');

    // Fourteen days from the email (sent 11:51 on 2 March): open on the 16th at 11:50, closed at 11:52.
    t.clock.set('2027-03-16T11:50:00Z');
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: `/feedback?token=${tokenIn(studentMail)}`,
          headers: { accept: 'text/html' },
        })
      ).statusCode,
    ).toBe(200);
    t.clock.set('2027-03-16T11:52:00Z');
    const expired = await t.app.inject({
      method: 'GET',
      url: `/feedback?token=${tokenIn(studentMail)}`,
      headers: { accept: 'text/html' },
    });
    expect(expired.statusCode).toBe(410);
    expect(expired.headers['content-type']).toContain('text/html');
    expect(expired.body).toContain('This link has expired');
  });

  it('skips an unsent email when attendance is corrected to a no-show, and asks again if corrected back', async () => {
    const booking = await sessionAttended({ start: '2027-03-03T09:00:00Z', student: 'mistaken', fee: 'home' });
    expect((await recordAttendance(booking, 'no_show')).statusCode).toBe(200);
    t.clock.set('2027-03-03T15:00:00Z');
    await worker.runOnce();
    expect(await feedbackMails('mistaken@student.uni.example')).toHaveLength(0);
    const rows = await t.db.select().from(notifications).where(eq(notifications.bookingId, booking.id));
    expect(rows.filter((row) => row.kind === 'feedback_request').map((row) => [row.status, row.lastError])).toEqual([
      ['skipped', 'superseded by attendance_corrected'],
    ]);
    expect((await recordAttendance(booking, 'attended')).statusCode).toBe(200);
    t.clock.set('2027-03-03T17:01:00Z');
    await worker.runOnce();
    expect((await feedbackMails('mistaken@student.uni.example')).map(to)).toEqual(['mistaken@student.uni.example']);
  });

  it('refuses answers outside the scale, naming the field, and stores nothing', async () => {
    await sessionAttended({ start: '2027-03-04T09:00:00Z', student: 'careful', fee: 'home' });
    t.clock.set('2027-03-04T12:00:00Z');
    await worker.runOnce();
    const [mail] = await feedbackMails('careful@student.uni.example');
    const token = tokenIn(mail as ParsedMail);
    const [before] = await t.db.select({ n: count() }).from(feedbackResponses);
    const tooHigh = await answer(token, { nervous: '6', useful: '3' });
    expect(tooHigh.statusCode).toBe(400);
    expect(tooHigh.headers['content-type']).toContain('text/html');
    expect(tooHigh.body).toContain('href="#nervous-1"');
    expect(tooHigh.body).toContain('Choose how nervous you felt from 1 to 5, or leave it blank');
    const long = await answer(token, { comment: 'x'.repeat(1001) });
    expect(long.statusCode).toBe(400);
    expect(long.body).toContain('href="#comment"');
    const notAsked = await answer(token, { bookMyself: 'yes' });
    expect(notAsked.statusCode).toBe(400);
    const [after] = await t.db.select({ n: count() }).from(feedbackResponses);
    expect(after?.n).toBe(before?.n);
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/feedback?token=not-a-real-token',
      headers: { accept: 'text/html' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('This link does not work');
  });

  it('shows comments to the booking’s librarian and admins only, and retention removes them but keeps the scores', async () => {
    const booking = await sessionAttended({ start: '2027-03-05T09:00:00Z', student: 'frank', fee: 'home' });
    t.clock.set('2027-03-05T12:00:00Z');
    await worker.runOnce();
    const [mail] = await feedbackMails('frank@student.uni.example');
    expect(
      (await answer(tokenIn(mail as ParsedMail), { useful: '5', comment: 'Very <b>helpful</b>' })).statusCode,
    ).toBe(303);
    const read = async (headers: Record<string, string>) =>
      t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booking.id}/feedback`, headers });
    const own = await read(await t.auth('librarian', { email: librarian.email }));
    expect(own.json().feedback).toEqual([
      expect.objectContaining({ respondent: 'student', useful: 5, nervous: null, comment: 'Very <b>helpful</b>' }),
    ]);
    expect((await read(await t.auth('admin'))).statusCode).toBe(200);
    const other = await createLibrarianWithWeek(t, { email: 'other@library.uni.example', name: 'Other' });
    expect((await read(await t.auth('librarian', { email: other.email }))).statusCode).toBe(404);
    expect((await read(await t.auth('analyst'))).statusCode).toBe(403);
    await anonymiseBefore(t.db, new Date('2027-03-06T00:00:00Z'), t.clock.now());
    expect((await read(await t.auth('admin'))).json().feedback).toEqual([
      expect.objectContaining({ useful: 5, comment: null }),
    ]);
  });

  it('gives the figures by fee status and friend, as worked by hand', async () => {
    // Week of 8 March, all international. With a friend: A, B, C; alone: D, E, F.
    const slot = (day: string, hour: number) => `2027-03-${day}T${String(hour).padStart(2, '0')}:00:00Z`;
    const withFriend = [
      ['fig-a', slot('08', 9)],
      ['fig-b', slot('08', 10)],
      ['fig-c', slot('08', 11)],
    ] as const;
    for (const [student, start] of withFriend) {
      await sessionAttended({
        start,
        student,
        fee: 'international',
        friends: [{ name: `Friend of ${student}`, email: `friend-${student}@student.uni.example`, came: true }],
      });
    }
    for (const [student, start] of [
      ['fig-d', slot('09', 9)],
      ['fig-e', slot('09', 10)],
      ['fig-f', slot('09', 11)],
    ] as const) {
      await sessionAttended({ start, student, fee: 'international' });
    }
    t.clock.set('2027-03-09T16:00:00Z');
    await worker.runOnce();
    const mails = await feedbackMails(
      ...['a', 'b', 'c', 'd', 'e', 'f'].map((letter) => `fig-${letter}@student.uni.example`),
      ...['a', 'b', 'c'].map((letter) => `friend-fig-${letter}@student.uni.example`),
    );
    expect(mails).toHaveLength(9);
    const tokenFor = (address: string) => tokenIn(mails.find((mail) => to(mail) === address) as ParsedMail);
    const answers: [string, Record<string, string>][] = [
      ['fig-a@student.uni.example', { nervous: '2', useful: '4' }],
      ['fig-b@student.uni.example', { nervous: '3', useful: '5' }],
      ['fig-c@student.uni.example', { nervous: '4', useful: '3' }],
      ['fig-d@student.uni.example', { nervous: '4', useful: '4' }],
      ['fig-e@student.uni.example', { nervous: '5', useful: '2' }],
      ['friend-fig-a@student.uni.example', { nervous: '1', bookMyself: 'yes' }],
      ['friend-fig-b@student.uni.example', { bookMyself: 'maybe' }],
    ];
    for (const [address, fields] of answers) expect((await answer(tokenFor(address), fields)).statusCode).toBe(303);

    const report = (await figures('from=2027-03-08&to=2027-03-12&by=fee_status')).json();
    const row = report.rows.find((candidate: { value: string }) => candidate.value === 'international');
    // With a friend: 3 asked, 3 answered; nervous 2, 3, 4 (mean 3, one of three at 4–5); useful 4, 5, 3.
    expect(row.withCompanion).toMatchObject({ requests: 3, responses: 3, responseRate: 1 });
    expect(row.withCompanion.nervous).toMatchObject({ answered: 3, mean: 3, distribution: [0, 1, 1, 1, 0] });
    expect(row.withCompanion.nervous.highShare).toBeCloseTo(1 / 3, 10);
    // Wilson 95% for 1/3, worked by hand: 0.0615 to 0.7923.
    expect(row.withCompanion.nervous.highShareCi95[0]).toBeCloseTo(0.0615, 4);
    expect(row.withCompanion.nervous.highShareCi95[1]).toBeCloseTo(0.7923, 4);
    expect(row.withCompanion.useful).toMatchObject({ answered: 3, mean: 4, distribution: [0, 0, 1, 1, 1] });
    // Alone: 3 asked, 2 answered; nervous 4, 5 (mean 4.5, both at 4–5); useful 4, 2.
    expect(row.withoutCompanion).toMatchObject({ requests: 3, responses: 2 });
    expect(row.withoutCompanion.responseRate).toBeCloseTo(2 / 3, 10);
    expect(row.withoutCompanion.nervous).toMatchObject({ mean: 4.5, distribution: [0, 0, 0, 1, 1], highShare: 1 });
    expect(row.withoutCompanion.useful).toMatchObject({ mean: 3, distribution: [0, 1, 0, 1, 0], highShare: 0.5 });
    // Nervous at 4–5: 1/3 − 2/2 = −0.667, Newcombe's interval −0.9385 to 0.1353 (worked by hand).
    expect(row.nervousHighDifference).toBeCloseTo(-2 / 3, 10);
    expect(row.nervousHighDifferenceCi95[0]).toBeCloseTo(-0.9385, 4);
    expect(row.nervousHighDifferenceCi95[1]).toBeCloseTo(0.1353, 4);
    // Useful at 4–5: 2/3 − 1/2 = 0.1667, interval −0.4458 to 0.6548.
    expect(row.usefulHighDifference).toBeCloseTo(1 / 6, 10);
    expect(row.usefulHighDifferenceCi95[0]).toBeCloseTo(-0.4458, 4);
    expect(row.usefulHighDifferenceCi95[1]).toBeCloseTo(0.6548, 4);
    // Friends: 3 asked, 2 answered; one yes and one maybe: half would book for themselves.
    expect(row.companions).toMatchObject({ requests: 3, responses: 2 });
    expect(row.companions.nervous).toMatchObject({ answered: 1, distribution: [1, 0, 0, 0, 0] });
    expect(row.companions.bookMyself).toMatchObject({ yes: 1, maybe: 1, no: 0, yesShare: 0.5 });
    expect(row.companions.bookMyself.yesShareCi95[0]).toBeCloseTo(0.0945, 4);

    const csv = await figures('from=2027-03-08&to=2027-03-12&by=fee_status&format=csv');
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body.split('\r\n')[0]).toContain('withNervousMean');
    const hesa = (await figures('from=2027-03-08&to=2027-03-12&by=fee_status&disclosure=hesa')).json();
    const hidden = hesa.rows.find((candidate: { value: string }) => candidate.value === 'international');
    // Under 23 answers: no means or shares; 3 rounds to 5.
    expect(hidden.withCompanion).toMatchObject({ requests: 5, responseRate: null });
    expect(hidden.withCompanion.nervous).toMatchObject({ mean: null, highShare: null });
  });

  it('asks nothing when FEEDBACK_DELAY_HOURS is 0', async () => {
    const off = await createTestApp({ now: MONDAY, env: { FEEDBACK_DELAY_HOURS: '0' } });
    try {
      const ada = await createLibrarianWithWeek(off, { email: 'off@library.uni.example', minNoticeMinutes: 0 });
      const booked = await off.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: await off.auth('student', { sub: 'idp|quiet', email: 'quiet@student.uni.example' }),
        payload: { librarianId: ada.id, start: '2027-03-02T09:00:00Z' },
      });
      off.clock.set('2027-03-02T09:50:00Z');
      const recorded = await off.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.json().id}/attendance`,
        headers: await off.auth('librarian', { email: ada.email }),
        payload: { student: 'attended' },
      });
      expect(recorded.statusCode).toBe(200);
      const queued = await off.db.select().from(notifications).where(eq(notifications.kind, 'feedback_request'));
      expect(queued).toEqual([]);
    } finally {
      await off.close();
    }
  });

  it('compares nerves when booking with nerves afterwards, with and without a friend, as worked by hand', async () => {
    // Monday 22 March, with a friend: 5 → 2, 4 → 4, 3 → 1. Tuesday 23 March, alone: 4 → 5, 2 → 2,
    // and one who answered only afterwards; Wednesday, one who answered only when booking.
    const people = [
      { student: 'calm-a', start: '2027-03-22T09:00:00Z', friend: true, before: 5, after: '2' },
      { student: 'calm-b', start: '2027-03-22T10:00:00Z', friend: true, before: 4, after: '4' },
      { student: 'calm-c', start: '2027-03-22T11:00:00Z', friend: true, before: 3, after: '1' },
      { student: 'calm-d', start: '2027-03-23T09:00:00Z', friend: false, before: 4, after: '5' },
      { student: 'calm-e', start: '2027-03-23T10:00:00Z', friend: false, before: 2, after: '2' },
      { student: 'calm-f', start: '2027-03-23T11:00:00Z', friend: false, before: undefined, after: '3' },
      { student: 'calm-g', start: '2027-03-24T09:00:00Z', friend: false, before: 3, after: undefined },
    ];
    for (const person of people) {
      await sessionAttended({
        start: person.start,
        student: person.student,
        fee: 'international',
        ...(person.before ? { nervesBefore: person.before } : {}),
        ...(person.friend ? { friends: [{ name: `Friend of ${person.student}`, came: true }] } : {}),
      });
    }
    t.clock.set('2027-03-24T16:00:00Z');
    await worker.runOnce();
    const mails = await feedbackMails(...people.map((person) => `${person.student}@student.uni.example`));
    expect(mails).toHaveLength(7);
    for (const person of people) {
      if (!person.after) continue;
      const mail = mails.find((candidate) => to(candidate) === `${person.student}@student.uni.example`);
      expect((await answer(tokenIn(mail as ParsedMail), { nervesNow: person.after })).statusCode).toBe(303);
    }
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/nerves?from=2027-03-22&to=2027-03-24&by=fee_status',
      headers: await t.auth('analyst'),
    });
    expect(response.statusCode, response.body).toBe(200);
    const row = response.json().rows.find((entry: { value: string }) => entry.value === 'international');
    // With a friend: changes −3, 0, −2: mean −5/3; s² = (1.7778 + 2.7778 + 0.1111) / 2 = 2.3333,
    // s.e. √(2.3333 / 3) = 0.8819, t(2) = 4.303 (the table): −1.6667 ± 3.7948.
    expect(row.withCompanion).toMatchObject({ pairs: 3, meanBefore: 4, fell: 2 });
    expect(row.withCompanion.meanAfter).toBeCloseTo(7 / 3, 6);
    expect(row.withCompanion.meanChange).toBeCloseTo(-5 / 3, 6);
    expect(row.withCompanion.meanChangeCi95[0]).toBeCloseTo(-5.4614, 3);
    expect(row.withCompanion.meanChangeCi95[1]).toBeCloseTo(2.1281, 3);
    expect(row.withCompanion.fellShareCi95[0]).toBeCloseTo(0.2077, 4);
    // Alone: changes +1 and 0: mean 0.5, s = 0.7071, s.e. 0.5, t(1) = 12.706: 0.5 ± 6.353.
    // Nobody fell: Wilson 0 of 2 runs to z² / (n + z²) = 3.8415 / 5.8415 = 0.6576.
    expect(row.withoutCompanion).toMatchObject({ pairs: 2, meanBefore: 3, meanAfter: 3.5, meanChange: 0.5, fell: 0 });
    expect(row.withoutCompanion.meanChangeCi95[0]).toBeCloseTo(-5.853, 3);
    expect(row.withoutCompanion.meanChangeCi95[1]).toBeCloseTo(6.853, 3);
    expect(row.withoutCompanion.fellShareCi95[1]).toBeCloseTo(0.6576, 4);
    const csv = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/nerves?from=2027-03-22&to=2027-03-24&by=fee_status&format=csv',
      headers: await t.auth('analyst'),
    });
    expect(csv.body.split('\r\n')[0]).toMatch(/^fee_status,withCompanionPairs,withCompanionMeanBefore,/);
    // A friend is never asked how they feel now (the question is about booking for oneself).
    const refused = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/nerves?from=2027-03-22&to=2027-03-24&by=nope',
      headers: await t.auth('analyst'),
    });
    expect(refused.statusCode).toBe(400);
  });
});
