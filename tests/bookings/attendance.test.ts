import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

let t: TestContext;
let librarian: { id: string; email: string };

beforeAll(async () => {
  t = await createTestApp({ now: '2027-03-01T08:00:00Z' });
  librarian = await createLibrarianWithWeek(t, { maxCompanions: 2 });
});
afterAll(() => t.close());

describe('attendance for each person', () => {
  it('records each companion separately, and refuses one who is not coming, naming the field', async () => {
    const booked = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: await t.auth('student', { sub: 'idp|pair', email: 'pair@student.uni.example' }),
        payload: {
          librarianId: librarian.id,
          start: '2027-03-02T09:00:00Z',
          companions: [{ name: 'Came' }, { name: 'Stayed home' }],
        },
      })
    ).json();
    t.clock.set('2027-03-02T09:30:00Z');
    try {
      const headers = await t.auth('librarian', { email: librarian.email });
      const [came, stayed] = booked.companions as { id: string }[];
      const unknown = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.id}/attendance`,
        headers,
        payload: {
          student: 'attended',
          companions: [{ companionId: '00000000-0000-4000-8000-000000000000', attended: true }],
        },
      });
      expect(unknown.statusCode).toBe(422);
      expect(unknown.json().errors[0].pointer).toBe('/companions');
      const recorded = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.id}/attendance`,
        headers,
        payload: {
          student: 'attended',
          companions: [
            { companionId: came?.id, attended: true },
            { companionId: stayed?.id, attended: false },
          ],
        },
      });
      expect(recorded.statusCode).toBe(200);
      expect(recorded.json().companions.map((c: { name: string; attended: boolean }) => [c.name, c.attended])).toEqual([
        ['Came', true],
        ['Stayed home', false],
      ]);
    } finally {
      t.clock.set('2027-03-01T08:00:00Z');
    }
  });
});
