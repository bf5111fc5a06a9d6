import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Who a companion is (issue 26): kept with the booking, shown, and a support worker or
// interpreter (an accessibility adjustment, not a guest) left out of the figures about friends.

let t: TestContext;
let librarian: { id: string };

beforeAll(async () => {
  t = await createTestApp({ now: '2027-03-01T08:00:00Z' });
  librarian = await createLibrarianWithWeek(t, { email: 'roles@library.uni.example', maxCompanions: 2 });
});
afterAll(() => t?.close());

async function book(who: string, start: string, companions: Record<string, string>[]) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example` }),
    payload: { librarianId: librarian.id, start, companions },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

describe('companion roles', () => {
  it('keeps each companion’s role, a friend unless said, and a correction keeps it', async () => {
    const booked = await book('mixed', '2027-03-02T09:00:00Z', [{ name: 'Sam', role: 'family' }, { name: 'Jo' }]);
    expect(booked.companions.map((c: { name: string; role: string }) => `${c.name} ${c.role}`)).toEqual([
      'Sam family',
      'Jo friend',
    ]);
    const corrected = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/bookings/${booked.id}/companion`,
      headers: await t.auth('student', { sub: 'idp|mixed', email: 'mixed@student.uni.example' }),
      payload: { companionId: booked.companions[0].id, name: 'Sam Okafor' },
    });
    expect(corrected.statusCode, corrected.body).toBe(200);
    expect(corrected.json().companions[0]).toMatchObject({ name: 'Sam Okafor', role: 'family' });
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { sub: 'idp|odd', email: 'odd@student.uni.example' }),
      payload: {
        librarianId: librarian.id,
        start: '2027-03-02T10:00:00Z',
        companions: [{ name: 'X', role: 'chaperone' }],
      },
    });
    expect(refused.statusCode).toBe(400);
    expect(JSON.stringify(refused.json().errors)).toContain('/companions/0/role');
  });

  it('counts a booking with only a support worker as without a friend in the figures', async () => {
    // By hand: 3 March 09:00 with an interpreter only; 10:00 with a family member; 11:00 alone.
    await book('support', '2027-03-03T09:00:00Z', [{ name: 'Interpreter', role: 'support' }]);
    await book('family', '2027-03-03T10:00:00Z', [{ name: 'Aunt', role: 'family' }]);
    await book('alone', '2027-03-03T11:00:00Z', []);
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake?from=2027-03-03&to=2027-03-03&groupBy=companion',
      headers: await t.auth('analyst'),
    });
    expect(response.statusCode, response.body).toBe(200);
    const bookingsWith = (companion: boolean) =>
      response.json().rows.find((row: { group: { companion: boolean } }) => row.group.companion === companion)
        ?.bookings;
    expect(bookingsWith(true)).toBe(1);
    expect(bookingsWith(false)).toBe(2);
    // Counted apart: one of the three came with a support worker, and it is the one "without".
    expect(response.json().totals.supportBookings).toBe(1);
    const supportWithout = response
      .json()
      .rows.find((row: { group: { companion: boolean } }) => row.group.companion === false)?.supportBookings;
    expect(supportWithout).toBe(1);
    const csv = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake?from=2027-03-03&to=2027-03-03&groupBy=companion&format=csv',
      headers: await t.auth('analyst'),
    });
    const [header, ...lines] = csv.body.trim().split(/\r?\n/);
    const column = header?.split(',').indexOf('supportBookings') ?? -1;
    expect(column).toBeGreaterThan(0);
    // Rows without a companion, with one, then the totals.
    expect(lines.map((line) => line.split(',')[column])).toEqual(['1', '0', '1']);
  });

  it('takes a support worker or interpreter even where the librarian takes no friends, up to two', async () => {
    const noFriends = await createLibrarianWithWeek(t, { email: 'nofriends@library.uni.example', maxCompanions: 0 });
    const attempt = async (who: string, start: string, companions: Record<string, string>[]) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: await t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example` }),
        payload: { librarianId: noFriends.id, start, companions },
      });
    const withInterpreter = await attempt('signer', '2027-03-04T09:00:00Z', [
      { name: 'BSL interpreter', role: 'support' },
    ]);
    expect(withInterpreter.statusCode, withInterpreter.body).toBe(201);
    const withFriend = await attempt('friendly', '2027-03-04T10:00:00Z', [{ name: 'Jo' }]);
    expect(withFriend.statusCode).toBe(422);
    expect(withFriend.json().code).toBe('too_many_companions');
    const three = await attempt('three', '2027-03-04T11:00:00Z', [
      { name: 'A', role: 'support' },
      { name: 'B', role: 'support' },
      { name: 'C', role: 'support' },
    ]);
    expect(three.statusCode).toBe(422);
    // Added afterwards: a second support worker fits, a friend does not.
    const booking = withInterpreter.json();
    const add = async (companion: Record<string, string>) =>
      t.app.inject({
        method: 'PUT',
        url: `/api/v1/bookings/${booking.id}/companion`,
        headers: await t.auth('student', { sub: 'idp|signer', email: 'signer@student.uni.example' }),
        payload: companion,
      });
    expect((await add({ name: 'Note-taker', role: 'support' })).statusCode).toBe(200);
    expect((await add({ name: 'Sam' })).statusCode).toBe(422);
  });
});
