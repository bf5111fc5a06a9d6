import { Writable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { calendarConnections, calendarEventCopies } from '../../src/db/schema.js';
import { createSecretBox } from '../../src/modules/calendars/secrets.js';
import { createCalendarConnections } from '../../src/modules/calendars/service.js';
import { createCalendarWorker } from '../../src/modules/calendars/worker.js';
import { loadCatalogues } from '../../src/text/i18n.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { ADA_CALENDAR } from '../helpers/calendar-fixture.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { parseWithPython } from '../helpers/icalendar-python.js';
import { type Radicale, startRadicale } from '../helpers/radicale.js';

const KEY = 'calendar-key-for-tests-0123456789abcdef';
const NOW = '2027-02-28T12:00:00Z';
const PASSWORD = 'app-password-for-liaison';

/** The fixture's events as a CalDAV server keeps them: one file per UID (a series with its overrides), each with the zone. */
function eventFiles(text: string): Map<string, string> {
  const zone = /BEGIN:VTIMEZONE[\s\S]*?END:VTIMEZONE\r\n/.exec(text)?.[0] ?? '';
  const files = new Map<string, string[]>();
  for (const vevent of text.match(/BEGIN:VEVENT[\s\S]*?END:VEVENT\r\n/g) ?? []) {
    const uid = /UID:(.*)\r\n/.exec(vevent)?.[1] as string;
    files.set(uid, [...(files.get(uid) ?? []), vevent]);
  }
  return new Map(
    [...files].map(([uid, events]) => [
      uid,
      `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tests//Liaison//EN\r\n${zone}${events.join('')}END:VCALENDAR\r\n`,
    ]),
  );
}

describe('a CalDAV account, read and written (radicale)', () => {
  let t: TestContext;
  let radicale: Radicale;
  let work: string;
  let personal: string;
  let sessions: string;
  const log: string[] = [];

  beforeAll(async () => {
    radicale = await startRadicale({ ada: PASSWORD });
    work = await radicale.makeCalendar('ada', 'work', 'Work');
    personal = await radicale.makeCalendar('ada', 'personal', 'Personal');
    sessions = await radicale.makeCalendar('ada', 'sessions', 'Library sessions');
    for (const [uid, file] of eventFiles(ADA_CALENDAR))
      await radicale.putEvent(work, `${encodeURIComponent(uid)}.ics`, file);
    // A personal appointment on Monday 1 March at 10:00: busy only if the librarian says so.
    await radicale.putEvent(
      personal,
      'dentist.ics',
      'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:dentist@home\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270301T100000Z\r\nDTEND:20270301T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
    );
    t = await createTestApp({
      now: NOW,
      env: { CALENDAR_SECRET_KEY: KEY, CALENDAR_ALLOW_HOSTS: '127.0.0.1', LOG_LEVEL: 'debug' },
      logStream: new Writable({
        write(chunk, _encoding, done) {
          log.push(String(chunk));
          done();
        },
      }),
    });
  });
  afterAll(async () => {
    await t?.close();
    await radicale?.close();
  });
  afterEach(() => {
    t.clock.set(NOW);
  });

  function worker() {
    return createCalendarWorker({
      calendars: createCalendarConnections({
        db: t.db,
        clock: t.clock,
        config: t.config,
        secrets: createSecretBox(KEY),
        translate: loadCatalogues().translator('en'),
      }),
    });
  }

  async function slotStarts(librarianId: string, from = '2027-03-01', to = '2027-03-31') {
    const response = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarianId}/slots?from=${from}&to=${to}`,
    });
    return response.json().slots.map((slot: { start: string }) => slot.start) as string[];
  }

  it('finds the calendars, counts the chosen ones as busy, and writes each booking, move and cancellation', async () => {
    const email = 'ada@library.uni.example';
    const ada = await createLibrarianWithWeek(t, {
      email,
      weekly: [1, 3, 5].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })),
    });
    const headers = await t.auth('librarian', { email });
    const wrong = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${ada.id}/calendars`,
      headers,
      payload: { kind: 'caldav', label: 'Radicale', serverUrl: radicale.url, username: 'ada', password: 'not-it' },
    });
    expect(wrong.statusCode, wrong.body).toBe(422);
    expect(wrong.json().errors).toEqual([{ pointer: '/password', in: 'body', message: 'could not be read: refused' }]);
    const missing = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${ada.id}/calendars`,
      headers,
      payload: { kind: 'caldav', label: 'Radicale', serverUrl: radicale.url, username: 'ada' },
    });
    expect(missing.json().errors).toEqual([{ pointer: '/password', in: 'body', message: 'is required' }]);
    expect(await t.db.select().from(calendarConnections).where(eq(calendarConnections.librarianId, ada.id))).toEqual(
      [],
    );

    const created = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${ada.id}/calendars`,
      headers,
      payload: { kind: 'caldav', label: 'Radicale', serverUrl: radicale.url, username: 'ada', password: PASSWORD },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain(PASSWORD);
    // The password is nowhere readable: not in the row, not in any answer, not in a debug log.
    const [row] = await t.db.select().from(calendarConnections).where(eq(calendarConnections.librarianId, ada.id));
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(createSecretBox(KEY).open(row?.secret ?? '')).toContain(PASSWORD);
    const id = created.json().id as string;
    expect(
      created
        .json()
        .calendars.map((calendar: { name: string; busy: boolean; receivesBookings: boolean }) => [
          calendar.name,
          calendar.busy,
          calendar.receivesBookings,
        ]),
    ).toEqual(
      expect.arrayContaining([
        ['Work', true, false],
        ['Personal', true, false],
        ['Library sessions', true, false],
      ]),
    );
    // Every calendar counts at first: the dentist hides Monday 1 March at 10:00 too.
    expect(await slotStarts(ada.id, '2027-03-01', '2027-03-01')).toEqual(['2027-03-01T11:00:00+00:00']);

    const chosen = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/librarians/${ada.id}/calendars/${id}`,
      headers,
      payload: { busyCalendars: [work], bookingsCalendar: sessions },
    });
    expect(chosen.statusCode, chosen.body).toBe(200);
    expect(chosen.json().busyBlocks).toBe(10);
    // The same hand-worked month as from the calendar address (connections.test.ts), first week shown.
    expect(await slotStarts(ada.id, '2027-03-01', '2027-03-08')).toEqual([
      '2027-03-01T10:00:00+00:00',
      '2027-03-01T11:00:00+00:00',
      '2027-03-03T09:00:00+00:00',
      '2027-03-03T11:00:00+00:00',
      '2027-03-08T09:00:00+00:00',
      '2027-03-08T10:00:00+00:00',
    ]);

    // A booking appears in the chosen calendar, with its UID; a move changes it; a cancellation deletes it.
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { email: 'wei.zhang@student.uni.example', name: 'Wei Zhang' }),
      payload: {
        librarianId: ada.id,
        start: '2027-03-01T10:00:00Z',
        topic: 'Finding sources for my dissertation',
        companions: [{ name: 'Amira Haddad', email: 'amira@student.uni.example' }],
      },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const bookingId = booked.json().id as string;
    expect(await worker().runOnce()).toMatchObject({ written: 1, failed: 0 });
    const [event] = await radicale.events(sessions);
    expect(parseWithPython(event?.text ?? '').events).toMatchObject([
      { uid: `${bookingId}@liaison`, dtstart: '2027-03-01T10:00:00+00:00' },
    ]);
    // Unfolded (RFC 5545 §3.1): the student's first name and topic, the friend's name, where; no addresses.
    const unfolded = (event?.text ?? '').replace(/\r\n[ \t]/g, '');
    expect(unfolded).toContain('SUMMARY:Library session with Wei\r\n');
    expect(unfolded).toContain(
      'DESCRIPTION:Topic: Finding sources for my dissertation\\nComing with them: Amira Haddad\r\n',
    );
    expect(unfolded).toContain('LOCATION:Main Library\\, room 2.14\r\n');
    expect(event?.text).not.toContain('@student.uni.example');
    // Written once: the next tick has nothing to write.
    expect(await worker().runOnce()).toMatchObject({ written: 0, deleted: 0 });

    const moved = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${bookingId}/reschedule`,
      headers: await t.auth('student', { email: 'wei.zhang@student.uni.example', name: 'Wei Zhang' }),
      payload: { start: '2027-03-03T11:00:00Z' },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(await worker().runOnce()).toMatchObject({ written: 1, failed: 0 });
    const after = await radicale.events(sessions);
    expect(after).toHaveLength(1);
    expect(parseWithPython(after[0]?.text ?? '').events).toMatchObject([{ dtstart: '2027-03-03T11:00:00+00:00' }]);

    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${bookingId}/cancel`,
      headers: await t.auth('student', { email: 'wei.zhang@student.uni.example', name: 'Wei Zhang' }),
      payload: {},
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(await worker().runOnce()).toMatchObject({ deleted: 1, failed: 0 });
    expect(await radicale.events(sessions)).toEqual([]);
    expect(log.join('')).not.toContain(PASSWORD);
    expect(log.join('').length).toBeGreaterThan(1000);
  });

  it('while the server is down: the last busy time holds, bookings still succeed, and their events land when it returns', async () => {
    const email = 'grace@library.uni.example';
    const grace = await createLibrarianWithWeek(t, {
      email,
      weekly: [3].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })),
    });
    const headers = await t.auth('librarian', { email });
    const graceRadicale = await startRadicale({ grace: PASSWORD });
    try {
      const calendar = await graceRadicale.makeCalendar('grace', 'main', 'Main');
      await graceRadicale.putEvent(
        calendar,
        'meeting.ics',
        'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:meeting@uni\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270303T090000Z\r\nDTEND:20270303T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
      );
      const created = await t.app.inject({
        method: 'POST',
        url: `/api/v1/librarians/${grace.id}/calendars`,
        headers,
        payload: { kind: 'caldav', label: 'Main', serverUrl: graceRadicale.url, username: 'grace', password: PASSWORD },
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().id as string;
      const chosen = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/librarians/${grace.id}/calendars/${id}`,
        headers,
        payload: { bookingsCalendar: calendar },
      });
      expect(chosen.statusCode, chosen.body).toBe(200);

      await graceRadicale.stop();
      t.clock.set('2027-02-28T12:10:00Z');
      const checked = await t.app.inject({
        method: 'POST',
        url: `/api/v1/librarians/${grace.id}/calendars/${id}/check`,
        headers: await t.auth('librarian', { email }),
      });
      expect(checked.json()).toMatchObject({ state: 'failing', error: 'unreachable' });
      expect(await slotStarts(grace.id, '2027-03-03', '2027-03-03')).toEqual([
        '2027-03-03T10:00:00+00:00',
        '2027-03-03T11:00:00+00:00',
      ]);
      const booked = await t.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: await t.auth('student', { email: 'sam@student.uni.example', name: 'Sam' }),
        payload: { librarianId: grace.id, start: '2027-03-03T10:00:00Z' },
      });
      expect(booked.statusCode, booked.body).toBe(201);
      expect(await worker().runOnce()).toMatchObject({ written: 0, failed: 1 });
      const [waiting] = await t.db
        .select()
        .from(calendarEventCopies)
        .where(and(eq(calendarEventCopies.connectionId, id), eq(calendarEventCopies.bookingId, booked.json().id)));
      expect(waiting).toMatchObject({
        attempts: 1,
        lastError: 'unreachable',
        nextAttemptAt: new Date('2027-02-28T12:10:30Z'),
      });

      await graceRadicale.start();
      // Not before the retry is due…
      expect(await worker().runOnce()).toMatchObject({ written: 0, failed: 0 });
      t.clock.set('2027-02-28T12:11:00Z');
      // …then it lands.
      expect(await worker().runOnce()).toMatchObject({ written: 1, failed: 0 });
      const events = await graceRadicale.events(calendar);
      expect(events.map((event) => parseWithPython(event.text).events[0]?.uid).sort()).toEqual(
        [`${booked.json().id}@liaison`, 'meeting@uni'].sort(),
      );
    } finally {
      await graceRadicale.close();
    }
  });
});
