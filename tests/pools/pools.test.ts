import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookings } from '../../src/db/schema.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { onPostgres } from '../helpers/db.js';

// Monday 1 March 2027, noon. Monday 8 March: New York still on EST (05:00 there is 10:00 in
// London); Monday 15 March: on EDT (05:00 there is 09:00 in London, still on GMT).
const NOW = '2027-03-01T12:00:00Z';

interface LibrarianSpec {
  email: string;
  name: string;
  subjects: string[];
  timeZone: string;
  modes: ('in_person' | 'online')[];
  location?: string;
  maxCompanions?: number;
  monday: [string, string];
}

async function addLibrarian(t: TestContext, spec: LibrarianSpec): Promise<string> {
  const admin = await t.auth('admin');
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/librarians',
    headers: admin,
    payload: {
      email: spec.email,
      name: spec.name,
      subjects: spec.subjects,
      timeZone: spec.timeZone,
      modes: spec.modes,
      ...(spec.location ? { location: spec.location } : {}),
      ...(spec.modes.includes('online') ? { meetingUrl: 'https://meet.uni.example/library' } : {}),
    },
  });
  if (created.statusCode !== 201) throw new Error(created.body);
  const id = created.json().id as string;
  const week = await t.app.inject({
    method: 'PUT',
    url: `/api/v1/librarians/${id}/availability`,
    headers: admin,
    payload: {
      timeZone: spec.timeZone,
      slotMinutes: 60,
      minNoticeMinutes: 60,
      horizonDays: 60,
      maxCompanions: spec.maxCompanions ?? 1,
      weekly: [{ weekday: 1, start: spec.monday[0], end: spec.monday[1] }],
    },
  });
  if (week.statusCode !== 200) throw new Error(week.body);
  return id;
}

describe('any available librarian for a subject', () => {
  let t: TestContext;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp({ now: NOW });
    ids.ada = await addLibrarian(t, {
      email: 'ada@library.uni.example',
      name: 'Ada Lovelace',
      subjects: ['Law', 'Economics'],
      timeZone: 'Europe/London',
      modes: ['in_person'],
      location: 'Main Library',
      monday: ['09:00', '11:00'],
    });
    ids.ben = await addLibrarian(t, {
      email: 'ben@library.uni.example',
      name: 'Ben Okafor',
      subjects: ['law'],
      timeZone: 'America/New_York',
      modes: ['online'],
      monday: ['05:00', '07:00'],
    });
    ids.cai = await addLibrarian(t, {
      email: 'cai@library.uni.example',
      name: 'Cai Jones',
      subjects: ['Law'],
      timeZone: 'Europe/London',
      modes: ['in_person'],
      location: 'Law Library',
      maxCompanions: 0,
      monday: ['10:00', '11:00'],
    });
    await addLibrarian(t, {
      email: 'dee@library.uni.example',
      name: 'Dee History',
      subjects: ['History'],
      timeZone: 'Europe/London',
      modes: ['in_person'],
      monday: ['10:00', '11:00'],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const book = async (who: string, body: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/pools/bookings',
      headers: await t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who }),
      payload: body,
    });

  it('lists subjects whatever their case, and merges the times of three librarians in two zones', async () => {
    const pools = await t.app.inject({ method: 'GET', url: '/api/v1/pools' });
    expect(pools.json().subjects).toEqual([
      { name: 'Economics', librarians: 1 },
      { name: 'History', librarians: 1 },
      { name: 'Law', librarians: 3 },
    ]);
    // Monday 15 March: the other test books Monday 8 March, and New York is on daylight time now.
    const slots = await t.app.inject({
      method: 'GET',
      url: '/api/v1/pools/slots?subject=LAW&from=2027-03-15&to=2027-03-15&tz=Europe/London',
    });
    expect(slots.statusCode, slots.body).toBe(200);
    // Worked by hand: Ada 09–11 London in person (Main Library); Ben 05–07 New York online, which
    // is 09–11 London from 14 March (EDT, while London keeps GMT until 28 March); Cai 10–11 London
    // in person (Law Library).
    expect(slots.json()).toEqual({
      pool: 'subject:law',
      name: 'Law',
      timeZone: 'Europe/London',
      slots: [
        {
          start: '2027-03-15T09:00:00+00:00',
          end: '2027-03-15T10:00:00+00:00',
          modes: ['in_person', 'online'],
          locations: ['Main Library'],
        },
        {
          start: '2027-03-15T10:00:00+00:00',
          end: '2027-03-15T11:00:00+00:00',
          modes: ['in_person', 'online'],
          locations: ['Law Library', 'Main Library'],
        },
      ],
    });
    const both = await t.app.inject({ method: 'GET', url: '/api/v1/pools/slots?from=2027-03-08&to=2027-03-08' });
    expect(both.statusCode).toBe(400);
    expect(both.json().errors[0].pointer).toBe('/subject');
  });

  it('merges a team’s times, gives none for a team nobody active is in, and 404 for an unknown subject or team', async () => {
    const admin = await t.auth('admin');
    const team = await t.app.inject({
      method: 'POST',
      url: '/api/v1/teams',
      headers: admin,
      payload: { name: 'Online and Law Library', librarianIds: [ids.ben, ids.cai] },
    });
    expect(team.statusCode, team.body).toBe(201);
    const slots = await t.app.inject({
      method: 'GET',
      url: `/api/v1/pools/slots?team=${team.json().id}&from=2027-03-15&to=2027-03-15&tz=Europe/London`,
    });
    expect(slots.statusCode, slots.body).toBe(200);
    // Worked by hand: Ben 05–07 New York online is 09–11 London on 15 March; Cai 10–11 London in
    // person (Law Library). Ada is not in the team: no Main Library.
    expect(slots.json()).toEqual({
      pool: `team:${team.json().id}`,
      name: 'Online and Law Library',
      timeZone: 'Europe/London',
      slots: [
        { start: '2027-03-15T09:00:00+00:00', end: '2027-03-15T10:00:00+00:00', modes: ['online'], locations: [] },
        {
          start: '2027-03-15T10:00:00+00:00',
          end: '2027-03-15T11:00:00+00:00',
          modes: ['in_person', 'online'],
          locations: ['Law Library'],
        },
      ],
    });

    // The same list gzipped for a browser that accepts it (made once while nothing changes).
    const zipped = await t.app.inject({
      method: 'GET',
      url: `/api/v1/pools/slots?team=${team.json().id}&from=2027-03-15&to=2027-03-15&tz=Europe/London`,
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toContain('accept-encoding');
    expect(JSON.parse(gunzipSync(zipped.rawPayload).toString())).toEqual(slots.json());

    // A team whose only librarian has left: the team is there, with no times.
    const leaving = await addLibrarian(t, {
      email: 'eve@library.uni.example',
      name: 'Eve Maps',
      subjects: ['Maps'],
      timeZone: 'Europe/London',
      modes: ['in_person'],
      monday: ['09:00', '17:00'],
    });
    const mapsTeam = await t.app.inject({
      method: 'POST',
      url: '/api/v1/teams',
      headers: admin,
      payload: { name: 'Map room', librarianIds: [leaving] },
    });
    const mapsSlots = `/api/v1/pools/slots?team=${mapsTeam.json().id}&from=2027-03-15&to=2027-03-15&tz=Europe/London`;
    expect((await t.app.inject({ method: 'GET', url: mapsSlots })).json().slots).toHaveLength(8);
    const left = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/librarians/${leaving}`,
      headers: admin,
      payload: { active: false },
    });
    expect(left.statusCode, left.body).toBe(200);
    const empty = await t.app.inject({ method: 'GET', url: mapsSlots });
    expect(empty.statusCode, empty.body).toBe(200);
    expect(empty.json()).toEqual({
      pool: `team:${mapsTeam.json().id}`,
      name: 'Map room',
      timeZone: 'Europe/London',
      slots: [],
    });
    // Nor is the subject only she listed one any more.
    const maps = await t.app.inject({
      method: 'GET',
      url: '/api/v1/pools/slots?subject=Maps&from=2027-03-15&to=2027-03-15',
    });
    expect(maps.statusCode).toBe(404);

    const unknownTeam = await t.app.inject({
      method: 'GET',
      url: '/api/v1/pools/slots?team=6f1c2b9e-0d4a-4c59-9a57-3e0f2d1b7c11&from=2027-03-15&to=2027-03-15',
    });
    expect(unknownTeam.statusCode).toBe(404);
    expect(unknownTeam.headers['content-type']).toContain('application/problem+json');
    const unknownSubject = await t.app.inject({
      method: 'GET',
      url: '/api/v1/pools/slots?subject=Astrology&from=2027-03-15&to=2027-03-15',
    });
    expect(unknownSubject.statusCode).toBe(404);
  });

  it('assigns the least busy librarian, never a friend to one who takes none, and then says it is taken', async () => {
    // Worked by hand. Ada already has a session that week (1); Ben and Cai have none (0 each).
    const existing = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { sub: 'idp|early', email: 'early@student.uni.example' }),
      payload: { librarianId: ids.ada, start: '2027-03-08T09:00:00Z' },
    });
    expect(existing.statusCode, existing.body).toBe(201);
    // A friend comes: of Ben and Cai (0 sessions each), Cai takes no friends, so Ben.
    const withFriend = await book('amira', {
      subject: 'Law',
      start: '2027-03-08T10:00:00Z',
      companion: { name: 'Wei' },
    });
    expect(withFriend.statusCode, withFriend.body).toBe(201);
    expect(withFriend.json().librarian.name).toBe('Ben Okafor');
    // Now Cai has the fewest sessions (0, against 1 each).
    const second = await book('sam', { subject: 'law', start: '2027-03-08T10:00:00Z' });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json().librarian.name).toBe('Cai Jones');
    // All have 1; Ada has never been given a pooled booking, and is the only one free then anyway.
    const third = await book('lee', { subject: 'Law', start: '2027-03-08T10:00:00Z' });
    expect(third.json().librarian.name).toBe('Ada Lovelace');
    const fourth = await book('kim', { subject: 'Law', start: '2027-03-08T10:00:00Z' });
    expect(fourth.statusCode, fourth.body).toBe(409);
    expect(fourth.json().code).toBe('slot_unavailable');
    const rows = await t.db.select({ pool: bookings.pool, librarianId: bookings.librarianId }).from(bookings);
    expect(rows.filter((row) => row.pool === 'subject:law')).toHaveLength(3);
  });
});

describe.skipIf(!onPostgres)('pooled bookings under real races (PostgreSQL)', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestApp({ now: NOW, env: { RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '1000' } });
    for (const name of ['Xu', 'Yara', 'Zoe']) {
      await addLibrarian(t, {
        email: `${name.toLowerCase()}@library.uni.example`,
        name,
        subjects: ['Chemistry'],
        timeZone: 'Europe/London',
        modes: ['in_person'],
        location: 'Science Library',
        monday: ['10:00', '11:00'],
      });
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('gives 20 students racing for one pooled time exactly 3 bookings with 3 different librarians, and 17 a 409', async () => {
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        t.auth('student', { sub: `idp|racer${n}`, email: `racer${n}@student.uni.example` }),
      ),
    );
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address() as { port: number };
    const results = await Promise.all(
      tokens.map(async (headers) => {
        const response = await fetch(`http://127.0.0.1:${address.port}/api/v1/pools/bookings`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ subject: 'Chemistry', start: '2027-03-08T10:00:00Z' }),
        });
        return {
          status: response.status,
          body: (await response.json()) as { code?: string; librarian?: { name: string } },
        };
      }),
    );
    const statuses = results.map((result) => result.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(3);
    expect(statuses.filter((status) => status === 409)).toHaveLength(17);
    expect(
      results.filter((result) => result.status === 409).every((result) => result.body.code === 'slot_unavailable'),
    ).toBe(true);
    expect(
      results
        .filter((result) => result.status === 201)
        .map((result) => result.body.librarian?.name)
        .sort(),
    ).toEqual(['Xu', 'Yara', 'Zoe']);
  });
});
