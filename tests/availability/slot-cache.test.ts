import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acceptsGzip } from '../../src/http/gzip.js';
import { computeSlots } from '../../src/modules/availability/slots.js';
import { formatInstant } from '../../src/time/zone.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

/**
 * Slot lists are reused across requests (availability/service.ts) until what they depend on
 * changes. These tests move the clock, book and change rules between requests, and check every
 * answer against hand values or against computeSlots run afresh on the same rules.
 */
let t: TestContext;
let librarianId: string;

beforeEach(async () => {
  // Monday 1 March 2027, 08:00 UTC (London on GMT); Ada: Mon–Fri 09:00–12:00, 60-minute slots, 60 minutes' notice.
  t = await createTestApp({ now: '2027-03-01T08:00:00Z' });
  ({ id: librarianId } = await createLibrarianWithWeek(t));
});
afterEach(() => t.close());

async function starts(day: string, tz?: string): Promise<string[]> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/librarians/${librarianId}/slots?from=${day}&to=${day}${tz ? `&tz=${tz}` : ''}`,
  });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  return response.json().slots.map((slot: { start: string }) => slot.start);
}

describe('slot lists reused across requests', () => {
  it('follow the clock, a booking and new hours between requests', async () => {
    expect(await starts('2027-03-01')).toEqual([
      '2027-03-01T09:00:00+00:00',
      '2027-03-01T10:00:00+00:00',
      '2027-03-01T11:00:00+00:00',
    ]);
    // 08:30: 60 minutes' notice now rules out 09:00.
    t.clock.set('2027-03-01T08:30:00Z');
    expect(await starts('2027-03-01')).toEqual(['2027-03-01T10:00:00+00:00', '2027-03-01T11:00:00+00:00']);
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student'),
      payload: { librarianId, start: '2027-03-01T10:00:00Z' },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    expect(await starts('2027-03-01')).toEqual(['2027-03-01T11:00:00+00:00']);
    const hours = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await t.auth('admin'),
      payload: {
        timeZone: 'Europe/London',
        slotMinutes: 60,
        minNoticeMinutes: 60,
        horizonDays: 90,
        weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '13:00' })),
      },
    });
    expect(hours.statusCode, hours.body).toBe(200);
    expect(await starts('2027-03-01')).toEqual(['2027-03-01T11:00:00+00:00', '2027-03-01T12:00:00+00:00']);
    // The same list in New York (EST, UTC−5), and London's again afterwards.
    expect(await starts('2027-03-01', 'America/New_York')).toEqual([
      '2027-03-01T06:00:00-05:00',
      '2027-03-01T07:00:00-05:00',
    ]);
    expect(await starts('2027-03-01')).toEqual(['2027-03-01T11:00:00+00:00', '2027-03-01T12:00:00+00:00']);
    // Cancelling frees 10:00 again (08:30 still: it is more than 60 minutes ahead).
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.json().id}/cancel`,
      headers: await t.auth('student'),
      payload: {},
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(await starts('2027-03-01')).toEqual([
      '2027-03-01T10:00:00+00:00',
      '2027-03-01T11:00:00+00:00',
      '2027-03-01T12:00:00+00:00',
    ]);
  });

  it('answer as computeSlots does afresh, at every 20 minutes across London’s spring change', async () => {
    // 45-minute slots (not a divisor of a day), windows late and early, and the 28 March change.
    const rules = [1, 2, 3, 4, 5, 6, 7].flatMap((weekday) => [
      { weekday, start: '00:00', end: '02:30' },
      { weekday, start: '08:15', end: '12:00' },
      { weekday, start: '21:00', end: '23:45' },
    ]);
    const published = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await t.auth('admin'),
      payload: { timeZone: 'Europe/London', slotMinutes: 45, minNoticeMinutes: 90, horizonDays: 3, weekly: rules },
    });
    expect(published.statusCode, published.body).toBe(200);
    const fromMs = Date.parse('2027-03-27T00:00:00Z');
    const toMs = Date.parse('2027-03-30T23:00:00Z'); // 31 March 00:00 BST
    const mismatches: string[] = [];
    const seen = new Set<string>();
    for (let now = Date.parse('2027-03-26T18:00:00Z'); now < Date.parse('2027-03-29T06:00:00Z'); now += 20 * 60_000) {
      t.clock.set(new Date(now));
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/v1/librarians/${librarianId}/slots?from=2027-03-27&to=2027-03-30`,
      });
      const served = response.json().slots.map((slot: { start: string }) => slot.start);
      const fresh = computeSlots({
        timeZone: 'Europe/London',
        slotMinutes: 45,
        bufferMinutes: 0,
        minNoticeMinutes: 90,
        horizonDays: 3,
        defaultModes: ['in_person', 'online'],
        defaultLocation: 'Main Library, room 2.14',
        rules,
        overrides: [],
        busy: [],
        nowMs: now,
        fromMs,
        toMs,
      }).map((slot) => formatInstant(slot.startMs, 'Europe/London'));
      if (JSON.stringify(served) !== JSON.stringify(fresh)) mismatches.push(new Date(now).toISOString());
      seen.add(JSON.stringify(served));
    }
    expect(mismatches).toEqual([]);
    // The clock really changed the answers (39 different lists over these 60 hours).
    expect(seen.size).toBeGreaterThan(30);
  });

  it('are sent gzipped to clients that accept it, and plain to the rest', async () => {
    const url = `/api/v1/librarians/${librarianId}/slots?from=2027-03-01&to=2027-04-30`;
    const plain = await t.app.inject({ method: 'GET', url });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toContain('accept-encoding');
    // 1 March (a Monday) to 30 April 2027: 45 weekdays × 3 slots; at 08:00 with 60 minutes' notice,
    // 09:00 on 1 March is still offered.
    expect(plain.json().slots).toHaveLength(135);
    for (const header of ['gzip', 'br, gzip;q=0.5', 'deflate, *']) {
      const zipped = await t.app.inject({ method: 'GET', url, headers: { 'accept-encoding': header } });
      expect(zipped.headers['content-encoding'], header).toBe('gzip');
      expect(gunzipSync(zipped.rawPayload).toString('utf8')).toBe(plain.body);
    }
    const refused = await t.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip;q=0, br' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
    expect(refused.body).toBe(plain.body);
  });

  it('read Accept-Encoding as RFC 9110 says: names, *, and q=0 meaning “not this”', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip('GZIP')).toBe(true);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.8')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('*;q=0')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
  });
});
