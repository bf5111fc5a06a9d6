import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { civilDateAt, formatInstant, instantFormatter } from '../../src/time/zone.js';

const QUARTER_HOUR = 15 * 60_000;

describe('instantFormatter (the fast path slot lists use)', () => {
  it('writes the wall clock and offset across London’s spring and autumn changes, by hand', () => {
    const london = instantFormatter('Europe/London');
    // 28 March 2027: clocks go forward at 01:00 UTC; 31 October 2027: back at 01:00 UTC.
    expect(london(Date.parse('2027-03-28T00:45:00Z'))).toBe('2027-03-28T00:45:00+00:00');
    expect(london(Date.parse('2027-03-28T01:00:00Z'))).toBe('2027-03-28T02:00:00+01:00');
    expect(london(Date.parse('2027-10-31T00:45:00Z'))).toBe('2027-10-31T01:45:00+01:00');
    expect(london(Date.parse('2027-10-31T01:00:00Z'))).toBe('2027-10-31T01:00:00+00:00');
    // Sydney goes back at 16:00 UTC on 3 April 2027 (03:00 AEDT becomes 02:00 AEST).
    const sydney = instantFormatter('Australia/Sydney');
    expect(sydney(Date.parse('2027-04-03T15:45:00Z'))).toBe('2027-04-04T02:45:00+11:00');
    expect(sydney(Date.parse('2027-04-03T16:00:00Z'))).toBe('2027-04-04T02:00:00+10:00');
    expect(instantFormatter('America/St_Johns')(Date.parse('2027-01-15T12:00:00Z'))).toBe('2027-01-15T08:30:00-03:30');
  });

  it.each([
    'Europe/London',
    'America/New_York',
    'Australia/Sydney',
    'Australia/Lord_Howe',
    'America/St_Johns',
    'Asia/Kathmandu',
    'UTC',
  ])('gives the same string as luxon for every quarter hour of 2027 in %s, one by one and many at once', (zone) => {
    const fast = instantFormatter(zone);
    const start = Date.parse('2027-01-01T00:00:00Z');
    const end = Date.parse('2028-01-01T00:00:00Z');
    const different: string[] = [];
    for (let ms = start; ms < end; ms += QUARTER_HOUR) {
      const luxon = DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true });
      if (fast(ms) !== luxon || formatInstant(ms, zone) !== luxon) different.push(new Date(ms).toISOString());
    }
    expect(different).toEqual([]);
  });
});

describe('civilDateAt (offsets remembered per instant)', () => {
  /** The local date as ICU itself gives it, without luxon or the remembered offsets. */
  const icuDate = (instantMs: number, format: Intl.DateTimeFormat) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(instantMs)).map((part) => [part.type, part.value]));
    return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) };
  };

  it('gives the date on the wall clock at a change, by hand (London, New York, Sydney)', () => {
    // London springs forward at 01:00 UTC on 28 March 2027; Sydney's local midnight is 13:00 UTC
    // the day before in summer (UTC+11); New York's clocks go back at 06:00 UTC on 7 November 2027.
    const cases: [string, string, { year: number; month: number; day: number }][] = [
      ['2027-03-28T00:59:59Z', 'Europe/London', { year: 2027, month: 3, day: 28 }],
      ['2027-03-27T23:59:59Z', 'Europe/London', { year: 2027, month: 3, day: 27 }],
      ['2027-01-14T12:59:59Z', 'Australia/Sydney', { year: 2027, month: 1, day: 14 }],
      ['2027-01-14T13:00:00Z', 'Australia/Sydney', { year: 2027, month: 1, day: 15 }],
      ['2027-11-08T04:59:59Z', 'America/New_York', { year: 2027, month: 11, day: 7 }],
      ['2027-11-08T05:00:00Z', 'America/New_York', { year: 2027, month: 11, day: 8 }],
    ];
    for (const [instant, zone, date] of cases) expect(civilDateAt(Date.parse(instant), zone), instant).toEqual(date);
  });

  it.each(['Europe/London', 'America/New_York', 'Australia/Sydney', 'Pacific/Chatham', 'America/Santiago'])(
    'agrees with ICU at every half hour of 2027 in %s, asked twice (the second time from memory)',
    (zone) => {
      const format = new Intl.DateTimeFormat('en-CA', {
        timeZone: zone,
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
      });
      const start = Date.parse('2027-01-01T00:00:00Z');
      const different: string[] = [];
      for (const pass of [1, 2]) {
        for (let ms = start; ms < start + 365 * 86_400_000; ms += 2 * QUARTER_HOUR) {
          const expected = icuDate(ms, format);
          const found = civilDateAt(ms, zone);
          if (found.year !== expected.year || found.month !== expected.month || found.day !== expected.day) {
            different.push(`${pass} ${new Date(ms).toISOString()}`);
          }
        }
      }
      expect(different).toEqual([]);
    },
  );
});
