import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manageTokens } from '../../src/db/schema.js';
import { insertManageToken } from '../../src/modules/links/tokens.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Hardening item F: one booking, one write budget, however many links it has; a bounded number of
// live links however often a booking is replayed; and a cap on the emails a booking can cause.

let t: TestContext;
let librarianId: string;

beforeAll(async () => {
  t = await createTestApp({
    now: '2027-03-01T08:00:00Z',
    env: { RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '4', EMAILS_PER_BOOKING_PER_HOUR: '7' },
  });
  librarianId = (await createLibrarianWithWeek(t, { maxCompanions: 2 })).id;
});
afterAll(() => t.close());

function claims(who: string) {
  return { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who };
}

async function book(who: string, start: string, key?: string) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: { ...(await t.auth('student', claims(who))), ...(key ? { 'idempotency-key': key } : {}) },
    payload: {
      librarianId,
      start,
      companion: { name: 'Friend', email: `friend.of.${who}@student.uni.example` },
    },
  });
}

function tokenOf(url: string): string {
  return new URL(url).searchParams.get('token') as string;
}

function putCompanion(bookingId: string, token: string, email: string) {
  return t.app.inject({
    method: 'PUT',
    url: `/api/v1/bookings/${bookingId}/companion?token=${token}`,
    payload: { name: 'Friend', email },
  });
}

describe('manage links share one budget per booking', () => {
  it('counts writes through every link of a booking against one budget', async () => {
    const created = await book('fay', '2027-03-08T09:00:00Z');
    expect(created.statusCode).toBe(201);
    const booking = created.json();
    const fromResponse = tokenOf(booking.links.manage);
    // A second live link, as an email would carry.
    const [row] = await t.db
      .select({ endsAt: manageTokens.expiresAt })
      .from(manageTokens)
      .where(eq(manageTokens.bookingId, booking.id));
    const fromEmail = await insertManageToken(t.db, {
      bookingId: booking.id,
      endsAt: row?.endsAt as Date,
      now: t.clock.now(),
    });
    const statuses: number[] = [];
    for (const token of [fromResponse, fromEmail, fromResponse, fromEmail, fromEmail, fromResponse]) {
      statuses.push((await putCompanion(booking.id, token, `friend.of.fay@student.uni.example`)).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('keys an unknown token by IP, so guessing cannot use up a booking’s budget', async () => {
    const booking = (await book('guess', '2027-03-08T10:00:00Z')).json();
    for (let attempt = 0; attempt < 4; attempt++) {
      const guessed = await putCompanion(booking.id, `guess-${'x'.repeat(30)}-${attempt}`, 'a@b.example');
      expect(guessed.statusCode).toBe(404);
    }
    const owner = await putCompanion(booking.id, tokenOf(booking.links.manage), 'friend.of.guess@student.uni.example');
    expect(owner.statusCode).toBe(200);
  });
});

describe('replays do not pile up live links', () => {
  it('revokes the links the previous response returned when a request is replayed', async () => {
    const first = await book('rae', '2027-03-09T09:00:00Z', 'rae-key');
    expect(first.statusCode).toBe(201);
    const bookingId = first.json().id;
    let previous = tokenOf(first.json().links.manage);
    for (let replay = 0; replay < 3; replay++) {
      const again = await book('rae', '2027-03-09T09:00:00Z', 'rae-key');
      expect(again.headers['idempotent-replayed']).toBe('true');
      const current = tokenOf(again.json().links.manage);
      expect(
        (await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${bookingId}?token=${previous}` })).statusCode,
      ).toBe(404);
      expect(
        (await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${bookingId}?token=${current}` })).statusCode,
      ).toBe(200);
      previous = current;
    }
    const live = await t.db
      .select()
      .from(manageTokens)
      .where(
        and(
          eq(manageTokens.bookingId, bookingId),
          eq(manageTokens.issuedVia, 'response'),
          isNull(manageTokens.revokedAt),
        ),
      );
    // The student's link and the companion's, from the last response only.
    expect(live).toHaveLength(2);
  });
});

describe('a cap on the emails one booking can cause', () => {
  it('refuses a change past EMAILS_PER_BOOKING_PER_HOUR with 429, writing nothing, and still lets the student cancel', async () => {
    // Creating it queues 3 (student, friend, librarian); each new friend's address 2 more.
    const booking = (await book('cap', '2027-03-10T09:00:00Z')).json();
    const headers = await t.auth('student', claims('cap'));
    const change = (email: string) =>
      t.app.inject({
        method: 'PUT',
        url: `/api/v1/bookings/${booking.id}/companion`,
        headers,
        payload: { name: 'Friend', email },
      });
    expect((await change('second@student.uni.example')).statusCode).toBe(200);
    // 3 + 2 = 5 so far; this one would make 7: allowed. The next would make 9.
    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/bookings/${booking.id}/companion?companionId=${booking.companions[0].id}`,
      headers,
    });
    expect(removed.statusCode).toBe(200);
    const refused = await change('third@student.uni.example');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'too_many_emails' });
    const view = await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booking.id}`, headers });
    expect(view.json().companions.map((c: { email: string }) => c.email)).not.toContain('third@student.uni.example');
    // Through the manage link: its budget is the booking's, not the student's (four writes so far).
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booking.id}/cancel?token=${tokenOf(booking.links.manage)}`,
      payload: {},
    });
    expect(cancelled.statusCode).toBe(200);
  });
});
