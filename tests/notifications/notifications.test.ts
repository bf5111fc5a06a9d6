import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import ICAL from 'ical.js';
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notifications } from '../../src/db/schema.js';
import { createMailer } from '../../src/modules/notifications/mailer.js';
import type { NotificationWorker } from '../../src/modules/notifications/worker.js';
import type { TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { createTestAppWithMail, type MailContext } from '../helpers/mail.js';
import type { SmtpSink } from '../helpers/smtp.js';

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
  // S: each test starts with an empty queue and an empty mailbox, whatever ran before it.
  t.clock.set(NOW);
  await mail.clearMail();
});

const studentClaims = { sub: 'idp|wei', email: 'wei@student.uni.example', name: 'Wei Zhang' };

async function book(start: string, extra: Record<string, unknown> = {}, claims = studentClaims) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await t.auth('student', claims),
    payload: { librarianId: librarian.id, start, ...extra },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

function to(mail: ParsedMail): string {
  const address = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return address?.value[0]?.address ?? '';
}

function inviteOf(mail: ParsedMail) {
  const attachment = mail.attachments.find((a) => a.filename === 'invite.ics');
  if (!attachment) throw new Error('no invite.ics');
  const text = attachment.content.toString('utf8');
  const calendar = new ICAL.Component(ICAL.parse(text));
  for (const zone of calendar.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(zone);
  const events = calendar.getAllSubcomponents('vevent');
  const event = events[0] as ICAL.Component;
  const attendees = event.getAllProperties('attendee').map((p) => ({
    email: String(p.getFirstValue()).replace(/^mailto:/i, ''),
    role: p.getParameter('role'),
  }));
  const start = event.getFirstPropertyValue('dtstart') as ICAL.Time;
  return {
    text,
    events,
    contentType: attachment.contentType,
    method: calendar.getFirstPropertyValue('method'),
    uid: event.getFirstPropertyValue('uid'),
    sequence: event.getFirstPropertyValue('sequence'),
    status: event.getFirstPropertyValue('status'),
    organizer: String(event.getFirstPropertyValue('organizer')).replace(/^mailto:/i, ''),
    attendees,
    startLocal: start.toString(),
    startZone: event.getFirstProperty('dtstart')?.getParameter('tzid'),
    startUtc: start.toJSDate().toISOString(),
  };
}

async function deliver() {
  return worker.runOnce();
}

describe('emails and invites', () => {
  it('sends the student a confirmation, the companion an invitation and the librarian a notice, each with an invite', async () => {
    const booking = await book('2027-03-23T09:00:00Z', {
      topic: 'Systematic review search strategy',
      companion: { name: 'Amira Haddad', email: 'amira@student.uni.example' },
    });
    expect(await deliver()).toMatchObject({ sent: 3, failed: 0 });
    const mails = await sink.parsed();
    const byRecipient = new Map(mails.map((mail) => [to(mail), mail]));
    expect([...byRecipient.keys()].sort()).toEqual([
      'ada@library.uni.example',
      'amira@student.uni.example',
      'wei@student.uni.example',
    ]);

    const student = byRecipient.get('wei@student.uni.example') as ParsedMail;
    expect(student.subject).toMatch(
      /^Confirmed: library session with Ada Lovelace, Tuesday, 23 March 2027, 09:00–10:00 Greenwich Mean Time$/,
    );
    expect(student.text).toContain('Friend: Amira Haddad');
    expect(student.html).toContain('<table>');
    const raw = sink.received.find((r) => r.toString().includes('To: Wei Zhang'))?.toString() ?? '';
    expect(raw).toMatch(/Content-Type: text\/calendar; charset=utf-8; method=REQUEST/i);

    const invite = inviteOf(student);
    expect(invite).toMatchObject({
      method: 'REQUEST',
      uid: `${booking.id}@liaison`,
      sequence: 0,
      status: 'CONFIRMED',
      organizer: 'ada@library.uni.example',
      startLocal: '2027-03-23T09:00:00',
      startZone: 'Europe/London',
      startUtc: '2027-03-23T09:00:00.000Z',
    });
    expect(invite.contentType).toBe('application/ics');
    expect(invite.attendees).toEqual([
      { email: 'wei@student.uni.example', role: 'REQ-PARTICIPANT' },
      { email: 'amira@student.uni.example', role: 'OPT-PARTICIPANT' },
    ]);

    // The student's link works; the companion's only lets them view and decline.
    // The link opens the booking's page; the same token works on the API's route as well.
    const link = new URL(
      /https:\/\/appointments\.uni\.example\/bookings\/\S+\?token=[\w-]+/.exec(student.text ?? '')?.[0] as string,
    );
    const page = await t.app.inject({
      method: 'GET',
      url: `${link.pathname}${link.search}`,
      headers: { accept: 'text/html' },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const viaLink = await t.app.inject({ method: 'GET', url: `/api/v1${link.pathname}${link.search}` });
    expect(viaLink.statusCode).toBe(200);
    const companion = byRecipient.get('amira@student.uni.example') as ParsedMail;
    expect(companion.subject).toMatch(/^Wei Zhang invited you to a library session with Ada Lovelace/);
    expect(companion.text).toContain('See the session, or decline');
    const companionLink = /https:\/\/\S+\?token=[\w-]+/.exec(companion.text ?? '')?.[0] as string;
    const companionToken = new URL(companionLink).searchParams.get('token');
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booking.id}/cancel?token=${companionToken}`,
    });
    expect(cancel.statusCode).toBe(403);
    expect(byRecipient.get('ada@library.uni.example')?.subject).toMatch(/^New booking: Wei Zhang/);
  });

  /** S: each test books its own session (its own student), delivers the confirmations and starts clean. */
  async function bookedWithFriend(who: string, start: string) {
    const claims = { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who };
    const booked = await book(
      start,
      { companion: { name: `${who}'s friend`, email: `friend.${who}@student.uni.example` } },
      claims,
    );
    await deliver();
    sink.received.length = 0;
    return { booking: booked as { id: string; links: { companions: { manage: string }[] } }, claims };
  }

  it('sends updated invites when the session moves across the DST change: same UID, higher SEQUENCE, 09:00 local', async () => {
    const { booking, claims } = await bookedWithFriend('ling', '2027-03-25T10:00:00Z');
    const moved = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booking.id}/reschedule`,
      headers: await t.auth('student', claims),
      payload: { start: '2027-03-29T08:00:00Z' },
    });
    expect(moved.statusCode).toBe(200);
    expect(await deliver()).toMatchObject({ sent: 3 });
    const invites = (await sink.parsed()).map((mail) => ({ subject: mail.subject, ...inviteOf(mail) }));
    for (const invite of invites) {
      expect(invite.subject).toMatch(/^Moved: /);
      expect(invite).toMatchObject({
        method: 'REQUEST',
        uid: `${booking.id}@liaison`,
        sequence: 1,
        startLocal: '2027-03-29T09:00:00',
        startZone: 'Europe/London',
        startUtc: '2027-03-29T08:00:00.000Z',
      });
    }
  });

  it('keeps names in any script whole through email headers (RFC 2047), bodies and invites', async () => {
    const claims = { sub: 'idp|wang', email: 'wang@student.uni.example', name: '王小明' };
    await book(
      '2027-03-24T11:00:00Z',
      { companion: { name: 'ليلى حداد', email: 'layla@student.uni.example', role: 'family' } },
      claims,
    );
    await deliver();
    const raw = sink.received
      .map((message) => message.toString())
      .find((message) => message.includes('To: =?UTF-8?') && message.includes('layla@student.uni.example'));
    // The header block is ASCII: names are encoded words, as RFC 2047 asks.
    const headerBlock = (raw ?? '').split(/\r?\n\r?\n/)[0] ?? '';
    expect(headerBlock).toMatch(/^Subject: =\?UTF-8\?/im);
    expect([...headerBlock].every((character) => character.charCodeAt(0) < 128)).toBe(true);
    const mails = await sink.parsed();
    const friend = mails.find((mail) => to(mail) === 'layla@student.uni.example') as ParsedMail;
    const student = mails.find((mail) => to(mail) === 'wang@student.uni.example') as ParsedMail;
    expect(friend.subject).toMatch(/^王小明 invited you to a library session with Ada Lovelace/);
    expect((Array.isArray(friend.to) ? friend.to[0] : friend.to)?.value[0]?.name).toBe('ليلى حداد');
    // Who the companion is to the student is said beside their name (a friend is simply named).
    expect(student.text).toContain('Friend: ليلى حداد (a family member)');
    const librarianMail = mails.find((mail) => to(mail) === 'ada@library.uni.example' && mail.text?.includes('王小明'));
    expect(librarianMail?.text).toContain('ليلى حداد (a family member)');
    // The invites, read by ICAL.js: each names the other person whole.
    const description = (mail: ParsedMail) => {
      const ics = mail.attachments.find((a) => a.filename === 'invite.ics')?.content.toString('utf8') ?? '';
      const event = new ICAL.Component(ICAL.parse(ics)).getFirstSubcomponent('vevent') as ICAL.Component;
      return String(event.getFirstPropertyValue('description'));
    };
    expect(description(student)).toContain('ليلى حداد');
    expect(description(friend)).toContain('王小明');
  });

  it('sends reminders before the session, and none for the time it was moved from', async () => {
    const { booking, claims } = await bookedWithFriend('rem', '2027-03-26T09:00:00Z');
    const moved = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booking.id}/reschedule`,
      headers: await t.auth('student', claims),
      payload: { start: '2027-03-30T08:00:00Z' },
    });
    expect(moved.statusCode).toBe(200);
    await deliver();
    sink.received.length = 0;
    const rows = await t.db.select().from(notifications).where(eq(notifications.bookingId, booking.id));
    const reminders = rows.filter((row) => row.kind === 'reminder');
    expect(reminders.filter((row) => row.status === 'skipped')).toHaveLength(2);
    expect(reminders.filter((row) => row.status === 'pending').map((row) => row.sendAfter.toISOString())).toEqual([
      '2027-03-29T08:00:00.000Z',
      '2027-03-29T08:00:00.000Z',
    ]);
    t.clock.set('2027-03-29T08:00:30Z');
    await deliver();
    // Other tests' reminders may fall due now too: look at this booking's people only.
    const subjects = (await sink.parsed())
      .filter((mail) => ['rem@student.uni.example', 'friend.rem@student.uni.example'].includes(to(mail)))
      .map((mail) => `${to(mail)} ${mail.subject}`)
      .sort();
    expect(subjects).toHaveLength(2);
    expect(subjects[0]).toMatch(/^friend\.rem@student\.uni\.example Reminder: rem's library session with Ada Lovelace/);
    expect(subjects[1]).toMatch(/^rem@student\.uni\.example Reminder: /);
    // The friend's reminder says again what a friend is for, and that nothing needs preparing; the student's does not.
    const texts = new Map((await sink.parsed()).map((mail) => [to(mail), mail.text ?? '']));
    expect(texts.get('friend.rem@student.uni.example')).toContain(
      'You are coming along to keep rem company: you need not prepare anything or know the subject. You can listen, ask questions, or simply be there.',
    );
    expect(texts.get('rem@student.uni.example')).not.toContain('keep rem company');
  });

  it("keeps the student's reminder when their friend can't come, and queues the friend's again when they can after all", async () => {
    const { booking } = await bookedWithFriend('undo', '2027-03-26T11:00:00Z');
    const token = new URL(booking.links.companions[0]?.manage as string).searchParams.get('token');
    const answer = (what: 'confirm' | 'decline' | 'rejoin') =>
      t.app.inject({ method: 'POST', url: `/api/v1/bookings/${booking.id}/companion/${what}?token=${token}` });
    const pendingReminders = async () =>
      (await t.db.select().from(notifications).where(eq(notifications.bookingId, booking.id)))
        .filter((row) => row.kind === 'reminder' && row.status === 'pending')
        .map((row) => `${row.recipientEmail} ${row.sendAfter.toISOString()}`)
        .sort();
    // "I'll come" leaves both reminders as they were, and is said once.
    const confirmed = await answer('confirm');
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json().companions).toMatchObject([{ status: 'invited', confirmed: true }]);
    expect(await pendingReminders()).toEqual([
      'friend.undo@student.uni.example 2027-03-25T11:00:00.000Z',
      'undo@student.uni.example 2027-03-25T11:00:00.000Z',
    ]);
    expect((await answer('confirm')).statusCode).toBe(409);
    const declined = await answer('decline');
    expect(declined.json().companions).toMatchObject([{ status: 'declined', confirmed: false }]);
    // REMINDER_HOURS is 24: the day before, 11:00 UTC on 25 March.
    expect(await pendingReminders()).toEqual(['undo@student.uni.example 2027-03-25T11:00:00.000Z']);
    const rejoined = await answer('rejoin');
    expect(rejoined.statusCode, rejoined.body).toBe(200);
    // "I can come after all" is a yes.
    expect(rejoined.json().companions).toMatchObject([{ status: 'invited', confirmed: true }]);
    expect(await pendingReminders()).toEqual([
      'friend.undo@student.uni.example 2027-03-25T11:00:00.000Z',
      'undo@student.uni.example 2027-03-25T11:00:00.000Z',
    ]);
    // Only a friend who said they can't come can undo it, and only before the session starts.
    expect((await answer('rejoin')).statusCode).toBe(409);
    expect((await answer('decline')).statusCode).toBe(200);
    t.clock.set('2027-03-26T11:00:00Z');
    const late = await answer('rejoin');
    expect(late.statusCode).toBe(422);
    expect(late.json().code).toBe('session_started');
  });

  it('sends cancellations with METHOD:CANCEL and STATUS:CANCELLED', async () => {
    const { booking, claims } = await bookedWithFriend('cal', '2027-03-26T10:00:00Z');
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booking.id}/cancel`,
      headers: await t.auth('student', claims),
      payload: { reason: 'Deadline moved' },
    });
    expect(cancelled.statusCode).toBe(200);
    expect(await deliver()).toMatchObject({ sent: 3 });
    for (const mail of await sink.parsed()) {
      expect(mail.subject).toMatch(/^Cancelled: /);
      expect(inviteOf(mail)).toMatchObject({ method: 'CANCEL', status: 'CANCELLED', sequence: 1 });
    }
    expect(sink.received.every((raw) => /method=CANCEL/i.test(raw.toString()))).toBe(true);
  });

  it('tells a removed companion their invitation is cancelled, and the librarian', async () => {
    const second = await book('2027-03-24T10:00:00Z', { companion: { name: 'Jo', email: 'jo@student.uni.example' } });
    await deliver();
    sink.received.length = 0;
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/bookings/${second.id}/companion`,
      headers: await t.auth('student', studentClaims),
    });
    expect(removed.statusCode).toBe(200);
    expect(await deliver()).toMatchObject({ sent: 2 });
    const mails = await sink.parsed();
    const jo = mails.find((mail) => to(mail) === 'jo@student.uni.example') as ParsedMail;
    expect(jo.subject).toMatch(/^You are no longer invited/);
    expect(inviteOf(jo).method).toBe('CANCEL');
    const ada = mails.find((mail) => to(mail) === 'ada@library.uni.example') as ParsedMail;
    expect(inviteOf(ada)).toMatchObject({ method: 'REQUEST', sequence: 1 });
  });
});

describe('each message is written for its recipient', () => {
  /** Adds (or, with companionId, corrects) a friend through the API; the booking as it now is. */
  async function putFriend(bookingId: string, headers: Record<string, string>, payload: Record<string, unknown>) {
    const response = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/bookings/${bookingId}/companion`,
      headers,
      payload,
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  }

  /** The headline of every message delivered now (the subject before its time), by recipient. */
  async function headlines(): Promise<string[]> {
    expect(await deliver()).toMatchObject({ failed: 0 });
    const lines = (await sink.parsed()).map((mail) => `${to(mail)}: ${(mail.subject ?? '').split(', ')[0]}`).sort();
    sink.received.length = 0;
    return lines;
  }

  it('gives the student, each friend and the librarian their own headline for every kind of change', async () => {
    const claims = { sub: 'idp|mei', email: 'mei@student.uni.example', name: 'Mei Chen' };
    const student = await t.auth('student', claims);
    const booked = await book(
      '2027-03-30T10:00:00Z',
      { companion: { name: 'Amira Haddad', email: 'amira@student.uni.example' } },
      claims,
    );
    expect(await headlines()).toEqual([
      'ada@library.uni.example: New booking: Mei Chen',
      'amira@student.uni.example: Mei Chen invited you to a library session with Ada Lovelace',
      'mei@student.uni.example: Confirmed: library session with Ada Lovelace',
    ]);

    const added = await putFriend(booked.id, student, { name: 'Kofi Mensah', email: 'kofi@student.uni.example' });
    expect(await headlines()).toEqual([
      'ada@library.uni.example: Kofi Mensah is coming to the session with Mei Chen',
      'kofi@student.uni.example: Mei Chen invited you to a library session with Ada Lovelace',
    ]);

    const kofiToken = new URL(added.links.companions[0].manage as string).searchParams.get('token');
    const coming = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.id}/companion/confirm?token=${kofiToken}`,
    });
    expect(coming.statusCode, coming.body).toBe(200);
    expect(await headlines()).toEqual([
      'ada@library.uni.example: Kofi Mensah has said they will come to the session with Mei Chen',
      'mei@student.uni.example: Kofi Mensah has said they will come to your session with Ada Lovelace',
    ]);
    const declined = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.id}/companion/decline?token=${kofiToken}`,
    });
    expect(declined.statusCode, declined.body).toBe(200);
    expect(await headlines()).toEqual([
      "ada@library.uni.example: Kofi Mensah can't come to the session with Mei Chen",
      "mei@student.uni.example: Kofi Mensah can't come to your session with Ada Lovelace",
    ]);
    const rejoined = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.id}/companion/rejoin?token=${kofiToken}`,
    });
    expect(rejoined.statusCode, rejoined.body).toBe(200);
    expect(await headlines()).toEqual([
      'ada@library.uni.example: Kofi Mensah can come to the session with Mei Chen after all',
      'mei@student.uni.example: Kofi Mensah can come to your session with Ada Lovelace after all',
    ]);

    const amira = booked.companions[0].id as string;
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/bookings/${booked.id}/companion?companionId=${amira}`,
      headers: student,
    });
    expect(removed.statusCode, removed.body).toBe(200);
    expect(await headlines()).toEqual([
      'ada@library.uni.example: Amira Haddad is no longer coming to the session with Mei Chen',
      "amira@student.uni.example: You are no longer invited to Mei Chen's library session",
    ]);

    await putFriend(booked.id, student, { name: 'Lena Vogel', email: 'lena@student.uni.example' });
    await headlines();
    const moved = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.id}/reschedule`,
      headers: student,
      payload: { start: '2027-03-31T10:00:00Z' },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(await headlines()).toEqual([
      'ada@library.uni.example: Moved: session with Mei Chen',
      "kofi@student.uni.example: Moved: Mei Chen's library session with Ada Lovelace",
      "lena@student.uni.example: Moved: Mei Chen's library session with Ada Lovelace",
      'mei@student.uni.example: Moved: library session with Ada Lovelace',
    ]);

    // Reminders go 24 hours before (REMINDER_HOURS' default), to the student and the friends coming.
    t.clock.set('2027-03-30T10:00:30Z');
    expect((await headlines()).filter((line) => /^(mei|lena|kofi)@/.test(line))).toEqual([
      "kofi@student.uni.example: Reminder: Mei Chen's library session with Ada Lovelace",
      "lena@student.uni.example: Reminder: Mei Chen's library session with Ada Lovelace",
      'mei@student.uni.example: Reminder: library session with Ada Lovelace',
    ]);

    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.id}/cancel`,
      // A new token: the clock has moved past the first one's expiry.
      headers: await t.auth('student', claims),
      payload: {},
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(await headlines()).toEqual([
      'ada@library.uni.example: Cancelled: session with Mei Chen',
      "kofi@student.uni.example: Cancelled: Mei Chen's library session with Ada Lovelace",
      "lena@student.uni.example: Cancelled: Mei Chen's library session with Ada Lovelace",
      'mei@student.uni.example: Cancelled: library session with Ada Lovelace',
    ]);
  });

  it('corrects a friend’s email as an edit: the new address is invited, the old one told nothing, its link stops working', async () => {
    const claims = { sub: 'idp|fix', email: 'fix@student.uni.example', name: 'Fixer' };
    const booked = await book(
      '2027-03-29T10:00:00Z',
      { companion: { name: 'Sam Typo', email: 'sam@typo.example' } },
      claims,
    );
    await deliver();
    sink.received.length = 0;
    const oldToken = new URL(booked.links.companions[0].manage as string).searchParams.get('token');
    const companionId = booked.companions[0].id as string;
    const corrected = await putFriend(booked.id, await t.auth('student', claims), {
      companionId,
      name: 'Sam Taylor',
      email: 'sam@student.uni.example',
    });
    expect(corrected.companions).toEqual([
      expect.objectContaining({
        id: companionId,
        name: 'Sam Taylor',
        email: 'sam@student.uni.example',
        status: 'invited',
      }),
    ]);
    expect(await headlines()).toEqual([
      'ada@library.uni.example: Sam Taylor is coming to the session with Fixer',
      'sam@student.uni.example: Fixer invited you to a library session with Ada Lovelace',
    ]);
    const old = await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booked.id}?token=${oldToken}` });
    expect(old.statusCode).toBe(404);

    // A name alone is corrected quietly: nobody is emailed.
    await putFriend(booked.id, await t.auth('student', claims), {
      companionId,
      name: 'Samira Taylor',
      email: 'sam@student.uni.example',
    });
    expect(await headlines()).toEqual([]);
  });

  it('tells the librarian of the student, a friend who invited them, and keeps the topic from the friend', async () => {
    await book('2027-04-01T10:00:00Z', {
      topic: 'Dissertation sources',
      mode: 'online',
      companion: { name: 'Amira Haddad', email: 'amira.topic@student.uni.example' },
    });
    expect(await deliver()).toMatchObject({ sent: 3 });
    const parsed = await sink.parsed();
    const mails = new Map(parsed.map((mail) => [to(mail), mail.text ?? '']));
    const friend = mails.get('amira.topic@student.uni.example') as string;
    // The friend is told who asked, that they are welcome as they are, and how we have their address.
    for (const sentence of [
      'Wei Zhang would like you to come along to their library session with Ada Lovelace. Students often find a first appointment easier with someone they know, so you are very welcome.',
      'You need not prepare anything, and you need not be a student here. Ada Lovelace will talk with Wei Zhang about their work; you can listen, ask questions or simply keep them company.',
      "If you can't come, say so with the link below: Wei Zhang will be told, and nobody will mind.",
      'We have your email address because Wei Zhang gave it to us when booking. We use it only to tell you about this session.',
    ]) {
      expect(friend).toContain(sentence);
    }
    expect(mails.get('wei@student.uni.example')).not.toContain('come along');
    // The privacy notice, as a link a mail reader opens (it explains the friend's part).
    expect(friend).toMatch(/^Privacy notice: https?:\/\/[^/\s]+\/privacy#friends$/m);
    const friendHtml = String(parsed.find((mail) => to(mail) === 'amira.topic@student.uni.example')?.html);
    expect(friendHtml).toMatch(/<a href="https?:\/\/[^/"]+\/privacy#friends">Privacy notice<\/a>/);
    expect(mails.get('wei@student.uni.example')).not.toContain('Privacy notice');
    // Every message is a whole HTML document in its language, titled, with the meeting link a link.
    for (const mail of parsed) {
      const html = String(mail.html);
      expect(html).toContain('<html lang="en">');
      expect(html).toContain(`<title>${mail.subject}</title>`);
      expect(html).toContain('<a href="https://meet.example.ac.uk/ada">Online: https://meet.example.ac.uk/ada</a>');
    }
    expect(friend).toContain('Invited by: Wei Zhang');
    expect(friend).toContain('With: Ada Lovelace (librarian)');
    expect(friend).not.toContain('Dissertation sources');
    expect(friend).not.toContain('Friend:');
    const librarianText = mails.get('ada@library.uni.example') as string;
    expect(librarianText).toContain('Student: Wei Zhang');
    expect(librarianText).toContain('Friend: Amira Haddad');
    expect(librarianText).toContain('Topic: Dissertation sources');
    expect(librarianText).not.toContain('With:');
    const studentText = mails.get('wei@student.uni.example') as string;
    expect(studentText).toContain('With: Ada Lovelace (librarian)');
    expect(studentText).toContain('Friend: Amira Haddad');
    expect(studentText).not.toContain('Student:');
  });
});

describe('delivery that survives faults', () => {
  it('retries while the mail server is down and delivers every message once it is back', async () => {
    await sink.stop();
    const booked = await book(
      '2027-03-25T09:00:00Z',
      { companion: { name: 'Sam', email: 'sam@student.uni.example' } },
      {
        sub: 'idp|outage',
        email: 'outage@student.uni.example',
        name: 'Olu',
      },
    );
    const firstRun = await deliver();
    expect(firstRun).toMatchObject({ sent: 0, failed: 3 });
    const failed = await t.db.select().from(notifications).where(eq(notifications.bookingId, booked.id));
    const due = failed.filter((row) => row.kind !== 'reminder');
    expect(due.every((row) => row.status === 'failed' && row.attempts === 1 && row.lastError)).toBe(true);
    expect(due.every((row) => row.sendAfter.toISOString() === '2027-03-20T08:00:30.000Z')).toBe(true);

    await sink.restart();
    expect(await deliver()).toMatchObject({ sent: 0 }); // not yet due
    t.clock.set('2027-03-20T08:00:31Z');
    expect(await deliver()).toMatchObject({ sent: 3, failed: 0 });
    const mails = await sink.parsed();
    expect(mails.map(to).sort()).toEqual([
      'ada@library.uni.example',
      'outage@student.uni.example',
      'sam@student.uni.example',
    ]);
    const sent = await t.db.select().from(notifications).where(eq(notifications.bookingId, booked.id));
    const messageIds = sent
      .filter((row) => row.status === 'sent')
      .map((row) => row.messageId)
      .sort();
    expect(mails.map((mail) => mail.messageId).sort()).toEqual(messageIds);
    expect(await deliver()).toMatchObject({ sent: 0, failed: 0 });
  });

  it('marks a message dead after its last attempt, and lets an admin retry it', async () => {
    const booked = await book(
      '2027-03-22T09:00:00Z',
      {},
      { sub: 'idp|dead', email: 'dead@student.uni.example', name: 'Dee' },
    );
    await t.db.update(notifications).set({ attempts: 31 }).where(eq(notifications.bookingId, booked.id));
    await sink.stop();
    try {
      expect(await deliver()).toMatchObject({ dead: 2 });
    } finally {
      await sink.restart();
    }
    const dead = await t.app.inject({
      method: 'GET',
      url: '/api/v1/notifications?status=dead',
      headers: await t.auth('admin'),
    });
    const rows = dead.json().notifications.filter((n: { bookingId: string }) => n.bookingId === booked.id);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ status: 'dead', attempts: 32, lastError: expect.any(String) });
    const forbidden = await t.app.inject({
      method: 'GET',
      url: '/api/v1/notifications',
      headers: await t.auth('librarian', { email: librarian.email }),
    });
    expect(forbidden.statusCode).toBe(403);

    for (const row of rows) {
      const retried = await t.app.inject({
        method: 'POST',
        url: `/api/v1/notifications/${row.id}/retry`,
        headers: await t.auth('admin'),
      });
      expect(retried.json()).toMatchObject({ status: 'pending', attempts: 0 });
    }
    expect(await deliver()).toMatchObject({ sent: 2 });
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/v1/notifications/${rows[0].id}/retry`,
      headers: await t.auth('admin'),
    });
    expect(again.statusCode).toBe(409);
  });
});

describe('user text is inert', () => {
  it('keeps CR/LF out of headers, BEGIN:VEVENT out of the calendar and <script> out of the HTML', async () => {
    const booked = await book(
      '2027-03-31T09:00:00Z',
      {
        topic: 'Help\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:pwned',
        companion: { name: 'Mal\r\nBcc: victim@evil.example', email: 'mal@student.uni.example' },
      },
      { sub: 'idp|eve', email: 'eve@student.uni.example', name: 'Eve\r\nBcc: victim@evil.example' },
    );
    await deliver();
    sink.received.length = 0;
    await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.id}/cancel`,
      headers: await t.auth('student', {
        sub: 'idp|eve',
        email: 'eve@student.uni.example',
        name: 'Eve\r\nBcc: victim@evil.example',
      }),
      payload: { reason: '<script>alert("x")</script>' },
    });
    await deliver();
    const mails = await sink.parsed();
    expect(mails.length).toBe(3);
    for (const mail of mails) {
      expect(mail.bcc).toBeUndefined();
      expect(mail.headers.has('bcc')).toBe(false);
      expect(mail.subject).not.toMatch(/[\r\n]/);
      const invite = inviteOf(mail);
      expect(invite.events).toHaveLength(1);
      expect(invite.text).not.toMatch(/^SUMMARY:pwned/m);
      expect(mail.html).not.toContain('<script>');
      expect(mail.html).toContain('&#60;script&#62;');
      expect(mail.text).toContain('<script>alert("x")</script>');
    }
  });
});

describe('the embedded default', () => {
  it('writes each message as a readable .eml file in DATA_DIR/outbox', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-outbox-'));
    const files = createMailer({ smtpUrl: undefined, mailFrom: t.config.mailFrom, dataDir });
    await files.send({
      to: { name: 'Wei Zhang', address: 'wei@student.uni.example' },
      subject: 'Confirmed: library session',
      text: 'Hello',
      html: '<p>Hello</p>',
      ics: 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n',
      method: 'REQUEST',
      messageId: '<file-test@appointments.uni.example>',
    });
    const written = readdirSync(path.join(dataDir, 'outbox'));
    expect(written).toHaveLength(1);
    const mail = await simpleParser(readFileSync(path.join(dataDir, 'outbox', written[0] as string)));
    expect(mail).toMatchObject({
      subject: 'Confirmed: library session',
      messageId: '<file-test@appointments.uni.example>',
    });
    expect(mail.attachments.map((a) => a.filename)).toContain('invite.ics');
  });
});

describe('calendars', () => {
  it('serves a booking’s invite to its student and hides it from others', async () => {
    const booked = await book(
      '2027-04-01T09:00:00Z',
      {},
      { sub: 'idp|cal', email: 'cal@student.uni.example', name: 'Cal' },
    );
    const own = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.id}/calendar.ics`,
      headers: await t.auth('student', { sub: 'idp|cal', email: 'cal@student.uni.example', name: 'Cal' }),
    });
    expect(own.statusCode).toBe(200);
    expect(own.headers['content-type']).toContain('text/calendar');
    const calendar = new ICAL.Component(ICAL.parse(own.body));
    expect(calendar.getFirstSubcomponent('vevent')?.getFirstPropertyValue('uid')).toBe(`${booked.id}@liaison`);
    const viaLink = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.id}/calendar.ics?token=${new URL(booked.links.manage).searchParams.get('token')}`,
    });
    expect(viaLink.statusCode).toBe(200);
    const stranger = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.id}/calendar.ics`,
      headers: await t.auth('student'),
    });
    expect(stranger.statusCode).toBe(404);
  });

  it('gives each librarian a secret feed with companions shown, which rotating the token revokes', async () => {
    await book(
      '2027-04-02T10:00:00Z',
      { companion: { name: 'Noor' } },
      { sub: 'idp|feed', email: 'feed@student.uni.example', name: 'Fen' },
    );
    const headers = await t.auth('librarian', { email: librarian.email });
    const first = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${librarian.id}/calendar-token`,
      headers,
    });
    expect(first.statusCode).toBe(200);
    const feedPath = first.json().url.replace('https://appointments.uni.example', '');
    const feed = await t.app.inject({ method: 'GET', url: feedPath });
    expect(feed.statusCode).toBe(200);
    const events = new ICAL.Component(ICAL.parse(feed.body)).getAllSubcomponents('vevent');
    const summaries = events.map((event) => String(event.getFirstPropertyValue('summary')));
    expect(summaries).toContain('Library session: Fen with Ada Lovelace (+ companion)');
    expect(events.some((event) => String(event.getFirstPropertyValue('description')).includes('Companion: Noor'))).toBe(
      true,
    );

    const second = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${librarian.id}/calendar-token`,
      headers,
    });
    expect((await t.app.inject({ method: 'GET', url: feedPath })).statusCode).toBe(404);
    expect(
      (await t.app.inject({ method: 'GET', url: second.json().url.replace('https://appointments.uni.example', '') }))
        .statusCode,
    ).toBe(200);
    const notTheirs = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${librarian.id}/calendar-token`,
      headers: await t.auth('librarian', { email: 'someone-else@library.uni.example' }),
    });
    expect(notTheirs.statusCode).toBe(403);
  });
});
