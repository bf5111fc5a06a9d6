import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications, waitlistOffers } from '../../src/db/schema.js';
import { createServices } from '../../src/services.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Hardening round three, finding 6: joining held any matching free time at once, so three joins
// hid three free times from everyone (others got 409), renewed at each expiry for up to 90 days.
// A time free when someone joins is simply theirs to book like anyone's; only a time given up
// after they joined (a cancellation, a move) is held for them; a student holds one time at once.

// Monday 1 March 2027, 08:00 in London. Each librarian offers Wednesdays 10:00–13:00 (three hours).
const NOW = '2027-03-01T08:00:00Z';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp({ now: NOW, env: { WAITLIST_HOLD_MINUTES: '30' } });
});
afterAll(() => t.close());

const student = (who: string) => ({ sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who });
const as = async (who: string) => t.auth('student', student(who));
const match = () => createServices({ db: t.db, clock: t.clock, config: t.config }).waitlist.match();

async function librarian() {
  return createLibrarianWithWeek(t, {
    email: `lib-${Math.random().toString(36).slice(2)}@library.uni.example`,
    weekly: [{ weekday: 3, start: '10:00', end: '13:00' }],
  });
}
const offersFor = async (librarianId: string) =>
  (await t.db.select().from(waitlistOffers).where(eq(waitlistOffers.librarianId, librarianId))).map((offer) => ({
    start: offer.startsAt.toISOString(),
    status: offer.status,
  }));
const slotStarts = async (librarianId: string) =>
  (await t.app.inject({ method: 'GET', url: `/api/v1/librarians/${librarianId}/slots?from=2027-03-03&to=2027-03-03` }))
    .json()
    .slots.map((slot: { start: string }) => slot.start);
const join = async (who: string, librarianId: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/waitlist',
    headers: await as(who),
    payload: { librarianId, from: '2027-03-01', to: '2027-03-05' },
  });
const book = async (who: string, librarianId: string, start: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/bookings', headers: await as(who), payload: { librarianId, start } });

describe('what a waiting student holds', () => {
  it('holds none of the times free when students join: three joins hide nothing, and anyone may book them', async () => {
    const ada = await librarian();
    for (const who of ['ana', 'ben', 'cai']) expect((await join(who, ada.id)).statusCode).toBe(201);
    await match();
    t.clock.set('2027-03-01T08:40:00Z');
    await match();
    expect(await offersFor(ada.id)).toEqual([]);
    expect(await slotStarts(ada.id)).toEqual([
      '2027-03-03T10:00:00+00:00',
      '2027-03-03T11:00:00+00:00',
      '2027-03-03T12:00:00+00:00',
    ]);
    expect((await book('dee', ada.id, '2027-03-03T11:00:00Z')).statusCode).toBe(201);
  });

  it('holds a time given up after the student joined, one time per student however many entries they have', async () => {
    const bea = await librarian();
    const cyd = await librarian();
    t.clock.set('2027-03-01T08:00:00Z');
    const bookings = [];
    for (const [who, librarianId, start] of [
      ['owner1', bea.id, '2027-03-03T10:00:00Z'],
      ['owner2', bea.id, '2027-03-03T11:00:00Z'],
      ['owner3', cyd.id, '2027-03-03T10:00:00Z'],
    ] as const) {
      const booked = await book(who, librarianId, start);
      expect(booked.statusCode, booked.body).toBe(201);
      bookings.push({ who, id: booked.json().id as string });
    }
    t.clock.set('2027-03-01T08:05:00Z');
    // Eve waits for both librarians (two entries); Fay for Bea only, after her.
    expect((await join('eve', bea.id)).statusCode).toBe(201);
    t.clock.set('2027-03-01T08:05:30Z');
    expect((await join('eve', cyd.id)).statusCode).toBe(201);
    t.clock.set('2027-03-01T08:06:00Z');
    expect((await join('fay', bea.id)).statusCode).toBe(201);
    await match();
    expect([...(await offersFor(bea.id)), ...(await offersFor(cyd.id))]).toEqual([]);

    // Three times given up after they joined: Bea 10:00 and 11:00, Cyd 10:00.
    t.clock.set('2027-03-01T09:00:00Z');
    for (const { who, id } of bookings) {
      const cancelled = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${id}/cancel`,
        headers: await as(who),
        payload: {},
      });
      expect(cancelled.statusCode).toBe(200);
    }
    await match();
    // Eve, oldest, holds Bea's 10:00 and nothing else; Fay holds Bea's 11:00; Cyd's 10:00 is held by
    // no one (Eve holds one time already) and stays free for anyone.
    expect(await offersFor(bea.id)).toEqual([
      { start: '2027-03-03T10:00:00.000Z', status: 'open' },
      { start: '2027-03-03T11:00:00.000Z', status: 'open' },
    ]);
    expect(await offersFor(cyd.id)).toEqual([]);
    expect(await slotStarts(cyd.id)).toContain('2027-03-03T10:00:00+00:00');
    expect(await slotStarts(bea.id)).toEqual(['2027-03-03T12:00:00+00:00']);
  });

  it('holds the time a booking moved away from after the student joined', async () => {
    const dan = await librarian();
    t.clock.set('2027-03-01T08:00:00Z');
    const booked = await book('mover', dan.id, '2027-03-03T10:00:00Z');
    expect(booked.statusCode, booked.body).toBe(201);
    t.clock.set('2027-03-01T08:05:00Z');
    // Gus waits for Wednesday 10:00 to 11:00 only: none of it is free when he joins.
    const joined = await t.app.inject({
      method: 'POST',
      url: '/api/v1/waitlist',
      headers: await as('gus'),
      payload: { librarianId: dan.id, from: '2027-03-03', to: '2027-03-03', latest: '11:00' },
    });
    expect(joined.statusCode, joined.body).toBe(201);
    await match();
    expect(await offersFor(dan.id)).toEqual([]);
    t.clock.set('2027-03-01T09:00:00Z');
    const moved = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.json().id}/reschedule`,
      headers: await as('mover'),
      payload: { start: '2027-03-03T12:00:00Z' },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    await match();
    expect(await offersFor(dan.id)).toEqual([{ start: '2027-03-03T10:00:00.000Z', status: 'open' }]);
  });

  it('gives the same booking to an offer accepted twice, or after a crash before the booking was noted', async () => {
    const eli = await librarian();
    t.clock.set('2027-03-01T08:00:00Z');
    const booked = await book('holder', eli.id, '2027-03-03T10:00:00Z');
    t.clock.set('2027-03-01T08:05:00Z');
    expect((await join('hal', eli.id)).statusCode).toBe(201);
    t.clock.set('2027-03-01T09:00:00Z');
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.json().id}/cancel`,
      headers: await as('holder'),
      payload: {},
    });
    expect(cancelled.statusCode).toBe(200);
    await match();
    const [queued] = await t.db
      .select({ token: notifications.linkToken })
      .from(notifications)
      .where(
        and(eq(notifications.kind, 'waitlist_offer'), eq(notifications.recipientEmail, 'hal@student.uni.example')),
      );
    const accept = () => t.app.inject({ method: 'POST', url: `/api/v1/waitlist/offer/accept?token=${queued?.token}` });
    const first = await accept();
    expect(first.statusCode, first.body).toBe(201);
    expect((await accept()).json().id).toBe(first.json().id);
    // Hardening round three, finding 13: the process stopped after the booking's transaction
    // committed and before the offer noted it; the retry said "ended". Now it finds the booking.
    await t.db.update(waitlistOffers).set({ bookingId: null }).where(eq(waitlistOffers.librarianId, eli.id));
    const retried = await accept();
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.json()).toMatchObject({ id: first.json().id, startUtc: '2027-03-03T10:00:00.000Z' });
    const [offer] = await t.db.select().from(waitlistOffers).where(eq(waitlistOffers.librarianId, eli.id));
    expect(offer).toMatchObject({ status: 'accepted', bookingId: first.json().id });
  });
});
