import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';

let t: TestContext;
let librarianId: string;
let otherLibrarianId: string;

const weekly = {
  timeZone: 'Europe/London',
  slotMinutes: 60,
  bufferMinutes: 10,
  minNoticeMinutes: 120,
  horizonDays: 60,
  maxCompanions: 1,
  weekly: [
    { weekday: 1, start: '09:00', end: '12:00' },
    { weekday: 3, start: '14:00', end: '17:00', mode: 'online' },
  ],
};

beforeAll(async () => {
  // Wednesday 10 March 2027, 12:00 UTC: London is on GMT until 28 March.
  t = await createTestApp({ now: '2027-03-10T12:00:00Z' });
  const admin = await t.auth('admin');
  const create = (email: string, name: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/librarians',
      headers: admin,
      payload: { email, name, modes: ['in_person', 'online'] },
    });
  librarianId = (await create('ada@uni.ac.uk', 'Ada')).json().id;
  otherLibrarianId = (await create('grace@uni.ac.uk', 'Grace')).json().id;
  // S: every test starts from Ada's published week, whichever runs first.
  const published = await t.app.inject({
    method: 'PUT',
    url: `/api/v1/librarians/${librarianId}/availability`,
    headers: admin,
    payload: weekly,
  });
  if (published.statusCode !== 200) throw new Error(`publishing the week failed: ${published.body}`);
});
afterAll(() => t.close());

const asAda = () => t.auth('librarian', { email: 'ada@uni.ac.uk' });

async function slots(query: string, id = librarianId) {
  return t.app.inject({ method: 'GET', url: `/api/v1/librarians/${id}/slots?${query}` });
}

describe('weekly availability', () => {
  it('lets a librarian publish their week and read it back', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await asAda(),
      payload: weekly,
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ librarianId, ...weekly });
    const get = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await asAda(),
    });
    expect(get.json()).toEqual({ librarianId, ...weekly });
  });

  it('forbids a librarian from editing another librarian', async () => {
    const response = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${otherLibrarianId}/availability`,
      headers: await asAda(),
      payload: weekly,
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('forbidden');
    const students = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await t.auth('student'),
      payload: weekly,
    });
    expect(students.statusCode).toBe(403);
  });

  it('rejects a window that ends before it starts, naming the field, and keeps the old rules', async () => {
    const response = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await t.auth('admin'),
      payload: { ...weekly, weekly: [{ weekday: 2, start: '10:00', end: '09:00' }] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([{ pointer: '/weekly/0/end', in: 'body', message: 'must be after start' }]);
    const get = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await asAda(),
    });
    expect(get.json().weekly).toEqual(weekly.weekly);
  });

  it('rejects malformed times, weekdays and unknown zones', async () => {
    const response = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await asAda(),
      payload: { slotMinutes: -5, weekly: [{ weekday: 8, start: '9am', end: '25:00' }] },
    });
    expect(response.statusCode).toBe(400);
    // Validation stops at its first fault (hardening round three, finding 1): one bad field is named.
    const pointers = response.json().errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).toHaveLength(1);
    expect(['/slotMinutes', '/weekly/0/end', '/weekly/0/start', '/weekly/0/weekday']).toContain(pointers[0]);

    const zone = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${librarianId}/availability`,
      headers: await asAda(),
      payload: { timeZone: 'Europe/Atlantis', weekly: [] },
    });
    expect(zone.statusCode).toBe(400);
    expect(zone.json().errors[0].pointer).toBe('/timeZone');
  });
});

describe('slots', () => {
  it('offers the week’s slots in the librarian zone, after the notice period', async () => {
    const response = await slots('from=2027-03-10&to=2027-03-15');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.timeZone).toBe('Europe/London');
    expect(body.slots.map((slot: { start: string }) => slot.start)).toEqual([
      '2027-03-10T14:00:00+00:00',
      '2027-03-10T15:00:00+00:00',
      '2027-03-10T16:00:00+00:00',
      '2027-03-15T09:00:00+00:00',
      '2027-03-15T10:00:00+00:00',
      '2027-03-15T11:00:00+00:00',
    ]);
    expect(body.slots[0]).toMatchObject({ end: '2027-03-10T15:00:00+00:00', modes: ['online'] });
    expect(body.slots[3].modes).toEqual(['in_person', 'online']);
  });

  it('keeps 09:00 London across the spring change and shows it in the viewer’s zone', async () => {
    const response = await slots('from=2027-03-22&to=2027-03-29&tz=America/New_York');
    const mondayNine = response
      .json()
      .slots.filter((_: unknown, index: number) => index % 3 === 0)
      .filter((slot: { start: string }) => slot.start.includes('T0'));
    expect(mondayNine.map((slot: { start: string }) => slot.start)).toEqual([
      '2027-03-22T05:00:00-04:00',
      '2027-03-29T04:00:00-04:00',
    ]);
  });

  it('rejects an unknown zone, a reversed range and a range over 62 days with 400', async () => {
    const zone = await slots('from=2027-03-10&to=2027-03-15&tz=Nowhere/Special');
    expect(zone.statusCode).toBe(400);
    expect(zone.json().errors).toEqual([{ pointer: '/tz', in: 'query', message: expect.any(String) }]);
    const reversed = await slots('from=2027-03-15&to=2027-03-10');
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().errors[0].pointer).toBe('/to');
    const long = await slots('from=2027-03-10&to=2027-05-11');
    expect(long.statusCode).toBe(400);
    expect(long.json().detail).toContain('62 days');
    expect((await slots('from=2027-03-10&to=2027-05-10')).statusCode).toBe(200);
    const malformed = await slots('from=10/03/2027&to=2027-03-15');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().errors[0]).toMatchObject({ pointer: '/from', in: 'query' });
  });

  it('stops at the horizon', async () => {
    const response = await slots('from=2027-05-03&to=2027-05-17');
    const days = new Set(response.json().slots.map((slot: { start: string }) => slot.start.slice(0, 10)));
    // now + 60 days = 9 May 2027 12:00 UTC.
    expect([...days]).toEqual(['2027-05-03', '2027-05-05']);
  });
});

describe('overrides and closures', () => {
  it('closes a whole day for a librarian and reopens it when the closure is deleted', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${librarianId}/overrides`,
      headers: await asAda(),
      payload: { kind: 'closed', from: '2027-03-15', to: '2027-03-15', reason: 'Training day' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      kind: 'closed',
      allDay: true,
      from: '2027-03-15',
      to: '2027-03-15',
      librarianId,
    });
    expect((await slots('from=2027-03-15&to=2027-03-15')).json().slots).toEqual([]);

    const removed = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/librarians/${librarianId}/overrides/${created.json().id}`,
      headers: await asAda(),
    });
    expect(removed.statusCode).toBe(204);
    expect((await slots('from=2027-03-15&to=2027-03-15')).json().slots).toHaveLength(3);
  });

  it('adds extra hours given as instants', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${librarianId}/overrides`,
      headers: await asAda(),
      payload: { kind: 'open', from: '2027-03-16T13:00:00Z', to: '2027-03-16T15:00:00Z', reason: 'Dissertation week' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      allDay: false,
      from: '2027-03-16T13:00:00+00:00',
      to: '2027-03-16T15:00:00+00:00',
    });
    const tuesday = (await slots('from=2027-03-16&to=2027-03-16')).json().slots;
    expect(tuesday.map((slot: { start: string }) => slot.start)).toEqual([
      '2027-03-16T13:00:00+00:00',
      '2027-03-16T14:00:00+00:00',
    ]);
  });

  it('rejects mixed or reversed ranges and instants without an offset', async () => {
    const post = async (payload: Record<string, unknown>) =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/librarians/${librarianId}/overrides`,
        headers: await asAda(),
        payload,
      });
    const mixed = await post({ kind: 'closed', from: '2027-03-16', to: '2027-03-16T15:00:00Z' });
    expect(mixed.statusCode).toBe(400);
    expect(mixed.json().errors[0].pointer).toBe('/to');
    const reversed = await post({ kind: 'closed', from: '2027-03-17', to: '2027-03-16' });
    expect(reversed.statusCode).toBe(400);
    const noOffset = await post({ kind: 'closed', from: '2027-03-16T10:00:00', to: '2027-03-16T11:00:00' });
    expect(noOffset.statusCode).toBe(400);
    // Validation stops at its first fault (hardening round three, finding 1): `from` is named.
    expect(noOffset.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/from']);
    const kind = await post({ kind: 'maybe', from: '2027-03-16', to: '2027-03-16' });
    expect(kind.statusCode).toBe(400);
  });

  it('applies a library-wide closure by an admin to every librarian, in their own zone', async () => {
    await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${otherLibrarianId}/availability`,
      headers: await t.auth('admin'),
      payload: { timeZone: 'America/New_York', weekly: [{ weekday: 1, start: '09:00', end: '11:00' }] },
    });
    const before = (await slots('from=2027-03-29&to=2027-03-29', otherLibrarianId)).json().slots;
    expect(before.map((slot: { start: string }) => slot.start)).toEqual([
      '2027-03-29T09:00:00-04:00',
      '2027-03-29T10:00:00-04:00',
    ]);

    const forbidden = await t.app.inject({
      method: 'POST',
      url: '/api/v1/closures',
      headers: await asAda(),
      payload: { from: '2027-03-29', to: '2027-03-29', reason: 'Easter Monday' },
    });
    expect(forbidden.statusCode).toBe(403);
    const closure = await t.app.inject({
      method: 'POST',
      url: '/api/v1/closures',
      headers: await t.auth('admin'),
      payload: { from: '2027-03-29', to: '2027-03-29', reason: 'Easter Monday' },
    });
    expect(closure.statusCode).toBe(201);
    expect(closure.json()).toMatchObject({ librarianId: null, kind: 'closed' });

    expect((await slots('from=2027-03-29&to=2027-03-29', otherLibrarianId)).json().slots).toEqual([]);
    expect((await slots('from=2027-03-29&to=2027-03-29')).json().slots).toEqual([]);

    const publicList = await t.app.inject({ method: 'GET', url: '/api/v1/closures?from=2027-03-01&to=2027-04-30' });
    expect(publicList.json().overrides.map((o: { reason: string }) => o.reason)).toEqual(['Easter Monday']);
    const adasList = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarianId}/overrides`,
      headers: await asAda(),
    });
    // Ada's list shows the library-wide closure beside her own overrides (other tests may add some).
    expect(adasList.json().overrides.map((o: { reason: string }) => o.reason)).toContain('Easter Monday');

    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/closures/${closure.json().id}`,
      headers: await t.auth('admin'),
    });
    expect(deleted.statusCode).toBe(204);
    expect((await slots('from=2027-03-29&to=2027-03-29', otherLibrarianId)).json().slots).toHaveLength(2);
  });

  it('does not let a librarian delete another librarian’s override', async () => {
    const graces = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${otherLibrarianId}/overrides`,
      headers: await t.auth('librarian', { email: 'grace@uni.ac.uk' }),
      payload: { kind: 'closed', from: '2027-04-05', to: '2027-04-09' },
    });
    expect(graces.statusCode).toBe(201);
    const viaOwnRoute = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/librarians/${librarianId}/overrides/${graces.json().id}`,
      headers: await asAda(),
    });
    expect(viaOwnRoute.statusCode).toBe(404);
  });
});
