import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { calendarConnections, staffActions, webhookDeliveries } from '../../src/db/schema.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { ADA_CALENDAR, serveCalendar } from '../helpers/calendar-fixture.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { createTestAppWithMail, type MailContext } from '../helpers/mail.js';

const KEY = 'calendar-key-for-tests-0123456789abcdef';
// Sunday 28 February 2027, noon in London.
const NOW = '2027-02-28T12:00:00Z';
const ADA = 'ada@library.uni.example';

/** Mondays, Wednesdays and Fridays 09:00–12:00 London, hour-long sessions. */
const MON_WED_FRI = [1, 3, 5].map((weekday) => ({ weekday, start: '09:00', end: '12:00' }));

describe("a librarian's own calendar, read from its address", () => {
  let t: TestContext;
  let calendar: Awaited<ReturnType<typeof serveCalendar>>;
  const log: string[] = [];

  beforeAll(async () => {
    calendar = await serveCalendar(ADA_CALENDAR);
    t = await createTestApp({
      now: NOW,
      env: {
        CALENDAR_SECRET_KEY: KEY,
        CALENDAR_ALLOW_HOSTS: '127.0.0.1',
        LOG_LEVEL: 'debug',
      },
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
    await calendar?.close();
  });
  afterEach(() => {
    t.clock.set(NOW);
  });

  async function newLibrarian(email = `lib-${Math.random().toString(36).slice(2)}@library.uni.example`) {
    const librarian = await createLibrarianWithWeek(t, { email, weekly: MON_WED_FRI, minNoticeMinutes: 60 });
    return { ...librarian, headers: await t.auth('librarian', { email }) };
  }

  async function connect(librarian: { id: string; headers: Record<string, string> }, url: string, label = 'Outlook') {
    return t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${librarian.id}/calendars`,
      headers: librarian.headers,
      payload: { label, url },
    });
  }

  async function slotStarts(librarianId: string, from = '2027-03-01', to = '2027-03-31') {
    const response = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarianId}/slots?from=${from}&to=${to}`,
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().slots.map((slot: { start: string }) => slot.start) as string[];
  }

  it('offers no time the calendar holds, across both clock changes, and keeps the address sealed', async () => {
    const ada = await newLibrarian(ADA);
    const created = await connect(ada, calendar.url());
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      kind: 'ics',
      label: 'Outlook',
      host: '127.0.0.1',
      state: 'ok',
      error: null,
    });
    expect(created.json().busyBlocks).toBe(10);

    // Worked by hand from the fixture (tests/helpers/calendar-fixture.ts): Mondays, Wednesdays and
    // Fridays at 09, 10 and 11 London time, less what her calendar holds.
    expect(await slotStarts(ada.id)).toEqual([
      '2027-03-01T10:00:00+00:00',
      '2027-03-01T11:00:00+00:00',
      '2027-03-03T09:00:00+00:00',
      '2027-03-03T11:00:00+00:00',
      '2027-03-08T09:00:00+00:00',
      '2027-03-08T10:00:00+00:00',
      '2027-03-10T09:00:00+00:00',
      '2027-03-10T11:00:00+00:00',
      '2027-03-12T09:00:00+00:00',
      '2027-03-12T10:00:00+00:00',
      '2027-03-12T11:00:00+00:00',
      '2027-03-15T09:00:00+00:00',
      '2027-03-15T10:00:00+00:00',
      '2027-03-15T11:00:00+00:00',
      '2027-03-17T10:00:00+00:00',
      '2027-03-17T11:00:00+00:00',
      '2027-03-19T09:00:00+00:00',
      '2027-03-19T10:00:00+00:00',
      '2027-03-19T11:00:00+00:00',
      '2027-03-22T09:00:00+00:00',
      '2027-03-22T10:00:00+00:00',
      '2027-03-22T11:00:00+00:00',
      '2027-03-24T10:00:00+00:00',
      '2027-03-24T11:00:00+00:00',
      '2027-03-26T09:00:00+00:00',
      '2027-03-26T11:00:00+00:00',
      '2027-03-29T10:00:00+01:00',
      '2027-03-29T11:00:00+01:00',
      '2027-03-31T09:00:00+01:00',
      '2027-03-31T10:00:00+01:00',
      '2027-03-31T11:00:00+01:00',
    ]);

    // A busy time is refused when booked directly, with the code a page words.
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { email: 'wei@student.uni.example' }),
      payload: { librarianId: ada.id, start: '2027-03-01T09:00:00Z' },
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().code).toBe('slot_unavailable');

    // The address is nowhere readable: not in the row, not in any answer, not in the log.
    const [row] = await t.db.select().from(calendarConnections).where(eq(calendarConnections.librarianId, ada.id));
    expect(row?.secret).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain('calendar.ics');
    const listed = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${ada.id}/calendars`,
      headers: ada.headers,
    });
    expect(listed.body).not.toContain('calendar.ics');
    expect(log.join('')).not.toContain('calendar.ics');
    const recorded = await t.db.select().from(staffActions).where(eq(staffActions.action, 'calendar.connected'));
    expect(JSON.stringify(recorded)).not.toContain('calendar.ics');
  });

  it('reads again only what changed: a 304 keeps the busy time, a new file changes the slots', async () => {
    const librarian = await newLibrarian();
    const body = (summary: string, start: string) =>
      [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'BEGIN:VEVENT',
        `UID:${summary}@uni.example`,
        `DTSTART:${start}`,
        'DTEND:20270301T120000Z',
        'END:VEVENT',
        'END:VCALENDAR',
      ].join('\r\n');
    const own = await serveCalendar(body('first', '20270301T110000Z'));
    try {
      const created = await connect(librarian, own.url());
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().id as string;
      expect(await slotStarts(librarian.id, '2027-03-01', '2027-03-01')).toEqual([
        '2027-03-01T09:00:00+00:00',
        '2027-03-01T10:00:00+00:00',
      ]);
      const check = () =>
        t.app.inject({
          method: 'POST',
          url: `/api/v1/librarians/${librarian.id}/calendars/${id}/check`,
          headers: librarian.headers,
        });
      t.clock.set('2027-02-28T12:05:00Z');
      const unchanged = await check();
      expect(unchanged.json()).toMatchObject({ state: 'ok', lastReadAt: '2027-02-28T12:05:00.000Z', busyBlocks: 1 });
      expect(own.state.requests.at(-1)?.ifNoneMatch).toBe('"v1"');
      own.publish(body('second', '20270301T090000Z'));
      t.clock.set('2027-02-28T12:10:00Z');
      expect((await check()).json()).toMatchObject({ state: 'ok', busyBlocks: 1 });
      expect(await slotStarts(librarian.id, '2027-03-01', '2027-03-01')).toEqual([]);
    } finally {
      await own.close();
    }
  });

  it('refuses a time that became busy between listing and booking', async () => {
    const librarian = await newLibrarian();
    const own = await serveCalendar('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n');
    try {
      const created = await connect(librarian, own.url());
      expect(created.statusCode, created.body).toBe(201);
      expect(await slotStarts(librarian.id, '2027-03-03', '2027-03-03')).toContain('2027-03-03T10:00:00+00:00');
      own.publish(
        'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x@uni.example\r\nDTSTART:20270303T100000Z\r\nDTEND:20270303T103000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
      );
      t.clock.set('2027-02-28T12:06:00Z');
      await t.app.inject({
        method: 'POST',
        url: `/api/v1/librarians/${librarian.id}/calendars/${created.json().id}/check`,
        headers: librarian.headers,
      });
      const refused = await t.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: await t.auth('student', { email: 'late@student.uni.example' }),
        payload: { librarianId: librarian.id, start: '2027-03-03T10:00:00Z' },
      });
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json().code).toBe('slot_unavailable');
    } finally {
      await own.close();
    }
  });

  it('refuses a bad address by name and saves nothing', async () => {
    const librarian = await newLibrarian();
    const cases: [string, number, string][] = [
      ['ftp://calendar.example/cal.ics', 422, 'must start with https:// or webcal://'],
      ['https://192.168.1.10/calendar.ics', 422, 'points at a private, loopback or link-local address'],
      [calendar.url('/html'), 422, 'could not be read: not_calendar'],
      [calendar.url('/huge'), 422, 'could not be read: too_large'],
      [calendar.url('/missing'), 422, 'could not be read: not_found'],
      [calendar.url('/garbled'), 422, 'could not be read: malformed'],
    ];
    for (const [url, status, message] of cases) {
      const response = await connect(librarian, url);
      expect(response.statusCode, `${url}: ${response.body}`).toBe(status);
      expect(response.json().errors, url).toEqual([{ pointer: '/url', in: 'body', message }]);
    }
    const followed = await connect(librarian, calendar.url('/redirect'));
    expect(followed.statusCode, followed.body).toBe(201);
    const rows = await t.db.select().from(calendarConnections).where(eq(calendarConnections.librarianId, librarian.id));
    expect(rows).toHaveLength(1);
  });

  it("never lets one librarian see or change another's calendars", async () => {
    const owner = await newLibrarian();
    const other = await newLibrarian();
    const created = await connect(owner, calendar.url());
    expect(created.statusCode).toBe(201);
    const peek = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${owner.id}/calendars`,
      headers: other.headers,
    });
    expect(peek.statusCode).toBe(403);
    const wrongPath = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/librarians/${other.id}/calendars/${created.json().id}`,
      headers: other.headers,
    });
    expect(wrongPath.statusCode).toBe(404);
    const student = await t.app.inject({
      method: 'GET',
      url: '/api/v1/calendars',
      headers: await t.auth('student'),
    });
    expect(student.statusCode).toBe(403);
  });
});

describe('a calendar that cannot be read', () => {
  let mail: MailContext;

  beforeAll(async () => {
    mail = await createTestAppWithMail({
      now: NOW,
      env: {
        CALENDAR_SECRET_KEY: KEY,
        CALENDAR_ALLOW_HOSTS: '127.0.0.1',
        CALENDAR_STALE_HOURS: '24',
        WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      },
    });
  });
  afterAll(async () => {
    await mail?.close();
  });

  it('keeps the last busy time, tells the librarian once, withholds only their times after the stale window, and recovers', async () => {
    const { t } = mail;
    const meeting =
      'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:m@uni.example\r\nDTSTART:20270303T090000Z\r\nDTEND:20270303T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    let own = await serveCalendar(meeting);
    const email = 'grace@library.uni.example';
    const grace = await createLibrarianWithWeek(t, { email, weekly: MON_WED_FRI });
    const other = await createLibrarianWithWeek(t, { weekly: MON_WED_FRI });
    const headers = await t.auth('librarian', { email });
    const hooked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: await t.auth('admin'),
      payload: { url: 'http://127.0.0.1:9/hooks', events: ['calendar.sync_failed', 'calendar.sync_recovered'] },
    });
    expect(hooked.statusCode, hooked.body).toBe(201);
    const created = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${grace.id}/calendars`,
      headers,
      payload: { label: 'Work', url: own.url() },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const starts = async (librarianId: string) =>
      (
        await t.app.inject({
          method: 'GET',
          url: `/api/v1/librarians/${librarianId}/slots?from=2027-03-03&to=2027-03-03`,
        })
      )
        .json()
        .slots.map((slot: { start: string }) => slot.start.slice(11, 16));
    // A token minted at each moved clock (tokens live an hour).
    const check = async () =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/librarians/${grace.id}/calendars/${id}/check`,
        headers: await t.auth('librarian', { email }),
      });
    const subjects = async () => {
      await mail.worker.runOnce();
      const parsed = await Promise.all(mail.sink.received.map((raw) => simpleParser(raw)));
      mail.sink.received.length = 0;
      return parsed.map(
        (message) => `${message.to && !Array.isArray(message.to) ? message.to.text : ''}: ${message.subject}`,
      );
    };
    await mail.clearMail();

    const port = own.port;
    await own.close();
    t.clock.set('2027-02-28T12:10:00Z');
    expect((await check()).json()).toMatchObject({
      state: 'failing',
      error: 'unreachable',
      failingSince: '2027-02-28T12:10:00.000Z',
      lastReadAt: '2027-02-28T12:00:00.000Z',
    });
    // The busy time last read still holds.
    expect(await starts(grace.id)).toEqual(['10:00', '11:00']);
    t.clock.set('2027-02-28T13:00:00Z');
    expect((await check()).json()).toMatchObject({ state: 'failing', error: 'unreachable' });
    expect(await subjects()).toEqual([`${email}: Liaison cannot read your calendar “Work”`]);

    // 24 hours after the last good read, Grace's times are withheld; the other librarian's are not.
    t.clock.set('2027-03-01T12:00:00Z');
    expect((await check()).json()).toMatchObject({ state: 'withheld' });
    expect(await starts(grace.id)).toEqual([]);
    expect(await starts(other.id)).toEqual(['09:00', '10:00', '11:00']);
    expect(await subjects()).toEqual([]);

    // The server is back: the next read recovers, her times return, and she is told once.
    own = await serveCalendar(meeting, port);
    try {
      t.clock.set('2027-03-01T12:05:00Z');
      expect((await check()).json()).toMatchObject({ state: 'ok', error: null, failingSince: null });
      expect(await starts(grace.id)).toEqual(['10:00', '11:00']);
      expect(await subjects()).toEqual([`${email}: Your calendar “Work” can be read again`]);
    } finally {
      await own.close();
    }
    const deliveries = await t.db.select().from(webhookDeliveries).orderBy(webhookDeliveries.eventId);
    expect(deliveries.map((row) => row.type)).toEqual(['calendar.sync_failed', 'calendar.sync_recovered']);
    expect(deliveries[0]?.payload).toMatchObject({
      type: 'calendar.sync_failed',
      data: { librarianId: grace.id, connectionId: id, error: 'unreachable' },
    });
  });
});
