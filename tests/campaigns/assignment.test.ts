import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '../../src/db/schema.js';
import { createTestApp, type TestContext } from '../helpers/app.js';

// Issue 27, a campaign's design, cohort and assignment: stratified by fee status, from a recorded
// seed, every arm's share held within each stratum; the same seed and cohort assign everyone the
// same way; the emails are spaced at CAMPAIGN_EMAILS_PER_MINUTE from the send window.

let t: TestContext;
let admin: Record<string, string>;
const NOW = '2027-03-01T08:00:00Z';

beforeAll(async () => {
  t = await createTestApp({ now: NOW });
  admin = await t.auth('admin', { email: 'campaigns@uni.example' });
});
afterAll(async () => {
  await t.close();
});

/** 1,000 people: p0000 … p0299 international, p0300 … p0999 home. */
const PEOPLE = Array.from({ length: 1000 }, (_, index) => ({
  email: `p${String(index).padStart(4, '0')}@student.uni.example`,
  fee: index < 300 ? 'international' : 'home',
}));

function cohortCsv(order: typeof PEOPLE): string {
  return [
    'email,first_name,fee_status',
    ...order.map((person, index) => `${person.email},Name${index},${person.fee}`),
  ].join('\n');
}

function design(seed: string) {
  return {
    name: `Bring a friend (${seed})`,
    hypothesis: 'Inviting students to bring a friend raises the share who book a session.',
    primaryOutcome: 'booked',
    arms: [
      {
        key: 'A',
        name: 'Plain',
        percent: 40,
        subject: 'Book a one-to-one, {firstName}',
        body: 'Hello {firstName},\n\nBook a session: {bookingLink}',
        friendParagraph: '',
      },
      {
        key: 'B',
        name: 'Bring a friend',
        percent: 40,
        subject: 'Book a one-to-one, {firstName}',
        body: 'Hello {firstName},\n\nBook a session: {bookingLink}\n\n{friendParagraph}',
        friendParagraph: 'You are welcome to bring a friend.',
      },
    ],
    holdoutPercent: 20,
    stratifyBy: 'fee_status',
    seed,
    sendFrom: '2027-03-01T09:00:00Z',
    sendUntil: '2027-03-01T17:00:00Z',
  };
}

async function request(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, type?: string) {
  return t.app.inject({
    method,
    url,
    headers: { ...admin, ...(type ? { 'content-type': type } : {}) },
    ...(payload === undefined ? {} : { payload: payload as string }),
  });
}

/** A campaign made, given the cohort in `order`, and sent: its id and everyone's arm by email. */
async function sentCampaign(seed: string, order: typeof PEOPLE) {
  const created = await request('POST', '/api/v1/campaigns', design(seed));
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as string;
  const cohort = await request('PUT', `/api/v1/campaigns/${id}/cohort`, cohortCsv(order), 'text/csv');
  expect(cohort.statusCode, cohort.body).toBe(200);
  expect(cohort.json().cohort).toMatchObject({
    size: 1000,
    byStratum: [
      { stratum: 'home', size: 700 },
      { stratum: 'international', size: 300 },
    ],
  });
  const sent = await request('POST', `/api/v1/campaigns/${id}/send`);
  expect(sent.statusCode, sent.body).toBe(200);
  expect(sent.json()).toMatchObject({ status: 'sent', sentAt: '2027-03-01T08:00:00.000Z', seed });
  const members = (await request('GET', `/api/v1/campaigns/${id}/cohort`)).json().members as {
    email: string;
    stratum: string;
    arm: string;
  }[];
  return { id, arms: new Map(members.map((member) => [member.email, member.arm])), members };
}

describe('campaign assignment', () => {
  it('holds 40/40/20 within each stratum, and the same seed assigns everyone the same way', async () => {
    const first = await sentCampaign('fixed-seed-2027', PEOPLE);
    const tally = new Map<string, number>();
    for (const member of first.members) {
      const key = `${member.stratum}/${member.arm}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    // 40% of 300 is 120, 20% is 60; of 700, 280 and 140.
    expect(Object.fromEntries(tally)).toEqual({
      'international/A': 120,
      'international/B': 120,
      'international/holdout': 60,
      'home/A': 280,
      'home/B': 280,
      'home/holdout': 140,
    });

    // The same seed, the cohort listed in reverse: every person in the same arm.
    const again = await sentCampaign('fixed-seed-2027', [...PEOPLE].reverse());
    expect(PEOPLE.every((person) => again.arms.get(person.email) === first.arms.get(person.email))).toBe(true);
    // Another seed: the same shares, but not the same people.
    const other = await sentCampaign('another-seed-2027', PEOPLE);
    const moved = PEOPLE.filter((person) => other.arms.get(person.email) !== first.arms.get(person.email)).length;
    expect(moved).toBeGreaterThan(100);

    // 800 emails at 600 a minute from the start of the send window (09:00): 600, then 200.
    const queued = await t.db
      .select({ sendAfter: notifications.sendAfter, payload: notifications.payload })
      .from(notifications)
      .where(eq(notifications.kind, 'campaign_invitation'));
    const ours = queued.filter((row) => (row.payload as { campaignId: string }).campaignId === first.id);
    expect(ours).toHaveLength(800);
    const byMinute = new Map<string, number>();
    for (const row of ours)
      byMinute.set(row.sendAfter.toISOString(), (byMinute.get(row.sendAfter.toISOString()) ?? 0) + 1);
    expect(Object.fromEntries(byMinute)).toEqual({
      '2027-03-01T09:00:00.000Z': 600,
      '2027-03-01T09:01:00.000Z': 200,
    });

    // Sent is locked.
    const change = await request('PUT', `/api/v1/campaigns/${first.id}`, design('fixed-seed-2027'));
    expect(change.statusCode).toBe(409);
    expect(change.json().code).toBe('campaign_locked');
  });

  it('refuses a design whose shares do not add up, and a cohort file with a wrong line, saving nothing', async () => {
    const wrong = await request('POST', '/api/v1/campaigns', { ...design('shares-seed-01'), holdoutPercent: 30 });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().errors).toEqual([
      expect.objectContaining({ pointer: '/holdoutPercent', message: 'arms and holdout add up to 110, not 100' }),
    ]);
    const created = await request('POST', '/api/v1/campaigns', design('lines-seed-01'));
    const id = created.json().id as string;
    const good = await request('PUT', `/api/v1/campaigns/${id}/cohort`, cohortCsv(PEOPLE.slice(0, 10)), 'text/csv');
    expect(good.json().cohort.size).toBe(10);
    const bad = [
      'email,fee_status',
      'ok@student.uni.example,home',
      'not-an-address,home',
      'also@student.uni.example,martian',
      'OK@student.uni.example,home',
    ].join('\n');
    const refused = await request('PUT', `/api/v1/campaigns/${id}/cohort`, bad, 'text/csv');
    expect(refused.statusCode).toBe(422);
    expect(refused.json().code).toBe('cohort_invalid');
    expect(refused.json().errors.map((error: { message: string }) => error.message)).toEqual([
      'line 3: email is not an email address',
      'line 4: fee_status must be one of home, international',
    ]);
    // Nothing saved: the cohort is still the ten.
    expect((await request('GET', `/api/v1/campaigns/${id}`)).json().cohort.size).toBe(10);
    // Duplicates by email (any case) are merged, and counted.
    const merged = await request(
      'PUT',
      `/api/v1/campaigns/${id}/cohort`,
      ['email,fee_status', 'ok@student.uni.example,home', 'OK@student.uni.example,', 'two@student.uni.example,'].join(
        '\n',
      ),
      'text/csv',
    );
    expect(merged.json().cohort).toMatchObject({ size: 2, duplicatesMerged: 1 });
    // Quotes, backslashes, commas and braces in a field arrive as written.
    const odd = 'O"Brien\\{x},y NULL';
    const written = await request(
      'PUT',
      `/api/v1/campaigns/${id}/cohort`,
      `email,first_name,student_ref\nodd@student.uni.example,"${odd.replaceAll('"', '""')}",NULL\n`,
      'text/csv',
    );
    expect(written.statusCode, written.body).toBe(200);
    const exported = await request('POST', '/api/v1/people/export', { email: 'odd@student.uni.example' });
    expect(exported.json().campaigns).toEqual([
      expect.objectContaining({ firstName: 'O"Brien\\{x},y NULL', studentRef: 'NULL' }),
    ]);
  });

  it('is for admins to design and send, and analysts to read; students and librarians get 403', async () => {
    for (const role of ['student', 'librarian'] as const) {
      const headers = await t.auth(role);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/campaigns', headers })).statusCode).toBe(403);
    }
    const analyst = await t.auth('analyst');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/campaigns', headers: analyst })).statusCode).toBe(200);
    const posted = await t.app.inject({
      method: 'POST',
      url: '/api/v1/campaigns',
      headers: analyst,
      payload: design('analyst-seed-1'),
    });
    expect(posted.statusCode).toBe(403);
  });
});
