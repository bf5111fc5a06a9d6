import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyTimeOf, CalendarTooComplex } from '../../src/modules/calendars/busy-time.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { serveCalendar } from '../helpers/calendar-fixture.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Hardening round three, finding 2: one calendar file took the process down. A rule that never
// yields an occurrence (30 February) looped in ical.js until the heap was gone, on connect and
// from the worker; twenty FREQ=SECONDLY series stalled every request for 31 s. Calendar files are
// now read in a worker thread with a heap, a time limit and a budget of occurrences: a file over
// them fails its own connection ("too complex") and nobody else's requests wait for it.

const KEY = 'calendar-key-for-tests-0123456789abcdef';
const NOW = '2027-02-28T12:00:00Z';
const WINDOW = {
  fromMs: Date.parse('2027-02-27T00:00:00Z'),
  toMs: Date.parse('2027-05-01T00:00:00Z'),
  timeZone: 'Europe/London',
  ownAddresses: [],
};

const calendarOf = (...events: string[][]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Tests//Hostile//EN', ...events.flat(), 'END:VCALENDAR'].join('\r\n');
const event = (uid: string, start: string, end: string, rule?: string) => [
  'BEGIN:VEVENT',
  `UID:${uid}`,
  'DTSTAMP:20270101T000000Z',
  `DTSTART:${start}`,
  `DTEND:${end}`,
  ...(rule ? [`RRULE:${rule}`] : []),
  'END:VEVENT',
];

/** A rule no date satisfies: ical.js looks for its first occurrence for ever. */
const NEVER = calendarOf(
  event('never@x', '20270301T090000Z', '20270301T100000Z', 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30'),
);
/** Twenty series repeating every second from 1 March. */
const SECONDLY = calendarOf(
  ...Array.from({ length: 20 }, (_, index) =>
    event(`secondly-${index}@x`, '20270301T090000Z', '20270301T090001Z', 'FREQ=SECONDLY'),
  ),
);
/** An ordinary calendar: Monday 1 March 09:00–10:00 UTC. */
const ORDINARY = calendarOf(event('meeting@x', '20270301T090000Z', '20270301T100000Z'));

describe('a calendar file over budget', () => {
  let t: TestContext;
  let hostile: Awaited<ReturnType<typeof serveCalendar>>;

  beforeAll(async () => {
    hostile = await serveCalendar(NEVER);
    t = await createTestApp({
      now: NOW,
      // A short limit so the looping file is cut quickly; ordinary files take milliseconds.
      env: { CALENDAR_SECRET_KEY: KEY, CALENDAR_ALLOW_HOSTS: '127.0.0.1', CALENDAR_PARSE_SECONDS: '5' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await hostile?.close();
  });

  async function librarian() {
    const email = `lib-${Math.random().toString(36).slice(2)}@library.uni.example`;
    const created = await createLibrarianWithWeek(t, {
      email,
      weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })),
    });
    return { id: created.id, headers: await t.auth('librarian', { email }) };
  }
  const connect = (who: { id: string; headers: Record<string, string> }, url: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${who.id}/calendars`,
      headers: who.headers,
      payload: { label: 'Outlook', url },
    });

  it('refuses a rule that never occurs as too complex, while other requests are answered', async () => {
    const other = await librarian();
    const victim = await librarian();
    const finished: string[] = [];
    const connecting = connect(victim, hostile.url()).then((response) => {
      finished.push('connect');
      return response;
    });
    // Asked after the hostile file began: answered while it is still being read.
    const slots = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${other.id}/slots?from=2027-03-01&to=2027-03-05`,
    });
    finished.push('slots');
    expect(slots.statusCode).toBe(200);
    expect(slots.json().slots).toHaveLength(15);
    const refused = await connecting;
    expect(finished).toEqual(['slots', 'connect']);
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json()).toMatchObject({
      code: 'calendar_unreadable',
      errors: [{ pointer: '/url', in: 'body', message: 'could not be read: too_complex' }],
    });
    // The process reads the next calendar as ever.
    const ordinary = await serveCalendar(ORDINARY);
    try {
      const accepted = await connect(other, ordinary.url());
      expect(accepted.statusCode, accepted.body).toBe(201);
      expect(accepted.json()).toMatchObject({ state: 'ok', busyBlocks: 1 });
    } finally {
      await ordinary.close();
    }
  });

  it('marks a connected calendar that turns hostile as failing (too complex), and keeps the others reading', async () => {
    const ada = await librarian();
    const ben = await librarian();
    const adaFile = await serveCalendar(ORDINARY);
    const benFile = await serveCalendar(ORDINARY);
    try {
      const adaConnection = (await connect(ada, adaFile.url())).json().id as string;
      const benConnection = (await connect(ben, benFile.url())).json().id as string;
      adaFile.publish(SECONDLY);
      benFile.publish(calendarOf(event('moved@x', '20270301T100000Z', '20270301T110000Z')));
      t.clock.set('2027-02-28T12:05:00Z');
      const check = (who: typeof ada, id: string) =>
        t.app.inject({
          method: 'POST',
          url: `/api/v1/librarians/${who.id}/calendars/${id}/check`,
          headers: who.headers,
        });
      expect((await check(ada, adaConnection)).json()).toMatchObject({ state: 'failing', error: 'too_complex' });
      expect((await check(ben, benConnection)).json()).toMatchObject({ state: 'ok', error: null, busyBlocks: 1 });
      // Ada's last good busy time stands (09:00–10:00 on 1 March), so students are not offered it.
      const slots = await t.app.inject({
        method: 'GET',
        url: `/api/v1/librarians/${ada.id}/slots?from=2027-03-01&to=2027-03-01`,
      });
      expect(slots.json().slots.map((slot: { start: string }) => slot.start)).toEqual([
        '2027-03-01T10:00:00+00:00',
        '2027-03-01T11:00:00+00:00',
      ]);
    } finally {
      await adaFile.close();
      await benFile.close();
    }
  });
});

describe('the budget of occurrences, read in this thread', () => {
  it('stops twenty series that repeat every second at 200,000 occurrences, as too complex', () => {
    expect(() => busyTimeOf(SECONDLY, WINDOW)).toThrow(CalendarTooComplex);
  });

  it('reads a daily meeting begun in 1930 whole (35,000 occurrences, within the budget)', () => {
    const daily = calendarOf(event('daily@x', '19300101T090000Z', '19300101T093000Z', 'FREQ=DAILY'));
    const blocks = busyTimeOf(daily, { ...WINDOW, toMs: Date.parse('2027-03-03T00:00:00Z') });
    // 27 February to 2 March 2027: four mornings, 09:00–09:30 UTC.
    expect(blocks.map((block) => new Date(block.startMs).toISOString())).toEqual([
      '2027-02-27T09:00:00.000Z',
      '2027-02-28T09:00:00.000Z',
      '2027-03-01T09:00:00.000Z',
      '2027-03-02T09:00:00.000Z',
    ]);
  });
});
