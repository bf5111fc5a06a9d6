import { describe, expect, it } from 'vitest';
import { busyTimeOf, CalendarFormatError } from '../../src/modules/calendars/busy-time.js';
import { ADA_CALENDAR } from '../helpers/calendar-fixture.js';

const iso = (blocks: { startMs: number; endMs: number }[]) =>
  blocks.map((block) => `${new Date(block.startMs).toISOString()} ${new Date(block.endMs).toISOString()}`);

const options = {
  fromMs: Date.parse('2027-02-28T00:00:00Z'),
  toMs: Date.parse('2027-04-30T00:00:00Z'),
  timeZone: 'Europe/London',
  ownAddresses: ['ada@library.uni.example'],
};

describe('busy time from a calendar file', () => {
  it('expands recurring events in their own zones, skipping free, cancelled, declined and Liaison’s own events', () => {
    // Worked by hand from the fixture's comments (tests/helpers/calendar-fixture.ts).
    expect(iso(busyTimeOf(ADA_CALENDAR, options))).toEqual([
      '2027-03-01T09:00:00.000Z 2027-03-01T10:00:00.000Z',
      '2027-03-03T10:00:00.000Z 2027-03-03T11:00:00.000Z',
      '2027-03-05T00:00:00.000Z 2027-03-06T00:00:00.000Z',
      '2027-03-08T11:00:00.000Z 2027-03-08T12:00:00.000Z',
      '2027-03-10T10:00:00.000Z 2027-03-10T11:00:00.000Z',
      '2027-03-17T09:00:00.000Z 2027-03-17T10:00:00.000Z',
      '2027-03-24T09:00:00.000Z 2027-03-24T10:00:00.000Z',
      '2027-03-26T10:00:00.000Z 2027-03-26T11:00:00.000Z',
      '2027-03-29T08:00:00.000Z 2027-03-29T09:00:00.000Z',
      '2027-04-05T08:00:00.000Z 2027-04-05T09:00:00.000Z',
    ]);
  });

  it('keeps only time touching the window, and joins overlapping events', () => {
    const text = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'BEGIN:VEVENT',
      'UID:a',
      'DTSTART:20270301T090000Z',
      'DTEND:20270301T100000Z',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:b',
      'DTSTART:20270301T093000Z',
      'DTEND:20270301T110000Z',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:daily-since-1990',
      'DTSTART;TZID=Australia/Sydney:19900101T090000',
      'DTEND;TZID=Australia/Sydney:19900101T093000',
      'RRULE:FREQ=DAILY',
      'END:VEVENT',
      'END:VCALENDAR',
    ].join('\r\n');
    const blocks = busyTimeOf(text, {
      ...options,
      fromMs: Date.parse('2027-03-01T00:00:00Z'),
      toMs: Date.parse('2027-03-03T00:00:00Z'),
    });
    // 09:00 in Sydney is 22:00 UTC the day before while Sydney keeps daylight time (AEDT, +11),
    // until 4 April 2027; 28 February's 22:00–22:30 UTC ends before the window.
    expect(iso(blocks)).toEqual([
      '2027-03-01T09:00:00.000Z 2027-03-01T11:00:00.000Z',
      '2027-03-01T22:00:00.000Z 2027-03-01T22:30:00.000Z',
      '2027-03-02T22:00:00.000Z 2027-03-02T22:30:00.000Z',
    ]);
  });

  it('refuses a web page and a broken file with a reason', () => {
    expect(() => busyTimeOf('<!doctype html><p>Sign in</p>', options)).toThrow(CalendarFormatError);
    expect(() => busyTimeOf('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:nonsense\r\n', options)).toThrow(
      CalendarFormatError,
    );
  });
});
