import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// GET /api/v1/uptake/compare: the library's before-and-after question.

let t: TestContext;
const PERIODS = 'beforeFrom=2025-08-01&beforeTo=2026-07-31&afterFrom=2026-08-01&afterTo=2027-07-31';

async function get(url: string, role: 'analyst' | 'admin' | 'student' | 'librarian' = 'analyst') {
  return t.app.inject({ method: 'GET', url, headers: await t.auth(role) });
}

/**
 * The fixture, by hand. The counts are Newcombe's (1998b) published examples, so the intervals
 * can be read from his table rather than worked out by this code:
 *  international, 2025/26: 48 students attended (one of them twice), 2 only missed: 51 bookings,
 *    50 students, 48 attendees; cohort max(80 Autumn 2025, 75 Spring 2026) = 80 → 48/80.
 *  international, 2026/27: 56 students attended once; cohort max(70, 64) = 70 → 56/70.
 *  home: 3 attendees of a cohort of 10 before, 9 of 10 after.
 *  one session in 2026/27 with no fee status recorded.
 *  a term outside both periods (size 999) must not be used.
 */
beforeAll(async () => {
  t = await createTestApp({ now: '2027-08-15T09:00:00Z' });
  await createLibrarianWithWeek(t, { email: 'compare@uni.ac.uk' });
  const sessions: Record<string, unknown>[] = [];
  const session = (day: string, studentRef: string, fee: string | null, outcome: string, companion = false) =>
    sessions.push({
      start: `${day}T10:00:00Z`,
      minutes: 45,
      librarianEmail: 'compare@uni.ac.uk',
      studentRef,
      ...(fee ? { categories: { fee_status: fee } } : {}),
      companion,
      outcome,
    });
  for (let index = 0; index < 48; index++) session('2025-10-14', `before-intl-${index}`, 'international', 'attended');
  session('2026-02-10', 'before-intl-0', 'international', 'attended');
  session('2026-02-11', 'before-intl-missed-1', 'international', 'no_show');
  session('2026-02-12', 'before-intl-missed-2', 'international', 'no_show');
  for (let index = 0; index < 56; index++)
    session('2026-10-13', `after-intl-${index}`, 'international', 'attended', true);
  for (let index = 0; index < 3; index++) session('2025-11-04', `before-home-${index}`, 'home', 'attended');
  for (let index = 0; index < 9; index++) session('2026-11-03', `after-home-${index}`, 'home', 'attended');
  session('2027-02-02', 'after-unknown', null, 'attended');
  const admin = await t.auth('admin');
  const imported = await t.app.inject({
    method: 'POST',
    url: '/api/v1/imports/sessions',
    headers: admin,
    payload: { sessions },
  });
  expect(imported.json()).toMatchObject({ imported: sessions.length, errors: [] });
  const terms = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/terms',
    headers: admin,
    payload: {
      terms: [
        { name: 'Autumn 2024', startsOn: '2024-09-23', endsOn: '2024-12-13' },
        { name: 'Autumn 2025', startsOn: '2025-09-22', endsOn: '2025-12-12' },
        { name: 'Spring 2026', startsOn: '2026-01-12', endsOn: '2026-03-27' },
        { name: 'Autumn 2026', startsOn: '2026-09-21', endsOn: '2026-12-11' },
        { name: 'Spring 2027', startsOn: '2027-01-11', endsOn: '2027-03-26' },
      ],
    },
  });
  expect(terms.statusCode).toBe(200);
  const size = (term: string, value: string, count: number) => ({
    term,
    dimension: 'fee_status',
    value,
    size: count,
  });
  const cohorts = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/cohorts',
    headers: admin,
    payload: {
      cohorts: [
        size('Autumn 2024', 'international', 999),
        size('Autumn 2025', 'international', 80),
        size('Spring 2026', 'international', 75),
        size('Autumn 2026', 'international', 70),
        size('Spring 2027', 'international', 64),
        size('Autumn 2025', 'home', 10),
        size('Autumn 2026', 'home', 10),
      ],
    },
  });
  expect(cohorts.statusCode).toBe(200);
});
afterAll(() => t.close());

describe('uptake before and after', () => {
  it('gives unique attendees, uptake against the largest overlapping term, and Newcombe’s interval for the change', async () => {
    const response = await get(`/api/v1/uptake/compare?by=fee_status&${PERIODS}`);
    expect(response.statusCode).toBe(200);
    const report = response.json();
    expect(report.before).toEqual({ from: '2025-08-01', to: '2026-07-31', terms: ['Autumn 2025', 'Spring 2026'] });
    expect(report.after).toEqual({ from: '2026-08-01', to: '2027-07-31', terms: ['Autumn 2026', 'Spring 2027'] });
    expect(report.rows.map((row: { value: string | null }) => row.value)).toEqual(['home', 'international', null]);

    const international = report.rows[1];
    expect(international.before).toMatchObject({
      bookings: 51,
      uniqueStudents: 50,
      uniqueAttendees: 48,
      cohortSize: 80,
      uptakeRate: 0.6,
    });
    expect(international.after).toMatchObject({
      bookings: 56,
      uniqueStudents: 56,
      uniqueAttendees: 56,
      cohortSize: 70,
      uptakeRate: 0.8,
    });
    expect(international.attendeesChange).toBe(8);
    expect(international.uptakeChange).toBeCloseTo(0.2, 10);
    // Newcombe (1998b), table II, example (a) 56/70 − 48/80, method 10: 0.0524 to 0.3339.
    expect(international.uptakeChangeCi95[0]).toBeCloseTo(0.0524, 4);
    expect(international.uptakeChangeCi95[1]).toBeCloseTo(0.3339, 4);
    // Pooled z = 0.2 / √(104/150 · 46/150 · (1/70 + 1/80)) = 2.650; two-sided p = 0.00805.
    expect(international.pValue).toBeCloseTo(0.00805, 5);
    // Wilson interval for 48/80 (Wilson 1927), worked by hand: 0.4905 to 0.7004.
    expect(international.before.uptakeRateCi95[0]).toBeCloseTo(0.4905, 4);
    expect(international.before.uptakeRateCi95[1]).toBeCloseTo(0.7004, 4);

    const home = report.rows[0];
    expect(home.before).toMatchObject({ uniqueAttendees: 3, cohortSize: 10, uptakeRate: 0.3 });
    expect(home.after).toMatchObject({ uniqueAttendees: 9, cohortSize: 10, uptakeRate: 0.9 });
    // Newcombe (1998b), table II, example (b) 9/10 − 3/10: 0.1705 to 0.8090.
    expect(home.uptakeChangeCi95[0]).toBeCloseTo(0.1705, 4);
    expect(home.uptakeChangeCi95[1]).toBeCloseTo(0.809, 4);

    const unknown = report.rows[2];
    expect(unknown.before).toMatchObject({ bookings: 0, uniqueAttendees: 0, cohortSize: null, uptakeRate: null });
    expect(unknown.after).toMatchObject({ bookings: 1, uniqueAttendees: 1, cohortSize: null, uptakeRate: null });
    expect(unknown).toMatchObject({ attendeesChange: 1, uptakeChange: null, uptakeChangeCi95: null, pValue: null });
  });

  it('rounds counts and hides rates on small cohorts under HESA disclosure, and suppresses small groups in CSV', async () => {
    const report = (await get(`/api/v1/uptake/compare?by=fee_status&${PERIODS}&disclosure=hesa`)).json();
    const [home, international] = report.rows;
    // 48 → 50, 56 → 55, 51 → 50 (nearest 5); cohorts 80 and 70 are at least 23, so rates stay.
    expect(international.before).toMatchObject({ bookings: 50, uniqueAttendees: 50, cohortSize: 80 });
    expect(international.after).toMatchObject({ uniqueAttendees: 55, cohortSize: 70, uptakeRate: 0.8 });
    // A cohort of 10 is under 23: no rate and no change.
    expect(home.before).toMatchObject({ uniqueAttendees: 5, cohortSize: 10, uptakeRate: null });
    expect(home).toMatchObject({ uptakeChange: null, uptakeChangeCi95: null });

    const csv = await get(`/api/v1/uptake/compare?by=fee_status&${PERIODS}&disclosure=hesa&format=csv`);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const rows = parse(csv.body, { columns: true }) as Record<string, string>[];
    // Home had 3 students before (under 5): suppressed, as is the one unrecorded student.
    expect(rows.map((row) => [row.fee_status, row.suppressed])).toEqual([
      ['home', 'true'],
      ['international', 'false'],
      ['', 'true'],
    ]);
    expect(rows[1]).toMatchObject({ beforeUniqueAttendees: '50', afterUniqueAttendees: '55', afterUptakeRate: '0.8' });
    expect(rows[0]?.afterUniqueAttendees).toBe('');
    expect(rows[2]?.afterUniqueAttendees).toBe('');
  });

  it('names the field when the periods are reversed, overlap or the category is unknown', async () => {
    const overlap = await get(
      '/api/v1/uptake/compare?by=fee_status&beforeFrom=2025-08-01&beforeTo=2026-07-31&afterFrom=2026-07-31&afterTo=2027-07-31',
    );
    expect(overlap.statusCode).toBe(400);
    expect(overlap.json().errors[0].pointer).toBe('/afterFrom');
    const reversed = await get(
      '/api/v1/uptake/compare?by=fee_status&beforeFrom=2026-07-31&beforeTo=2025-08-01&afterFrom=2026-08-01&afterTo=2027-07-31',
    );
    expect(reversed.json().errors[0].pointer).toBe('/beforeTo');
    const unknown = await get(`/api/v1/uptake/compare?by=shoe_size&${PERIODS}`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].pointer).toBe('/by');
  });

  it('is for analysts and admins only', async () => {
    expect((await get(`/api/v1/uptake/compare?by=fee_status&${PERIODS}`, 'admin')).statusCode).toBe(200);
    expect((await get(`/api/v1/uptake/compare?by=fee_status&${PERIODS}`, 'student')).statusCode).toBe(403);
    expect((await get(`/api/v1/uptake/compare?by=fee_status&${PERIODS}`, 'librarian')).statusCode).toBe(403);
  });
});
