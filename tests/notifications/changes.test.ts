import { and, eq } from 'drizzle-orm';
import ICAL from 'ical.js';
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manageTokens, notifications } from '../../src/db/schema.js';
import type { NotificationWorker } from '../../src/modules/notifications/worker.js';
import type { TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { parseWithPython } from '../helpers/icalendar-python.js';
import { createTestAppWithMail, type MailContext } from '../helpers/mail.js';
import type { SmtpSink } from '../helpers/smtp.js';

// Hardening items B, C, D and E (issue "Hardening"): what each person receives after fast changes,
// invites that two independent parsers read alike, names that cannot forge attendees, and secrets
// that do not travel.

let mail: MailContext;
let t: TestContext;
let sink: SmtpSink;
let worker: NotificationWorker;
let librarian: { id: string; email: string };
const NOW = '2027-03-20T08:00:00Z';

beforeAll(async () => {
  mail = await createTestAppWithMail({ now: NOW });
  ({ t, sink, worker } = mail);
  librarian = await createLibrarianWithWeek(t, {
    email: 'ada@library.uni.example',
    name: 'Ada Lovelace',
    maxCompanions: 2,
  });
});
afterAll(() => mail.close());
beforeEach(async () => {
  t.clock.set(NOW);
  await mail.clearMail();
});

function student(name: string) {
  return { sub: `idp|${name}`, email: `${name}@student.uni.example`, name: `${name} Student` };
}

async function book(who: string, start: string, extra: Record<string, unknown> = {}) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await t.auth('student', student(who)),
    payload: { librarianId: librarian.id, start, ...extra },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

async function change(who: string, url: string, payload: Record<string, unknown>) {
  const response = await t.app.inject({ method: 'POST', url, headers: await t.auth('student', student(who)), payload });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

function addressOf(mail: ParsedMail): string {
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return to?.value[0]?.address ?? '';
}

/** The calendar parts of a raw message, by content type, as a mail client sees the MIME tree. */
function calendarParts(raw: string): string[] {
  return [...raw.matchAll(/^Content-Type: (text\/calendar|application\/ics)[^\r\n]*/gim)].map((match) =>
    match[0].toLowerCase(),
  );
}

function inviteText(mail: ParsedMail): string {
  const attachment = mail.attachments.find((a) => a.filename === 'invite.ics');
  if (!attachment) throw new Error('no invite.ics');
  return attachment.content.toString('utf8');
}

function icalAttendees(ics: string) {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  return calendar.getAllSubcomponents('vevent').map((event) =>
    event.getAllProperties('attendee').map((property) => ({
      address: String(property.getFirstValue()).toLowerCase(),
      cn: property.getParameter('cn'),
      role: property.getParameter('role'),
      partstat: property.getParameter('partstat'),
      delegatedTo: property.getParameter('delegated-to') ?? null,
    })),
  );
}

describe('fast changes produce the right mail', () => {
  it('a move overtaken by a cancellation is skipped, and each person gets exactly one Cancelled email', async () => {
    const booked = await book('bo', '2027-03-22T09:00:00Z', {
      companion: { name: 'Friend Bo', email: 'friend.bo@student.uni.example' },
    });
    expect(await worker.runOnce()).toMatchObject({ sent: 3 });
    sink.received.length = 0;
    await change('bo', `/api/v1/bookings/${booked.id}/reschedule`, { start: '2027-03-22T10:00:00Z' });
    await change('bo', `/api/v1/bookings/${booked.id}/cancel`, {});
    expect(await worker.runOnce()).toMatchObject({ sent: 3, failed: 0 });
    const mails = await simpleParsed();
    expect(mails.map(addressOf).sort()).toEqual([
      'ada@library.uni.example',
      'bo@student.uni.example',
      'friend.bo@student.uni.example',
    ]);
    for (const mail of mails) expect(mail.subject).toMatch(/^Cancelled: /);
    const moves = await t.db
      .select()
      .from(notifications)
      .where(and(eq(notifications.bookingId, booked.id), eq(notifications.kind, 'booking_rescheduled')));
    expect(moves).toHaveLength(3);
    for (const move of moves) {
      expect(move.status).toBe('skipped');
      expect(move.lastError).toBe('superseded by booking_cancelled');
    }
  });

  it('a Moved email states the old and the new time', async () => {
    const booked = await book('mo', '2027-03-23T09:00:00Z');
    await worker.runOnce();
    sink.received.length = 0;
    await change('mo', `/api/v1/bookings/${booked.id}/reschedule`, { start: '2027-03-23T11:00:00Z' });
    await worker.runOnce();
    const mine = (await simpleParsed()).find((mail) => addressOf(mail) === 'mo@student.uni.example');
    expect(mine?.subject).toMatch(
      /^Moved: library session with Ada Lovelace, Tuesday, 23 March 2027, 11:00–12:00 Greenwich Mean Time$/,
    );
    expect(mine?.text).toContain('Was: Tuesday, 23 March 2027, 09:00–10:00 Greenwich Mean Time');
    expect(mine?.text).toContain('Now: Tuesday, 23 March 2027, 11:00–12:00 Greenwich Mean Time');
  });

  it('two moves before sending give one Moved email, from the first time to the last', async () => {
    const booked = await book('twomoves', '2027-03-24T09:00:00Z');
    await worker.runOnce();
    sink.received.length = 0;
    await change('twomoves', `/api/v1/bookings/${booked.id}/reschedule`, { start: '2027-03-24T10:00:00Z' });
    await change('twomoves', `/api/v1/bookings/${booked.id}/reschedule`, { start: '2027-03-24T11:00:00Z' });
    await worker.runOnce();
    const mine = (await simpleParsed()).filter((mail) => addressOf(mail) === 'twomoves@student.uni.example');
    expect(mine).toHaveLength(1);
    expect(mine[0]?.text).toContain('Was: Wednesday, 24 March 2027, 09:00–10:00 Greenwich Mean Time');
    expect(mine[0]?.text).toContain('Now: Wednesday, 24 March 2027, 11:00–12:00 Greenwich Mean Time');
  });

  it('a message keeps what it said when queued, even when the booking changes before it is sent', async () => {
    const booked = await book('early', '2027-03-25T09:00:00Z');
    await change('early', `/api/v1/bookings/${booked.id}/reschedule`, { start: '2027-03-25T10:00:00Z' });
    await worker.runOnce();
    const mine = (await simpleParsed()).filter((mail) => addressOf(mail) === 'early@student.uni.example');
    expect(mine.map((mail) => mail.subject?.split(',')[0]).sort()).toEqual([
      'Confirmed: library session with Ada Lovelace',
      'Moved: library session with Ada Lovelace',
    ]);
    const confirmation = mine.find((mail) => mail.subject?.startsWith('Confirmed'));
    expect(confirmation?.subject).toContain('09:00–10:00');
  });
});

async function simpleParsed(): Promise<ParsedMail[]> {
  return Promise.all(sink.received.map((raw) => simpleParser(raw)));
}

describe('invites that keep to RFC 5545', () => {
  it('writes DTSTAMP in UTC, no TIMEZONE-ID, and the invite once as the alternative and once as a file', async () => {
    const booked = await book('stamp', '2027-03-26T09:00:00Z');
    t.clock.set('2027-03-20T08:05:07Z');
    await worker.runOnce();
    const raw = sink.received.map((buffer) => buffer.toString()).find((text) => text.includes('stamp@student'));
    expect(raw).toBeDefined();
    expect(calendarParts(raw as string)).toEqual([
      'content-type: text/calendar; charset=utf-8; method=request',
      'content-type: application/ics; name=invite.ics',
    ]);
    const mail = await simpleParser(raw as string);
    const ics = inviteText(mail);
    expect(ics).toMatch(/^DTSTAMP:20270320T080507Z\r$/m);
    expect(ics).not.toMatch(/^TIMEZONE-ID/m);

    const fromIcalJs = new ICAL.Component(ICAL.parse(ics)).getFirstSubcomponent('vevent') as ICAL.Component;
    const stamp = fromIcalJs.getFirstPropertyValue('dtstamp') as ICAL.Time;
    expect(stamp.zone?.tzid).toBe('UTC');
    expect(stamp.toJSDate().toISOString()).toBe('2027-03-20T08:05:07.000Z');
    const start = fromIcalJs.getFirstPropertyValue('dtstart') as ICAL.Time;
    expect(start.toJSDate().toISOString()).toBe('2027-03-26T09:00:00.000Z');

    const fromPython = parseWithPython(ics);
    expect(fromPython.calendarProperties).not.toContain('TIMEZONE-ID');
    expect(fromPython.events).toHaveLength(1);
    expect(fromPython.events[0]).toMatchObject({
      uid: `${booked.id}@liaison`,
      dtstamp: '2027-03-20T08:05:07+00:00',
      dtstampIsUtc: true,
      dtstart: '2027-03-26T09:00:00+00:00',
    });
  });
});

describe('names cannot forge iCalendar parameters', () => {
  const forgers = [
    { name: 'Ann";PARTSTAT=ACCEPTED;ROLE=CHAIR;X-A="', email: 'ann@student.uni.example' },
    { name: 'x";ROLE=CHAIR;DELEGATED-TO="mailto:evil@attacker.example', email: 'x@student.uni.example' },
  ];

  function expectHonestAttendees(ics: string, expected: { address: string; cn: string; role: string }[]) {
    const [attendees] = icalAttendees(ics);
    expect(attendees).toEqual(
      expected.map((e) => ({ ...e, address: `mailto:${e.address}`, partstat: 'NEEDS-ACTION', delegatedTo: null })),
    );
    const [event] = parseWithPython(ics).events;
    expect(event?.attendees.map((a) => [a.address.toLowerCase(), a.role, a.partstat])).toEqual(
      expected.map((e) => [`mailto:${e.address}`, e.role, 'NEEDS-ACTION']),
    );
    for (const attendee of event?.attendees ?? []) {
      expect(attendee.params).toEqual(['CN', 'PARTSTAT', 'ROLE', 'RSVP']);
    }
  }

  it('keeps each forged name one attendee with its own role, in the email, the download and the feed', async () => {
    const booked = await book('dee', '2027-03-29T09:00:00Z', { companions: forgers });
    const expected = [
      { address: 'dee@student.uni.example', cn: 'dee Student', role: 'REQ-PARTICIPANT' },
      ...forgers.map((f) => ({ address: f.email, cn: f.name, role: 'OPT-PARTICIPANT' })),
    ];
    await worker.runOnce();
    const studentMail = (await simpleParsed()).find((mail) => addressOf(mail) === 'dee@student.uni.example');
    expectHonestAttendees(inviteText(studentMail as ParsedMail), expected);

    const download = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.id}/calendar.ics`,
      headers: await t.auth('student', student('dee')),
    });
    expectHonestAttendees(download.body, expected);

    const rotated = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${librarian.id}/calendar-token`,
      headers: await t.auth('admin'),
    });
    const feed = await t.app.inject({
      method: 'GET',
      url: new URL(rotated.json().url).pathname + new URL(rotated.json().url).search,
    });
    const calendar = new ICAL.Component(ICAL.parse(feed.body));
    const event = calendar
      .getAllSubcomponents('vevent')
      .find((candidate) => candidate.getFirstPropertyValue('uid') === `${booked.id}@liaison`) as ICAL.Component;
    expect(
      event.getAllProperties('attendee').map((p) => [String(p.getFirstValue()).toLowerCase(), p.getParameter('role')]),
    ).toEqual(expected.map((e) => [`mailto:${e.address}`, e.role]));
  });
});

describe('secrets and other people’s details stay home', () => {
  it('invites carry no manage link, and a retried message keeps its one token', async () => {
    const booked = await book('retry', '2027-03-30T09:00:00Z', {
      companion: { name: 'Retry Friend', email: 'retry.friend@student.uni.example' },
    });
    await sink.stop();
    try {
      const failing = await worker.runOnce();
      expect(failing.failed).toBe(3);
      t.clock.set('2027-03-20T08:01:00Z');
      expect((await worker.runOnce()).failed).toBe(3);
    } finally {
      await sink.restart();
    }
    t.clock.set('2027-03-20T09:00:00Z');
    expect(await worker.runOnce()).toMatchObject({ sent: 3 });
    const tokens = await t.db
      .select()
      .from(manageTokens)
      .where(and(eq(manageTokens.bookingId, booked.id), eq(manageTokens.issuedVia, 'email')));
    // One for the student's message and one for the companion's, after three attempts each.
    expect(tokens).toHaveLength(2);
    const rows = await t.db.select().from(notifications).where(eq(notifications.bookingId, booked.id));
    for (const row of rows.filter((r) => r.kind !== 'reminder')) expect(row.linkToken).toBeNull();

    const mails = await simpleParsed();
    const own = mails.find((mail) => addressOf(mail) === 'retry@student.uni.example') as ParsedMail;
    const link = /\?token=([\w-]+)/.exec(own.text ?? '')?.[1];
    expect(link).toBeDefined();
    const opened = await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booked.id}?token=${link}` });
    expect(opened.statusCode).toBe(200);
    for (const mail of mails) expect(inviteText(mail)).not.toMatch(/token=/);
  });

  it("a companion's invite, download and view show the student's name but not their email or categories", async () => {
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/me',
      headers: await t.auth('student', student('private')),
      payload: { categories: { fee_status: 'international' } },
    });
    const booked = await book('private', '2027-03-31T09:00:00Z', {
      companion: { name: 'Curious Friend', email: 'curious@student.uni.example' },
    });
    await worker.runOnce();
    const companionMail = (await simpleParsed()).find(
      (mail) => addressOf(mail) === 'curious@student.uni.example',
    ) as ParsedMail;
    const invite = inviteText(companionMail);
    expect(invite).not.toContain('private@student.uni.example');
    expect(icalAttendees(invite)[0]?.map((a) => a.address)).toEqual(['mailto:curious@student.uni.example']);
    expect(invite).toContain('private Student');

    const companionToken = /\?token=([\w-]+)/.exec(companionMail.text ?? '')?.[1];
    const view = await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booked.id}?token=${companionToken}` });
    expect(view.statusCode).toBe(200);
    expect(view.json().student).toEqual({ id: expect.any(String), name: 'private Student' });
    expect(view.json()).not.toHaveProperty('studentCategories');
    expect(view.body).not.toContain('international');
    const download = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.id}/calendar.ics?token=${companionToken}`,
    });
    expect(download.body).not.toContain('private@student.uni.example');
  });
});

describe('emails follow the student', () => {
  it("leads with the time in the zone the student booked in for them and their friend, the library's beside it", async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', student('shanghai')),
      payload: {
        librarianId: librarian.id,
        start: '2027-04-01T08:00:00Z',
        timeZone: 'Asia/Shanghai',
        companion: { name: 'Xiao', email: 'xiao@student.uni.example' },
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    await worker.runOnce();
    const mails = await simpleParsed();
    for (const address of ['shanghai@student.uni.example', 'xiao@student.uni.example']) {
      const mail = mails.find((candidate) => addressOf(candidate) === address);
      // 09:00 in London (BST, UTC+1) is 16:00 in Shanghai (UTC+8): their own time first, in the subject too.
      expect(mail?.subject).toMatch(/, Thursday, 1 April 2027, 16:00–17:00 China Standard Time$/);
      expect(mail?.text).toContain('When: Thursday, 1 April 2027, 16:00–17:00 China Standard Time');
      expect(mail?.text).toContain('At the library: Thursday, 1 April 2027, 09:00–10:00 British Summer Time');
    }
    // The librarian reads their own zone's time, and no second one.
    const librarianMail = mails.find((candidate) => addressOf(candidate) === 'ada@library.uni.example');
    expect(librarianMail?.subject).toMatch(/, Thursday, 1 April 2027, 09:00–10:00 British Summer Time$/);
    expect(librarianMail?.text).toContain('When: Thursday, 1 April 2027, 09:00–10:00 British Summer Time');
    expect(librarianMail?.text).not.toContain('At the library');
  });
});
