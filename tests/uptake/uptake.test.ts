import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymiseBefore } from '../../src/modules/bookings/retention.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

let t: TestContext;
let librarian: { id: string; email: string };
const NOW = '2027-04-15T12:00:00Z';
const RANGE = 'from=2027-03-01&to=2027-04-30';

async function get(url: string, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'GET', url, headers: { ...(await t.auth('analyst')), ...headers } });
}

/**
 * The fixture, by hand (LIBRARY_TIME_ZONE Europe/London, now 15 April 2027):
 *  1 s1 international  companion  attended      10 Mar (imported)
 *  2 s1 international  —          no_show       11 Mar (imported)
 *  3 s2 international  companion  attended      12 Mar (imported)
 *  4 s3 home           —          attended      15 Mar (imported)
 *  5 s3 home           —          late cancel   16 Mar (imported)
 *  6 s4 home           companion  cancelled     17 Mar (imported)
 *  7 s5 international + postgraduate_taught, companion, no_show, 31 Mar 23:30 UTC = 1 Apr 00:30 BST (imported)
 *  8 s6 international  companion declined before the start, upcoming 20 Apr (booked)
 *  9 s7 home           companion  unrecorded    13 Apr (booked)
 */
beforeAll(async () => {
  t = await createTestApp({ now: '2027-04-01T08:00:00Z' });
  librarian = await createLibrarianWithWeek(t, { email: 'ada@uni.ac.uk', minNoticeMinutes: 0 });
  const session = (
    start: string,
    studentRef: string,
    categories: Record<string, string>,
    companion: boolean,
    outcome: string,
  ) => ({ start, minutes: 60, librarianEmail: 'ada@uni.ac.uk', studentRef, categories, companion, outcome });
  const intl = { fee_status: 'international' };
  const home = { fee_status: 'home' };
  const imported = await t.app.inject({
    method: 'POST',
    url: '/api/v1/imports/sessions',
    headers: await t.auth('admin'),
    payload: {
      sessions: [
        session('2027-03-10T10:00:00Z', 's1', intl, true, 'attended'),
        session('2027-03-11T10:00:00Z', 's1', intl, false, 'no_show'),
        session('2027-03-12T10:00:00Z', 's2', intl, true, 'attended'),
        session('2027-03-15T10:00:00Z', 's3', home, false, 'attended'),
        session('2027-03-16T10:00:00Z', 's3', home, false, 'late_cancelled'),
        session('2027-03-17T10:00:00Z', 's4', home, true, 'cancelled'),
        session('2027-03-31T23:30:00Z', 's5', { ...intl, study_level: 'postgraduate_taught' }, true, 'no_show'),
      ],
    },
  });
  expect(imported.json()).toEqual({ imported: 7, skipped: 0, errors: [] });

  const student = async (sub: string, fee: string) => {
    const headers = await t.auth('student', { sub, email: `${sub}@uni.ac.uk` });
    await t.app.inject({ method: 'PUT', url: '/api/v1/me', headers, payload: { categories: { fee_status: fee } } });
    return headers;
  };
  const s6 = await student('s6', 'international');
  const eight = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: s6,
    payload: { librarianId: librarian.id, start: '2027-04-20T08:00:00Z', companion: { name: 'Friend of s6' } },
  });
  const companionLink = eight.json().links.companions[0].manage as string;
  await t.app.inject({
    method: 'POST',
    url: `/api/v1/bookings/${eight.json().id}/companion/decline?token=${new URL(companionLink).searchParams.get('token')}`,
  });
  const s7 = await student('s7', 'home');
  const nine = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: s7,
    payload: {
      librarianId: librarian.id,
      start: '2027-04-13T08:00:00Z',
      topic: 'Essay on migration policy',
      companion: { name: 'Friend of s7' },
    },
  });
  expect(nine.statusCode).toBe(201);
  t.clock.set(NOW);

  await t.app.inject({
    method: 'PUT',
    url: '/api/v1/terms',
    headers: await t.auth('admin'),
    payload: { terms: [{ name: 'Spring 2027', startsOn: '2027-01-04', endsOn: '2027-04-30' }] },
  });
  await t.app.inject({
    method: 'PUT',
    url: '/api/v1/cohorts',
    headers: await t.auth('admin'),
    payload: {
      cohorts: [
        { term: 'Spring 2027', dimension: 'fee_status', value: 'international', size: 40 },
        { term: 'Spring 2027', dimension: 'fee_status', value: 'home', size: 100 },
      ],
    },
  });
});
afterAll(() => t.close());

const row = (rows: { group: Record<string, unknown> }[], group: Record<string, unknown>) =>
  rows.find((candidate) => JSON.stringify(candidate.group) === JSON.stringify(group));

describe('uptake figures', () => {
  it('counts every column by fee status and companion exactly as defined', async () => {
    const response = await get(`/api/v1/uptake?${RANGE}&groupBy=fee_status,companion`);
    expect(response.statusCode).toBe(200);
    const report = response.json();
    expect(report.rows.map((r: { group: unknown }) => r.group)).toEqual([
      { fee_status: 'home', companion: false },
      { fee_status: 'home', companion: true },
      { fee_status: 'international', companion: false },
      { fee_status: 'international', companion: true },
    ]);
    expect(row(report.rows, { fee_status: 'home', companion: false })).toMatchObject({
      bookings: 2,
      cancelled: 1,
      lateCancelled: 1,
      attended: 1,
      noShow: 0,
      unrecorded: 0,
      upcoming: 0,
      attendanceRate: 1,
      uniqueStudents: 1,
      uniqueAttendees: 1,
      uptakeRate: null,
    });
    expect(row(report.rows, { fee_status: 'home', companion: true })).toMatchObject({
      bookings: 2,
      cancelled: 1,
      lateCancelled: 0,
      attended: 0,
      noShow: 0,
      unrecorded: 1,
      upcoming: 0,
      attendanceRate: null,
      attendanceRateCi95: null,
      uniqueStudents: 2,
      uniqueAttendees: 0,
    });
    expect(row(report.rows, { fee_status: 'international', companion: false })).toMatchObject({
      bookings: 2,
      cancelled: 0,
      attended: 0,
      noShow: 1,
      unrecorded: 0,
      upcoming: 1,
      attendanceRate: 0,
      uniqueStudents: 2,
      uniqueAttendees: 0,
    });
    const withFriend = row(report.rows, { fee_status: 'international', companion: true }) as Record<string, unknown>;
    expect(withFriend).toMatchObject({ bookings: 3, attended: 2, noShow: 1, uniqueStudents: 3, uniqueAttendees: 2 });
    expect(withFriend.attendanceRate).toBeCloseTo(2 / 3, 10);
    // R: Wilson(2, 3) by hand, z = 1.96: centre 0.5731, half-width 0.3654.
    const [low, high] = withFriend.attendanceRateCi95 as [number, number];
    expect(low).toBeCloseTo(0.2077, 4);
    expect(high).toBeCloseTo(0.9385, 4);
    expect(report.totals).toMatchObject({
      bookings: 9,
      cancelled: 2,
      lateCancelled: 1,
      attended: 3,
      noShow: 2,
      unrecorded: 1,
      upcoming: 1,
      attendanceRate: 0.6,
      uniqueStudents: 7,
      uniqueAttendees: 3,
    });
  });

  it('puts a session in the month it starts in the library zone (23:30 UTC on 31 March is April)', async () => {
    const report = (await get(`/api/v1/uptake?${RANGE}&groupBy=month`)).json();
    expect(report.rows.map((r: { group: { month: string }; bookings: number }) => [r.group.month, r.bookings])).toEqual(
      [
        ['2027-03', 6],
        ['2027-04', 3],
      ],
    );
    const april = (await get('/api/v1/uptake?from=2027-04-01&to=2027-04-30')).json();
    expect(april.totals.bookings).toBe(3);
  });

  it('counts a student with several categories under each of them', async () => {
    const byLevel = (await get(`/api/v1/uptake?${RANGE}&groupBy=study_level`)).json();
    expect(row(byLevel.rows, { study_level: 'postgraduate_taught' })).toMatchObject({ bookings: 1, noShow: 1 });
    const filtered = (await get(`/api/v1/uptake?${RANGE}&study_level=postgraduate_taught&groupBy=fee_status`)).json();
    expect(filtered.rows).toEqual([expect.objectContaining({ group: { fee_status: 'international' }, bookings: 1 })]);
  });

  it('gives uptake rates against the term’s cohort sizes', async () => {
    const report = (await get(`/api/v1/uptake?${RANGE}&groupBy=term,fee_status`)).json();
    expect(row(report.rows, { term: 'Spring 2027', fee_status: 'international' })).toMatchObject({
      uniqueAttendees: 2,
      uptakeRate: 0.05,
    });
    expect(row(report.rows, { term: 'Spring 2027', fee_status: 'home' })).toMatchObject({
      uniqueAttendees: 1,
      uptakeRate: 0.01,
    });
  });

  it('fills empty groups with zeros only when asked', async () => {
    const plain = (await get(`/api/v1/uptake?${RANGE}&groupBy=mode`)).json();
    expect(plain.rows.map((r: { group: unknown }) => r.group)).toEqual([{ mode: 'in_person' }]);
    const filled = (await get(`/api/v1/uptake?${RANGE}&groupBy=mode&fill=true`)).json();
    expect(row(filled.rows, { mode: 'online' })).toMatchObject({
      bookings: 0,
      attendanceRate: null,
      uniqueStudents: 0,
    });
    // Filled week labels match the ones SQL gives: no week appears twice.
    const weeks = (await get(`/api/v1/uptake?${RANGE}&groupBy=week&fill=true`)).json();
    const labels = weeks.rows.map((r: { group: { week: string } }) => r.group.week);
    expect(labels).toHaveLength(9);
    expect(new Set(labels).size).toBe(9);
    expect(labels).toContain('2027-W09');
    expect(weeks.rows.reduce((total: number, r: { bookings: number }) => total + r.bookings, 0)).toBe(9);
  });

  it('rejects unknown groups, filters and two periods, naming the parameter', async () => {
    for (const [query, pointer] of [
      ['groupBy=shoe_size', '/groupBy'],
      ['groupBy=month,week', '/groupBy'],
      ['shoe_size=9', '/shoe_size'],
    ]) {
      const response = await get(`/api/v1/uptake?${RANGE}&${query}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().errors[0]).toMatchObject({ pointer, in: 'query' });
    }
    expect(
      (await t.app.inject({ method: 'GET', url: `/api/v1/uptake?${RANGE}`, headers: await t.auth('student') }))
        .statusCode,
    ).toBe(403);
  });
});

describe('companion effect', () => {
  it('compares attendance with and without a companion per category, with intervals and a test', async () => {
    const report = (await get(`/api/v1/uptake/companion-effect?${RANGE}&by=fee_status`)).json();
    const international = report.rows.find((r: { value: string }) => r.value === 'international');
    expect(international.withCompanion).toMatchObject({ bookings: 3, attended: 2, noShow: 1 });
    expect(international.withoutCompanion).toMatchObject({ bookings: 2, attended: 0, noShow: 1, attendanceRate: 0 });
    expect(international.difference).toBeCloseTo(2 / 3, 10);
    // R: by hand. Newcombe's hybrid score interval for 2/3 − 0/1 from Wilson(2,3) = [0.2077, 0.9385]
    // and Wilson(0,1) = [0, 0.7935]: 0.6667 − √(0.4590² + 0.7935²) and 0.6667 + √(0.2718² + 0²).
    expect(international.differenceCi95[0]).toBeCloseTo(-0.25, 4);
    expect(international.differenceCi95[1]).toBeCloseTo(0.9385, 4);
    // Pooled p = 2/4; z = 0.6667 / √(0.25 × (1/3 + 1)) = 1.1547; two-sided p = 2(1 − Φ(1.1547)) = 0.2482.
    expect(international.pValue).toBeCloseTo(0.2482, 4);
    expect(international.companionShare).toBeCloseTo(3 / 5, 10);
    expect(international.lowCount).toBe(true);
    const home = report.rows.find((r: { value: string }) => r.value === 'home');
    expect(home).toMatchObject({ difference: null, differenceCi95: null, pValue: null, companionShare: 0.5 });
    expect(home.withCompanion.attendanceRate).toBeNull();
  });
});

describe('outputs people use', () => {
  it('serves CSV with stable columns for Accept: text/csv', async () => {
    const response = await get(`/api/v1/uptake?${RANGE}&groupBy=fee_status,companion`, { accept: 'text/csv' });
    expect(response.headers['content-type']).toContain('text/csv');
    const lines = response.body.trim().split('\r\n');
    expect(lines[0]).toBe(
      'fee_status,companion,bookings,cancelled,lateCancelled,attended,noShow,unrecorded,upcoming,attendanceRate,attendanceRateCi95Low,attendanceRateCi95High,uniqueStudents,uniqueAttendees,uptakeRate,supportBookings,suppressed',
    );
    const cells = (lines[1] as string).split(',');
    expect([...cells.slice(0, 10), ...cells.slice(11)]).toEqual('home,false,2,1,1,1,0,0,0,1,1,1,1,,0,false'.split(','));
    // R: Wilson(1, 1) lower bound by hand: centre (1 + 1.9208) / 4.8415 = 0.6033, less 1.9208 / 4.8415 = 0.2065.
    expect(Number(cells[10])).toBeCloseTo(0.2065, 4);
    expect(lines).toHaveLength(6);
    const effect = await get(`/api/v1/uptake/companion-effect?${RANGE}&by=fee_status&format=csv`);
    expect(effect.body.split('\r\n')[0]).toMatch(/^fee_status,withCompanionBookings,/);
  });

  it('applies HESA rounding and suppression when sharing', async () => {
    const json = (await get(`/api/v1/uptake?${RANGE}&groupBy=fee_status&disclosure=hesa`)).json();
    expect(json.disclosure).toBe('hesa');
    expect(json.totals).toMatchObject({
      bookings: 10,
      attended: 5,
      noShow: 0,
      uniqueStudents: 5,
      attendanceRate: null,
      attendanceRateCi95: null,
    });
    expect(row(json.rows, { fee_status: 'international' })).toMatchObject({
      bookings: 5,
      attended: 0,
      attendanceRate: null,
    });
    const csv = (await get(`/api/v1/uptake?${RANGE}&groupBy=fee_status&disclosure=hesa&format=csv`)).body
      .trim()
      .split('\r\n');
    // Both groups have under 5 students: labels stay, figures go.
    expect(csv[1]).toBe('home,,,,,,,,,,,,,,,true');
    expect(csv[2]).toBe('international,,,,,,,,,,,,,,,true');
    const effect = (await get(`/api/v1/uptake/companion-effect?${RANGE}&by=fee_status&disclosure=hesa&format=csv`)).body
      .trim()
      .split('\r\n');
    expect(effect[0]?.endsWith(',lowCount,suppressed')).toBe(true);
    expect(
      effect.slice(1).every(
        (line) =>
          line.endsWith(',true') &&
          line
            .split(',')
            .slice(1, -1)
            .every((cell) => cell === ''),
      ),
    ).toBe(true);
  });
});

describe('imports', () => {
  it('does not double-count a file imported twice', async () => {
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports/sessions',
      headers: await t.auth('admin'),
      payload: {
        sessions: [
          {
            start: '2027-03-10T10:00:00Z',
            minutes: 60,
            librarianEmail: 'ada@uni.ac.uk',
            studentRef: 's1',
            categories: { fee_status: 'international' },
            companion: true,
            outcome: 'attended',
          },
        ],
      },
    });
    expect(again.json()).toEqual({ imported: 0, skipped: 1, errors: [] });
  });

  it('checks every CSV row first, imports nothing when any is bad, and imports the good ones with skipInvalid', async () => {
    const csv = [
      'start,minutes,librarian_email,student_ref,companion,outcome,fee_status',
      '2026-10-06T10:00:00+01:00,60,ada@uni.ac.uk,h-1,yes,attended,international',
      '2026-10-07 10:00,60,ada@uni.ac.uk,h-2,no,attended,home',
      '2026-10-08T10:00:00+01:00,60,nobody@uni.ac.uk,h-3,maybe,lost,martian',
      '"2026-10-09T10:00:00+01:00",45,,"=cmd|\' /C calc\'!A0",false,no_show,home',
    ].join('\r\n');
    const rejected = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports/sessions',
      headers: { ...(await t.auth('admin')), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(rejected.statusCode).toBe(422);
    expect(rejected.json().code).toBe('import_invalid');
    const messages = rejected.json().errors.map((e: { message: string }) => e.message);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^line 2: start must be an ISO 8601 date-time with an offset/);
    expect(messages[1]).toMatch(
      /^line 3: .*librarianEmail nobody@uni.ac.uk is not a librarian.*companion.*outcome.*fee_status/,
    );
    const before = (await get('/api/v1/uptake?from=2026-10-01&to=2026-10-31')).json().totals.bookings;
    expect(before).toBe(0);

    const partial = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports/sessions?skipInvalid=true',
      headers: { ...(await t.auth('admin')), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(partial.json()).toMatchObject({ imported: 2, skipped: 0, errors: [{ line: 2 }, { line: 3 }] });
    const october = (await get('/api/v1/uptake?from=2026-10-01&to=2026-10-31&groupBy=companion')).json();
    expect(october.rows.map((r: { group: unknown; bookings: number }) => [r.group, r.bookings])).toEqual([
      [{ companion: false }, 1],
      [{ companion: true }, 1],
    ]);
  });
});

describe('retention', () => {
  it('leaves the figures byte-identical after anonymising old sessions', async () => {
    const urls = [
      `/api/v1/uptake?${RANGE}&groupBy=fee_status,companion,month`,
      `/api/v1/uptake?${RANGE}&groupBy=term,fee_status`,
      `/api/v1/uptake/companion-effect?${RANGE}&by=fee_status`,
      `/api/v1/uptake?${RANGE}&groupBy=fee_status,companion&format=csv`,
    ];
    const before = await Promise.all(urls.map(async (url) => (await get(url)).body));
    const result = await anonymiseBefore(t.db, new Date('2027-05-01T00:00:00Z'), t.clock.now());
    expect(result.bookings).toBeGreaterThan(0);
    const after = await Promise.all(urls.map(async (url) => (await get(url)).body));
    expect(after).toEqual(before);
    const booking = await t.app.inject({
      method: 'GET',
      url: '/api/v1/bookings?limit=200',
      headers: await t.auth('admin'),
    });
    for (const b of booking.json().bookings) {
      expect(b.topic).toBeNull();
      expect(b.student?.name ?? null).toBeNull();
      expect(b.student?.email ?? null).toBeNull();
      for (const companion of b.companions) expect(companion.name).toBeNull();
    }
  });
});

describe('the companion filter', () => {
  it('keeps only bookings with, or without, a companion, as counted by hand from the fixture', async () => {
    // With a companion at the start: 1, 3, 6, 7 and 9 (8's friend declined before it began).
    const withFriend = (await get(`/api/v1/uptake?${RANGE}&companion=true`)).json();
    expect(withFriend.totals).toMatchObject({ bookings: 5, attended: 2, noShow: 1, cancelled: 1, unrecorded: 1 });
    const alone = (await get(`/api/v1/uptake?${RANGE}&companion=false`)).json();
    expect(alone.totals).toMatchObject({ bookings: 4, attended: 1, noShow: 1, cancelled: 1, upcoming: 1 });
    const elsewhere = await get(`/api/v1/uptake/companion-effect?${RANGE}&by=fee_status&companion=true`);
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json().errors[0].pointer).toBe('/companion');
  });
});

describe('chart', () => {
  it('draws grouped bars with whiskers, axis labels and a legend as standalone SVG', async () => {
    const response = await get(`/api/v1/uptake/chart.svg?${RANGE}&groupBy=fee_status,companion`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('image/svg+xml');
    const svg = response.body;
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // Three bars with a rate (home without, international without and with); home with has none.
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(3);
    expect(svg.match(/<path d="M/g)).toHaveLength(3);
    // The seeded categories' labels, not their keys.
    expect(svg).toContain('>With a friend</text>');
    expect(svg).toContain('>Without a friend</text>');
    expect(svg).toContain('Attendance rate (95% interval)');
    expect(svg).toContain('>International</text>');
    expect(svg).not.toContain('>international</text>');
    const bookings = await get(`/api/v1/uptake/chart.svg?${RANGE}&groupBy=month&metric=bookings`);
    expect(bookings.body).toContain('Bookings by month');
  });
});
