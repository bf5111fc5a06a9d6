import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Issue 26, "what the friend does next": of the friends who came, who later booked for
// themselves and who came to a session of their own; and who said they first came as a friend.

let t: TestContext;
let librarian: { id: string; email: string };

type Friend = { name: string; email?: string; role?: string; categories?: Record<string, string>; came: boolean };

async function student(name: string, fee: string) {
  const headers = await t.auth('student', { sub: `idp|${name}`, email: `${name}@student.uni.example`, name });
  const profile = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/me',
    headers,
    payload: { categories: { fee_status: fee } },
  });
  expect(profile.statusCode, profile.body).toBe(200);
  return headers;
}

/** Books at `start` (the clock at `bookedAt`), then, 50 minutes in, records who came. */
async function session(options: {
  who: string;
  fee: string;
  start: string;
  bookedAt: string;
  friends?: Friend[];
  came: boolean;
  cameAsFriendBefore?: boolean;
  effort?: number;
}) {
  t.clock.set(options.bookedAt);
  const headers = await student(options.who, options.fee);
  const booked = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers,
    payload: {
      librarianId: librarian.id,
      start: options.start,
      ...(options.cameAsFriendBefore ? { cameAsFriendBefore: true } : {}),
      ...(options.friends ? { companions: options.friends.map(({ came: _came, ...friend }) => friend) } : {}),
    },
  });
  expect(booked.statusCode, booked.body).toBe(201);
  const booking = booked.json() as { id: string; companions: { id: string }[] };
  t.clock.set(new Date(Date.parse(options.start) + 50 * 60_000).toISOString());
  const recorded = await t.app.inject({
    method: 'POST',
    url: `/api/v1/bookings/${booking.id}/attendance`,
    headers: await t.auth('librarian', { email: librarian.email }),
    payload: {
      student: options.came ? 'attended' : 'no_show',
      ...(options.effort ? { effort: options.effort } : {}),
      ...(options.friends
        ? {
            companions: options.friends.map((friend, index) => ({
              companionId: booking.companions[index]?.id,
              attended: friend.came,
            })),
          }
        : {}),
    },
  });
  expect(recorded.statusCode, recorded.body).toBe(200);
  return booking;
}

beforeAll(async () => {
  t = await createTestApp({ now: '2027-03-01T08:00:00Z' });
  librarian = await createLibrarianWithWeek(t, {
    email: 'ripple@library.uni.example',
    maxCompanions: 3,
    minNoticeMinutes: 0,
  });
  // The fixture, by hand. Tuesday 2 March: Asha (international) brings Bo (home), Cy
  // (international) and Di (no category given); Bo and Cy come, Di does not.
  await session({
    who: 'asha',
    fee: 'international',
    start: '2027-03-02T09:00:00Z',
    bookedAt: '2027-03-01T08:00:00Z',
    came: true,
    friends: [
      { name: 'Bo', email: 'bo@student.uni.example', categories: { fee_status: 'home' }, came: true },
      { name: 'Cy', email: 'CY@student.uni.example', categories: { fee_status: 'international' }, came: true },
      { name: 'Di', email: 'di@student.uni.example', came: false },
    ],
  });
  // Wednesday 3 March: Ben (home) brings Ed, who comes, and an interpreter (never a friend).
  await session({
    who: 'ben',
    fee: 'home',
    start: '2027-03-03T09:00:00Z',
    bookedAt: '2027-03-01T08:00:00Z',
    came: true,
    friends: [
      { name: 'Ed', email: 'ed@student.uni.example', came: true },
      { name: 'Fay', email: 'fay@student.uni.example', role: 'support', came: true },
    ],
  });
  // Thursday 4 March, Gus (international) books and says he first came as a friend.
  await session({
    who: 'gus',
    fee: 'international',
    start: '2027-03-04T09:00:00Z',
    bookedAt: '2027-03-01T08:00:00Z',
    came: true,
    cameAsFriendBefore: true,
  });
  // Later, for themselves: Bo books and comes; Cy (signing in as cy@, any case) books and does not
  // come; Di, who never came as a friend, books; so does Fay, the interpreter. Ed does not.
  await session({
    who: 'bo',
    fee: 'home',
    start: '2027-03-09T09:00:00Z',
    bookedAt: '2027-03-05T08:00:00Z',
    came: true,
  });
  await session({
    who: 'cy',
    fee: 'international',
    start: '2027-03-09T10:00:00Z',
    bookedAt: '2027-03-05T08:00:00Z',
    came: false,
  });
  await session({
    who: 'di',
    fee: 'home',
    start: '2027-03-09T11:00:00Z',
    bookedAt: '2027-03-05T08:00:00Z',
    came: true,
  });
  await session({
    who: 'fay',
    fee: 'home',
    start: '2027-03-10T09:00:00Z',
    bookedAt: '2027-03-05T08:00:00Z',
    came: true,
  });
});
afterAll(() => t?.close());

async function ripple(query: string) {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/uptake/friends-later?${query}`,
    headers: await t.auth('analyst'),
  });
  expect(response.statusCode, response.body).toBe(200);
  return response;
}

describe('friends who later booked for themselves', () => {
  it('counts each friend who came once, by the friend’s own category, with Wilson intervals', async () => {
    const report = (await ripple('from=2027-03-01&to=2027-03-07&by=fee_status')).json();
    // Bo, Cy and Ed came as friends (Di did not come; Fay is an interpreter). Bo and Cy booked
    // later, Bo alone came. Gus said he first came as a friend; his friend's category is unknown.
    expect(report.totals).toMatchObject({ friends: 3, bookedLater: 2, attendedLater: 1, saidCameAsFriend: 1 });
    // Wilson 95% for 2 of 3, by hand: centre (2/3 + 1.9208/3) / 2.2805 = 0.5731, half-width
    // 0.8594 × √(0.0741 + 0.1067) = 0.3654: 0.2077 to 0.9385.
    expect(report.totals.bookedLaterRate).toBeCloseTo(2 / 3, 6);
    expect(report.totals.bookedLaterRateCi95[0]).toBeCloseTo(0.2077, 4);
    expect(report.totals.bookedLaterRateCi95[1]).toBeCloseTo(0.9385, 4);
    // 1 of 3: 0.0615 to 0.7923 (the mirror image of 2 of 3).
    expect(report.totals.attendedLaterRateCi95[0]).toBeCloseTo(0.0615, 4);
    expect(report.totals.attendedLaterRateCi95[1]).toBeCloseTo(0.7923, 4);
    const rows = Object.fromEntries(
      report.rows.map((row: Record<string, unknown>) => [
        String(row.value),
        [row.friends, row.bookedLater, row.attendedLater, row.saidCameAsFriend],
      ]),
    );
    expect(rows).toEqual({ home: [1, 1, 1, 0], international: [1, 1, 0, 0], null: [1, 0, 0, 1] });
  });

  it('reads the student’s category instead when asked, and names the friends’ later bookings by it', async () => {
    const report = (await ripple('from=2027-03-01&to=2027-03-07&by=fee_status&of=student')).json();
    const rows = Object.fromEntries(
      report.rows.map((row: Record<string, unknown>) => [
        String(row.value),
        [row.friends, row.bookedLater, row.attendedLater, row.saidCameAsFriend],
      ]),
    );
    // Bo and Cy came with Asha (international), Ed with Ben (home); Gus is international.
    expect(rows).toEqual({ home: [1, 0, 0, 0], international: [2, 2, 1, 1] });
  });

  it('counts only friends who came in the range, and gives a CSV with the totals', async () => {
    const none = (await ripple('from=2027-03-08&to=2027-03-14')).json();
    expect(none.totals).toMatchObject({ friends: 0, bookedLater: 0, bookedLaterRate: null, bookedLaterRateCi95: null });
    const csv = await ripple('from=2027-03-01&to=2027-03-07&by=fee_status&format=csv');
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = parse(csv.body, { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => [row.fee_status, row.friends, row.bookedLater, row.attendedLater])).toEqual([
      ['home', '1', '1', '1'],
      ['international', '1', '1', '0'],
      ['', '1', '0', '0'],
      ['total', '3', '2', '1'],
    ]);
    const refused = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/friends-later?from=2027-03-01&to=2027-03-07&by=shoe_size',
      headers: await t.auth('analyst'),
    });
    expect(refused.statusCode).toBe(400);
    expect(JSON.stringify(refused.json())).toContain('/by');
    const student = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/friends-later?from=2027-03-01&to=2027-03-07',
      headers: await t.auth('student'),
    });
    expect(student.statusCode).toBe(403);
  });
});

describe('effort on the READ scale', () => {
  it('compares the effort librarians recorded with and without a friend, as worked by hand', async () => {
    // Thursday 11 March with a friend: READ 4 and 2. Friday 12 March alone: 1 and 3, and one unrated.
    const friendly = await session({
      who: 'eff-a',
      fee: 'home',
      start: '2027-03-11T09:00:00Z',
      bookedAt: '2027-03-05T08:00:00Z',
      came: true,
      effort: 4,
      friends: [{ name: 'Pal', came: true }],
    });
    await session({
      who: 'eff-b',
      fee: 'home',
      start: '2027-03-11T10:00:00Z',
      bookedAt: '2027-03-05T08:00:00Z',
      came: true,
      effort: 2,
      friends: [{ name: 'Mate', came: true }],
    });
    for (const [who, start, effort] of [
      ['eff-c', '2027-03-12T09:00:00Z', 1],
      ['eff-d', '2027-03-12T10:00:00Z', 3],
      ['eff-e', '2027-03-12T11:00:00Z', undefined],
    ] as const) {
      await session({
        who,
        fee: 'home',
        start,
        bookedAt: '2027-03-05T08:00:00Z',
        came: true,
        ...(effort ? { effort } : {}),
      });
    }
    // A correction that leaves effort out keeps it.
    const corrected = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${friendly.id}/attendance`,
      headers: await t.auth('librarian', { email: librarian.email }),
      payload: { student: 'attended' },
    });
    expect(corrected.json().effort).toBe(4);
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/effort?from=2027-03-11&to=2027-03-12&by=fee_status',
      headers: await t.auth('analyst'),
    });
    expect(response.statusCode, response.body).toBe(200);
    const row = response.json().rows.find((entry: { value: string }) => entry.value === 'home');
    // With: 4 and 2, mean 3, s = √2, s.e. 1, t(1) = 12.706: 3 ± 12.706. Alone: 1 and 3, mean 2.
    expect(row.withCompanion).toMatchObject({ rated: 2, distribution: [0, 1, 0, 1, 0, 0], mean: 3 });
    expect(row.withCompanion.meanCi95[0]).toBeCloseTo(-9.706, 3);
    expect(row.withCompanion.meanCi95[1]).toBeCloseTo(15.706, 3);
    expect(row.withoutCompanion).toMatchObject({ rated: 2, distribution: [1, 0, 1, 0, 0, 0], mean: 2 });
    const outOfScale = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${friendly.id}/attendance`,
      headers: await t.auth('librarian', { email: librarian.email }),
      payload: { student: 'attended', effort: 7 },
    });
    expect(outOfScale.statusCode).toBe(400);
    expect(JSON.stringify(outOfScale.json())).toContain('/effort');
  });
});
