import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookings, companions, idempotencyKeys, manageTokens } from '../../src/db/schema.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

let t: TestContext;
let librarian: { id: string; email: string };

// Monday 1 March 2027, 08:00 London (GMT).
beforeAll(async () => {
  t = await createTestApp({ now: '2027-03-01T08:00:00Z' });
  librarian = await createLibrarianWithWeek(t, { bufferMinutes: 0, maxCompanions: 1 });
});
afterAll(() => t.close());

const student = (name: string) => t.auth('student', { email: `${name}@student.uni.ac.uk`, name, sub: `idp|${name}` });

async function book(who: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: { ...(await student(who)), ...headers },
    payload: { librarianId: librarian.id, ...payload },
  });
}

async function slotStarts(day: string) {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/librarians/${librarian.id}/slots?from=${day}&to=${day}`,
  });
  return response.json().slots.map((slot: { start: string }) => slot.start);
}

function tokenOf(link: string): string {
  return new URL(link).searchParams.get('token') as string;
}

async function bookingCount(): Promise<number> {
  const [row] = await t.db.select({ total: count() }).from(bookings);
  return row?.total ?? 0;
}

describe('booking a session', () => {
  it('books an offered slot with a companion and snapshots the student’s categories', async () => {
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/me',
      headers: await student('wei'),
      payload: { categories: { fee_status: 'international', study_level: 'postgraduate_taught' } },
    });
    const response = await book('wei', {
      start: '2027-03-02T09:00:00+00:00',
      mode: 'online',
      topic: 'Finding sources for my dissertation',
      companion: { name: 'Amira', email: 'amira@uni.ac.uk', categories: { fee_status: 'international' } },
    });
    expect(response.statusCode).toBe(201);
    const booking = response.json();
    expect(booking).toMatchObject({
      status: 'confirmed',
      source: 'booked',
      librarian: { id: librarian.id, name: 'Ada Lovelace' },
      student: { name: 'wei', email: 'wei@student.uni.ac.uk' },
      start: '2027-03-02T09:00:00+00:00',
      end: '2027-03-02T10:00:00+00:00',
      startUtc: '2027-03-02T09:00:00.000Z',
      timeZone: 'Europe/London',
      mode: 'online',
      meetingUrl: 'https://meet.example.ac.uk/ada',
      location: null,
      topic: 'Finding sources for my dissertation',
      studentCategories: { fee_status: 'international', study_level: 'postgraduate_taught' },
      companions: [{ name: 'Amira', email: 'amira@uni.ac.uk', status: 'invited', attended: null }],
      sequence: 0,
    });
    expect(booking.links.manage).toMatch(/^http:\/\/localhost:3000\/bookings\/[0-9a-f-]+\?token=[\w-]{43}$/);
    expect(booking.links.companions).toHaveLength(1);

    // Later profile edits do not rewrite the booking's snapshot.
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/me',
      headers: await student('wei'),
      payload: { categories: { fee_status: 'home' } },
    });
    const again = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}`,
      headers: await student('wei'),
    });
    expect(again.json().studentCategories).toEqual({ fee_status: 'international', study_level: 'postgraduate_taught' });
    expect(again.json()).not.toHaveProperty('links');
  });

  it('stores manage tokens only as SHA-256 hashes of 256 random bits', async () => {
    const response = await book('tokens', { start: '2027-03-03T09:00:00Z' });
    const token = tokenOf(response.json().links.manage);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const stored = await t.db.select().from(manageTokens).where(eq(manageTokens.bookingId, response.json().id));
    expect(stored).toHaveLength(1);
    expect(stored[0]?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('stops offering a booked slot and offers it again after a cancel', async () => {
    expect(await slotStarts('2027-03-04')).toContain('2027-03-04T10:00:00+00:00');
    const booked = await book('lena', { start: '2027-03-04T10:00:00Z' });
    expect(booked.statusCode).toBe(201);
    expect(await slotStarts('2027-03-04')).not.toContain('2027-03-04T10:00:00+00:00');
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.json().id}/cancel`,
      headers: await student('lena'),
      payload: { reason: 'Found what I needed' },
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({
      status: 'cancelled',
      sequence: 1,
      cancellation: { by: 'student', reason: 'Found what I needed', late: false },
    });
    expect(await slotStarts('2027-03-04')).toContain('2027-03-04T10:00:00+00:00');
  });

  it('answers 409 for a taken slot and 422 for a start outside availability or off the grid', async () => {
    await book('first', { start: '2027-03-05T11:00:00Z' });
    const taken = await book('second', { start: '2027-03-05T11:00:00Z' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().code).toBe('slot_unavailable');

    for (const start of [
      '2027-03-05T13:00:00Z',
      '2027-03-05T09:30:00Z',
      '2027-03-06T09:00:00Z',
      '2027-03-01T08:30:00Z',
    ]) {
      const response = await book('second', { start });
      expect(response.statusCode, start).toBe(422);
      expect(response.json()).toMatchObject({ code: 'outside_availability', errors: [{ pointer: '/start' }] });
    }
  });

  it('keeps the librarian’s buffer between sessions', async () => {
    const buffered = await createLibrarianWithWeek(t, { bufferMinutes: 15, name: 'Buffered' });
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await student('buffer1'),
      payload: { librarianId: buffered.id, start: '2027-03-02T10:00:00Z' },
    });
    expect(first.statusCode).toBe(201);
    const slots = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${buffered.id}/slots?from=2027-03-02&to=2027-03-02`,
    });
    // 09:00 plus its 15-minute buffer runs into the 10:00 session; 11:00 starts inside 10:00's buffer.
    expect(slots.json().slots.map((slot: { start: string }) => slot.start)).toEqual([]);
    const intoBuffer = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await student('buffer2'),
      payload: { librarianId: buffered.id, start: '2027-03-02T11:00:00Z' },
    });
    expect(intoBuffer.statusCode).toBe(409);
  });

  it('keeps the longest session and buffer clear: 8 hours plus 4, booked from a session begun 8 hours before', async () => {
    const { id } = await createLibrarianWithWeek(t, {
      name: 'Long Days',
      slotMinutes: 480,
      bufferMinutes: 240,
      minNoticeMinutes: 0,
      weekly: [{ weekday: 2, start: '00:00', end: '23:59' }],
    });
    const bookAt = async (who: string, start: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: await student(who),
        payload: { librarianId: id, start },
      });
    // Tuesday 2 March 2027 (GMT): 00:00–08:00 holds the librarian until 12:00, so 08:00–16:00 is taken.
    expect((await bookAt('long1', '2027-03-02T00:00:00Z')).statusCode).toBe(201);
    const second = await bookAt('long2', '2027-03-02T08:00:00Z');
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('slot_unavailable');
  });

  it('refuses more companions than the librarian allows', async () => {
    const response = await book('crowd', {
      start: '2027-03-08T09:00:00Z',
      companions: [{ name: 'One' }, { name: 'Two' }],
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().code).toBe('too_many_companions');
  });

  it('limits a student to three upcoming sessions', async () => {
    for (const start of ['2027-03-09T09:00:00Z', '2027-03-09T10:00:00Z', '2027-03-09T11:00:00Z']) {
      expect((await book('keen', { start })).statusCode).toBe(201);
    }
    const fourth = await book('keen', { start: '2027-03-10T09:00:00Z' });
    expect(fourth.statusCode).toBe(422);
    expect(fourth.json().code).toBe('booking_limit_reached');
  });

  it('refuses a student two overlapping sessions with different librarians', async () => {
    const other = await createLibrarianWithWeek(t, { name: 'Grace' });
    expect((await book('busy', { start: '2027-03-11T09:00:00Z' })).statusCode).toBe(201);
    const clash = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await student('busy'),
      payload: { librarianId: other.id, start: '2027-03-11T09:00:00Z' },
    });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('overlapping_booking');
  });

  it('rejects malformed input naming each field and writes nothing', async () => {
    const before = await bookingCount();
    const cases: [Record<string, unknown>, string][] = [
      [{ librarianId: 'not-a-uuid', start: '2027-03-12T09:00:00Z' }, '/librarianId'],
      [{ start: '2027-03-12T09:00:00' }, '/start'],
      [{ start: '2027-03-12T09:00:00Z', topic: 'x'.repeat(2001) }, '/topic'],
      [{ start: '2027-03-12T09:00:00Z', companion: { name: 'n'.repeat(201) } }, '/companion/name'],
      [{ start: '2027-03-12T09:00:00Z', companion: { name: 'Sam', email: 'not-an-email' } }, '/companion/email'],
      [{ start: '2027-03-12T09:00:00Z', mode: 'telepathy' }, '/mode'],
      [{ start: '2027-03-12T09:00:00Z', surprise: true }, '/surprise'],
    ];
    for (const [payload, pointer] of cases) {
      const response = await book('careless', payload);
      expect(response.statusCode, pointer).toBe(400);
      expect(
        response.json().errors.map((e: { pointer: string }) => e.pointer),
        pointer,
      ).toContain(pointer);
    }
    const badCategory = await book('careless', {
      start: '2027-03-12T09:00:00Z',
      companion: { name: 'Sam', categories: { fee_status: 'martian' } },
    });
    expect(badCategory.statusCode).toBe(422);
    expect(badCategory.json().errors).toEqual([
      { pointer: '/companion/categories/fee_status', in: 'body', message: 'must be one of home, international' },
    ]);
    expect(await bookingCount()).toBe(before);
    const [companionRows] = await t.db.select({ total: count() }).from(companions).where(eq(companions.name, 'Sam'));
    expect(companionRows?.total).toBe(0);
  });
});

describe('idempotency', () => {
  it('returns the first booking for a retried key and creates nothing more', async () => {
    const headers = { 'idempotency-key': 'retry-1' };
    const first = await book('retry', { start: '2027-03-15T09:00:00Z', companion: { name: 'Pat' } }, headers);
    expect(first.statusCode).toBe(201);
    const before = await bookingCount();
    const second = await book('retry', { companion: { name: 'Pat' }, start: '2027-03-15T09:00:00Z' }, headers);
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json().id).toBe(first.json().id);
    expect(await bookingCount()).toBe(before);
    // Fresh links that work, since the first ones were never stored.
    const viaLink = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${first.json().id}?token=${tokenOf(second.json().links.manage)}`,
    });
    expect(viaLink.statusCode).toBe(200);
    const stored = await t.db.select().from(idempotencyKeys);
    expect(JSON.stringify(stored)).not.toContain(tokenOf(first.json().links.manage));
  });

  it('refuses the same key with a different body with 422', async () => {
    const headers = { 'idempotency-key': 'reused-1' };
    const first = await book('reuser', { start: '2027-03-15T10:00:00Z' }, headers);
    expect(first.statusCode).toBe(201);
    const response = await book('reuser', { start: '2027-03-29T08:00:00Z' }, headers);
    expect(response.statusCode).toBe(422);
    expect(response.json().code).toBe('idempotency_key_reused');
  });

  it('keeps keys per caller', async () => {
    const headers = { 'idempotency-key': 'shared-key' };
    expect((await book('keeper-a', { start: '2027-03-15T11:00:00Z' }, headers)).statusCode).toBe(201);
    const response = await book('keeper-b', { start: '2027-03-29T09:00:00Z' }, headers);
    expect(response.statusCode).toBe(201);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('who sees and changes a booking', () => {
  type Booked = { id: string; links: { manage: string; companions: { manage: string }[] } };

  /** S: each test books what it needs, on its own slot, for its own student. */
  async function ownBooking(who: string, start: string, companion = true): Promise<Booked> {
    const response = await book(who, {
      start,
      ...(companion ? { companion: { name: 'Friend', email: `friend.of.${who}@uni.ac.uk` } } : {}),
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  }

  it('hides another student’s booking behind a 404', async () => {
    const booking = await ownBooking('hider', '2027-03-23T09:00:00Z');
    const response = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}`,
      headers: await student('stranger'),
    });
    expect(response.statusCode).toBe(404);
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booking.id}/cancel`,
      headers: await student('stranger'),
    });
    expect(cancel.statusCode).toBe(404);
  });

  it('shows it to its librarian and to admins, not to another librarian', async () => {
    const booking = await ownBooking('shown', '2027-03-23T10:00:00Z');
    const own = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}`,
      headers: await t.auth('librarian', { email: librarian.email }),
    });
    expect(own.statusCode).toBe(200);
    const other = await createLibrarianWithWeek(t, { name: 'Other' });
    const notTheirs = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}`,
      headers: await t.auth('librarian', { email: other.email }),
    });
    expect(notTheirs.statusCode).toBe(404);
    expect(
      (await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booking.id}`, headers: await t.auth('admin') }))
        .statusCode,
    ).toBe(200);
  });

  async function declineThroughLink(booking: Booked) {
    return t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booking.id}/companion/decline?token=${tokenOf(booking.links.companions[0]?.manage as string)}`,
    });
  }

  it('lets the companion link view and decline, but not cancel', async () => {
    const booking = await ownBooking('decliner', '2027-03-23T11:00:00Z');
    const token = tokenOf(booking.links.companions[0]?.manage as string);
    const viewed = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booking.id}`,
      headers: { 'x-manage-token': token },
    });
    expect(viewed.statusCode).toBe(200);
    expect(viewed.json().student).not.toHaveProperty('email');
    const cancel = await t.app.inject({ method: 'POST', url: `/api/v1/bookings/${booking.id}/cancel?token=${token}` });
    expect(cancel.statusCode).toBe(403);
    const declined = await declineThroughLink(booking);
    expect(declined.statusCode).toBe(200);
    expect(declined.json().companions[0]).toMatchObject({ status: 'declined' });
    expect((await declineThroughLink(booking)).statusCode).toBe(409);
  });

  it('lets the student link add a companion, and refuses a token for another booking', async () => {
    const booking = await ownBooking('adder', '2027-03-24T09:00:00Z');
    expect((await declineThroughLink(booking)).statusCode).toBe(200);
    const token = tokenOf(booking.links.manage);
    const added = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/bookings/${booking.id}/companion?token=${token}`,
      payload: { name: 'Second friend', email: 'second@uni.ac.uk' },
    });
    expect(added.statusCode).toBe(200);
    expect(added.json().companions.map((c: { status: string }) => c.status)).toEqual(['declined', 'invited']);
    expect(added.json().links.companions).toHaveLength(1);

    const elsewhere = await ownBooking('elsewhere', '2027-03-24T10:00:00Z', false);
    const wrong = await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${elsewhere.id}?token=${token}` });
    expect(wrong.statusCode).toBe(404);
    const decline = await t.app.inject({ method: 'POST', url: `/api/v1/bookings/${booking.id}/companion/decline` });
    expect(decline.statusCode).toBe(401);
  });

  it('updates a companion matched by email and removes one, revoking their link', async () => {
    const booking = await ownBooking('updater', '2027-03-24T11:00:00Z');
    expect((await declineThroughLink(booking)).statusCode).toBe(200);
    const headers = await student('updater');
    const second = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/bookings/${booking.id}/companion`,
      headers,
      payload: { name: 'Second friend', email: 'second@uni.ac.uk' },
    });
    expect(second.statusCode).toBe(200);
    const secondToken = tokenOf(second.json().links.companions[0].manage);
    const updated = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/bookings/${booking.id}/companion`,
      headers,
      payload: { name: 'Second Friend (Jo)', email: 'SECOND@uni.ac.uk', categories: { fee_status: 'home' } },
    });
    expect(updated.statusCode).toBe(200);
    const active = updated.json().companions.filter((c: { status: string }) => c.status === 'invited');
    expect(active).toHaveLength(1);
    expect(active[0].name).toBe('Second Friend (Jo)');
    expect(updated.json()).not.toHaveProperty('links');

    const third = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/bookings/${booking.id}/companion`,
      headers,
      payload: { name: 'Third' },
    });
    expect(third.statusCode).toBe(422);
    expect(third.json().code).toBe('too_many_companions');

    const removed = await t.app.inject({ method: 'DELETE', url: `/api/v1/bookings/${booking.id}/companion`, headers });
    expect(removed.statusCode).toBe(200);
    expect(removed.json().companions.map((c: { status: string }) => c.status)).toEqual(['declined', 'removed']);
    const revoked = await t.app.inject({ method: 'GET', url: `/api/v1/bookings/${booking.id}?token=${secondToken}` });
    expect(revoked.statusCode).toBe(404);
    const none = await t.app.inject({ method: 'DELETE', url: `/api/v1/bookings/${booking.id}/companion`, headers });
    expect(none.statusCode).toBe(404);
  });

  it('lists for each caller only what they may see, paged', async () => {
    const booking = await ownBooking('lister', '2027-03-25T09:00:00Z', false);
    await ownBooking('lister-b', '2027-03-25T10:00:00Z', false);
    await ownBooking('lister-c', '2027-03-25T11:00:00Z', false);
    await ownBooking('lister-d', '2027-03-26T09:00:00Z', false);
    const mine = await t.app.inject({ method: 'GET', url: '/api/v1/bookings', headers: await student('lister') });
    expect(mine.json().bookings.map((b: { id: string }) => b.id)).toEqual([booking.id]);
    const theirs = await t.app.inject({
      method: 'GET',
      url: '/api/v1/bookings?limit=2&offset=1&status=confirmed',
      headers: await t.auth('librarian', { email: librarian.email }),
    });
    const page = theirs.json();
    expect(page.limit).toBe(2);
    expect(page.offset).toBe(1);
    expect(page.bookings).toHaveLength(2);
    expect(page.total).toBeGreaterThan(3);
    expect(
      page.bookings.every(
        (b: { librarian: { id: string }; status: string }) =>
          b.librarian.id === librarian.id && b.status === 'confirmed',
      ),
    ).toBe(true);
    const window = await t.app.inject({
      method: 'GET',
      url: '/api/v1/bookings?from=2027-03-25&to=2027-03-25',
      headers: await t.auth('admin'),
    });
    expect(window.json().bookings.map((b: { start: string }) => b.start.slice(0, 16))).toEqual([
      '2027-03-25T09:00',
      '2027-03-25T10:00',
      '2027-03-25T11:00',
    ]);
    const analyst = await t.app.inject({ method: 'GET', url: '/api/v1/bookings', headers: await t.auth('analyst') });
    expect(analyst.statusCode).toBe(403);
  });
});

describe('rescheduling and cancelling', () => {
  it('moves a booking keeping its id, raising its sequence, and frees the old slot', async () => {
    const booked = (await book('mover', { start: '2027-03-17T09:00:00Z' })).json();
    const moved = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.id}/reschedule?token=${tokenOf(booked.links.manage)}`,
      payload: { start: '2027-03-17T11:00:00Z' },
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ id: booked.id, start: '2027-03-17T11:00:00+00:00', sequence: 1 });
    const starts = await slotStarts('2027-03-17');
    expect(starts).toContain('2027-03-17T09:00:00+00:00');
    expect(starts).not.toContain('2027-03-17T11:00:00+00:00');
  });

  it('refuses to move into a taken slot and leaves the booking where it was', async () => {
    const a = (await book('mover-a', { start: '2027-03-18T09:00:00Z' })).json();
    await book('mover-b', { start: '2027-03-18T10:00:00Z' });
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${a.id}/reschedule`,
      headers: await student('mover-a'),
      payload: { start: '2027-03-18T10:00:00Z' },
    });
    expect(response.statusCode).toBe(409);
    const unchanged = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${a.id}`,
      headers: await student('mover-a'),
    });
    expect(unchanged.json()).toMatchObject({ start: '2027-03-18T09:00:00+00:00', sequence: 0 });
  });

  it('marks a cancellation under 24 hours before the start as late, and refuses a second cancel', async () => {
    const booked = (await book('late', { start: '2027-03-19T09:00:00Z' })).json();
    t.clock.set('2027-03-18T12:00:00Z');
    try {
      const cancelled = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.id}/cancel`,
        headers: await t.auth('librarian', { email: librarian.email }),
      });
      expect(cancelled.json().cancellation).toMatchObject({ by: 'librarian', late: true });
      const again = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.id}/cancel`,
        headers: await student('late'),
      });
      expect(again.statusCode).toBe(409);
    } finally {
      t.clock.set('2027-03-01T08:00:00Z');
    }
  });
});

describe('attendance and the audit trail', () => {
  it('records attendance only once the session has started, allows corrections, and audits every change', async () => {
    const booked = (await book('attender', { start: '2027-03-22T09:00:00Z', companion: { name: 'Buddy' } })).json();
    const librarianHeaders = await t.auth('librarian', { email: librarian.email });
    const early = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${booked.id}/attendance`,
      headers: librarianHeaders,
      payload: { student: 'attended', companion: true },
    });
    expect(early.statusCode).toBe(422);
    expect(early.json().code).toBe('session_not_started');

    t.clock.set('2027-03-22T09:30:00Z');
    try {
      // Signed in again on the day: tokens live hours, not weeks.
      const onTheDay = await t.auth('librarian', { email: librarian.email });
      const recorded = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.id}/attendance`,
        headers: onTheDay,
        payload: { student: 'no_show', companion: false },
      });
      expect(recorded.statusCode).toBe(200);
      const corrected = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.id}/attendance`,
        headers: onTheDay,
        payload: { student: 'attended', companion: true },
      });
      expect(corrected.json()).toMatchObject({ attendance: 'attended', companions: [{ attended: true }] });
      const byStudent = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.id}/attendance`,
        headers: await student('attender'),
        payload: { student: 'attended' },
      });
      expect(byStudent.statusCode).toBe(403);
      const tooLate = await t.app.inject({
        method: 'POST',
        url: `/api/v1/bookings/${booked.id}/cancel`,
        headers: await student('attender'),
      });
      expect(tooLate.statusCode).toBe(422);
    } finally {
      t.clock.set('2027-03-01T08:00:00Z');
    }

    const events = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.id}/events`,
      headers: await t.auth('admin'),
    });
    const trail = events.json().events;
    expect(trail.map((e: { action: string }) => e.action)).toEqual([
      'created',
      'attendance_recorded',
      'attendance_corrected',
    ]);
    expect(trail[2].before.attendance).toBe('no_show');
    expect(trail[2].after.attendance).toBe('attended');
    expect(trail[1].actor).toBe(`librarian:${librarian.email}`);
    const forStudent = await t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.id}/events`,
      headers: await student('attender'),
    });
    expect(forStudent.statusCode).toBe(403);
  });

  it('records a walk-in that never occupies availability', async () => {
    const before = await slotStarts('2027-03-02');
    t.clock.set('2027-03-02T12:00:00Z');
    let recorded: Awaited<ReturnType<typeof t.app.inject>>;
    try {
      recorded = await t.app.inject({
        method: 'POST',
        url: '/api/v1/sessions/record',
        headers: await t.auth('librarian', { email: librarian.email }),
        payload: {
          start: '2027-03-02T10:00:00Z',
          minutes: 30,
          studentCategories: { fee_status: 'international' },
          companion: true,
          attendance: 'attended',
        },
      });
    } finally {
      t.clock.set('2027-03-01T08:00:00Z');
    }
    expect(recorded.statusCode).toBe(201);
    expect(recorded.json()).toMatchObject({
      source: 'recorded',
      student: null,
      attendance: 'attended',
      companions: [{ attended: true }],
    });
    expect(await slotStarts('2027-03-02')).toEqual(before);

    const future = await t.app.inject({
      method: 'POST',
      url: '/api/v1/sessions/record',
      headers: await t.auth('admin'),
      payload: {
        librarianId: librarian.id,
        start: '2027-04-01T10:00:00Z',
        minutes: 30,
        studentCategories: {},
        companion: false,
        attendance: 'attended',
      },
    });
    expect(future.statusCode).toBe(422);
    expect(future.json().code).toBe('session_in_future');
  });
});

describe('abuse limits', () => {
  it('answers 429 with Retry-After once a student exceeds the booking write limit', async () => {
    const limited = await createTestApp({
      now: '2027-03-01T08:00:00Z',
      env: { RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '2' },
    });
    try {
      const headers = await limited.auth('student', { sub: 'idp|spammer' });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const response = await limited.app.inject({
          method: 'POST',
          url: '/api/v1/bookings',
          headers,
          payload: { librarianId: '00000000-0000-4000-8000-000000000000', start: '2027-03-02T09:00:00Z' },
        });
        statuses.push(response.statusCode);
        if (response.statusCode === 429) {
          expect(response.headers['retry-after']).toMatch(/^\d+$/);
          expect(response.headers['content-type']).toContain('application/problem+json');
          expect(response.json().code).toBe('rate_limited');
        }
      }
      expect(statuses).toEqual([404, 404, 429]);
      const otherStudent = await limited.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: await limited.auth('student', { sub: 'idp|patient' }),
        payload: { librarianId: '00000000-0000-4000-8000-000000000000', start: '2027-03-02T09:00:00Z' },
      });
      expect(otherStudent.statusCode).toBe(404);
    } finally {
      await limited.close();
    }
  });
});
