import { describe, expect, it } from 'vitest';
import { formatInstant, instantFormatter } from '../../src/time/zone.js';

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
  ])('gives the same string as luxon for every quarter hour of 2027 in %s', (zone) => {
    const fast = instantFormatter(zone);
    const start = Date.parse('2027-01-01T00:00:00Z');
    const end = Date.parse('2028-01-01T00:00:00Z');
    const different: string[] = [];
    for (let ms = start; ms < end; ms += QUARTER_HOUR) {
      if (fast(ms) !== formatInstant(ms, zone)) different.push(new Date(ms).toISOString());
    }
    expect(different).toEqual([]);
  });
});
