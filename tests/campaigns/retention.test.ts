import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/rows.js';
import { anonymiseBefore } from '../../src/modules/bookings/retention.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { campaignWithCohort } from '../helpers/campaigns.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Issue 27: the cohort list (emails) is removed by retention; the campaign's figures stay, even
// once the students themselves have lost their addresses to retention.

let t: TestContext;
const SENT = '2027-03-01T08:00:00Z';

beforeAll(async () => {
  t = await createTestApp({ now: SENT });
});
afterAll(async () => {
  await t.close();
});

describe('campaign retention', () => {
  it('forgets who was in a cohort after the outcome window and retention, and keeps the results byte for byte', async () => {
    const librarian = await createLibrarianWithWeek(t, { minNoticeMinutes: 0 });
    const admin = await t.auth('admin', { email: 'outreach@uni.example' });
    const people = ['uma', 'vic', 'wes', 'xia'].map((name) => `${name}@student.uni.example`);
    const { id } = await campaignWithCohort(t, admin, {
      name: 'Old campaign',
      armPercent: 50,
      seed: 'retention-seed-1',
      sendFrom: SENT,
      sendUntil: '2027-03-01T20:00:00Z',
      cohort: ['email,first_name', ...people.map((email) => `${email},Someone`)].join('\n'),
    });
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/v1/campaigns/${id}/send`, headers: admin })).statusCode,
    ).toBe(200);
    // Two of them book, by address, in the window.
    for (const [index, email] of people.slice(0, 2).entries()) {
      const booked = await t.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: await t.auth('student', { sub: `idp|${email}`, email }),
        payload: { librarianId: librarian.id, start: `2027-03-0${2 + index}T09:00:00Z` },
      });
      expect(booked.statusCode, booked.body).toBe(201);
    }
    const results = async () =>
      (
        await t.app.inject({
          method: 'GET',
          url: `/api/v1/campaigns/${id}/results`,
          headers: await t.auth('analyst'),
        })
      ).body;
    t.clock.set('2029-06-01T00:00:00Z');
    const before = await results();
    expect(
      JSON.parse(before).arms.reduce((sum: number, arm: { booked: { count: number } }) => sum + arm.booked.count, 0),
    ).toBe(2);

    // Retention at 24 months: the sessions (March 2027) and the campaign's window are older.
    await anonymiseBefore(t.db, new Date('2027-06-01T00:00:00Z'), t.clock.now());
    expect(await results()).toBe(before);
    const left = await rowsOf<{ n: number }>(
      t.db,
      sql`select count(*)::int as n from campaign_members where campaign_id = ${id} and (email is not null or first_name is not null)`,
    );
    expect(left[0]?.n).toBe(0);
    const students = await rowsOf<{ n: number }>(
      t.db,
      sql`select count(*)::int as n from students where email like '%@student.uni.example' and email in ('uma@student.uni.example', 'vic@student.uni.example')`,
    );
    expect(students[0]?.n).toBe(0);
    const members = (
      await t.app.inject({ method: 'GET', url: `/api/v1/campaigns/${id}/cohort`, headers: await t.auth('admin') })
    ).json().members as { email: string | null }[];
    expect(members.every((member) => member.email === null)).toBe(true);
  });
});
