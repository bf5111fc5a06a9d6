import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Issue 28, the record of staff actions: each kind of change a librarian or an admin makes
// produces one entry naming who made it, with the values that changed before and after, and
// never a secret. Each test acts as its own member of staff and reads only that person's entries.

let t: TestContext;
const NOW = '2027-03-01T08:00:00Z';

interface Entry {
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  before: unknown;
  after: unknown;
}

beforeAll(async () => {
  t = await createTestApp({ now: NOW, env: { WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
});
beforeEach(() => {
  t.clock.set(NOW);
});
afterAll(async () => {
  await t.close();
});

/** Every entry whose actor is `email`, oldest first. */
async function entriesBy(email: string): Promise<Entry[]> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/staff-record?from=2027-01-01&to=2027-12-31&actor=${encodeURIComponent(email)}`,
    headers: await t.auth('admin', { email: 'reader@uni.example' }),
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().entries;
}

const send = async (
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  payload?: object,
) => {
  const response = await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.body ? response.json() : null;
};

describe('the staff record', () => {
  it('records a librarian created, renamed and deactivated, by the admin who did it', async () => {
    const admin = await t.auth('admin', { email: 'ops-librarians@uni.example' });
    const created = await send('POST', '/api/v1/librarians', admin, {
      email: 'katherine@library.uni.example',
      name: 'Katherine J',
      subjects: ['Mathematics'],
    });
    await send('PATCH', `/api/v1/librarians/${created.id}`, admin, { name: 'Katherine Johnson' });
    await send('PATCH', `/api/v1/librarians/${created.id}`, admin, { active: false });
    // A change that changes nothing is not an entry.
    await send('PATCH', `/api/v1/librarians/${created.id}`, admin, { name: 'Katherine Johnson' });

    const entries = await entriesBy('ops-librarians@uni.example');
    expect(entries.map((entry) => [entry.action, entry.subject])).toEqual([
      ['librarian.created', 'katherine@library.uni.example'],
      ['librarian.changed', 'katherine@library.uni.example'],
      ['librarian.changed', 'katherine@library.uni.example'],
    ]);
    expect(entries[0]?.before).toBeNull();
    expect(entries[0]?.after).toMatchObject({
      id: created.id,
      name: 'Katherine J',
      email: 'katherine@library.uni.example',
      subjects: ['Mathematics'],
      active: true,
    });
    expect(entries[1]).toMatchObject({ before: { name: 'Katherine J' }, after: { name: 'Katherine Johnson' } });
    expect(entries[2]).toMatchObject({ before: { active: true }, after: { active: false } });
    expect(entries.every((entry) => entry.actor === 'ops-librarians@uni.example')).toBe(true);
  });

  it("records a librarian's own changes to their hours and time off, with only what changed", async () => {
    const librarian = await createLibrarianWithWeek(t, { email: 'hedy@library.uni.example' });
    const own = await t.auth('librarian', { email: librarian.email });
    await send('PUT', `/api/v1/librarians/${librarian.id}/availability`, own, {
      timeZone: 'Europe/London',
      slotMinutes: 30,
      bufferMinutes: 0,
      minNoticeMinutes: 60,
      horizonDays: 90,
      maxCompanions: 1,
      weekly: [{ weekday: 2, start: '13:00', end: '16:00' }],
    });
    const off = await send('POST', `/api/v1/librarians/${librarian.id}/overrides`, own, {
      kind: 'closed',
      from: '2027-04-05',
      to: '2027-04-09',
      reason: 'Conference',
    });
    await send('DELETE', `/api/v1/librarians/${librarian.id}/overrides/${off.id}`, own);

    const entries = await entriesBy(librarian.email);
    expect(entries.map((entry) => entry.action)).toEqual([
      'availability.changed',
      'time_off.added',
      'time_off.removed',
    ]);
    // The fixture's week was Monday to Friday 09:00–12:00 in 60-minute slots.
    expect(entries[0]).toMatchObject({
      subject: librarian.email,
      before: {
        slotMinutes: 60,
        weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '12:00' })),
      },
      after: { slotMinutes: 30, weekly: [{ weekday: 2, start: '13:00', end: '16:00' }] },
    });
    expect(Object.keys(entries[0]?.after as object).sort()).toEqual(['slotMinutes', 'weekly']);
    const override = {
      id: off.id,
      kind: 'closed',
      allDay: true,
      from: '2027-04-05',
      to: '2027-04-09',
      reason: 'Conference',
    };
    expect(entries[1]).toMatchObject({ before: null, after: override });
    expect(entries[2]).toMatchObject({ before: override, after: null });
  });

  it('records closures added and removed by an admin', async () => {
    const admin = await t.auth('admin', { email: 'ops-closures@uni.example' });
    const closure = await send('POST', '/api/v1/closures', admin, {
      from: '2027-12-24',
      to: '2027-12-31',
      reason: 'Winter closure',
    });
    await send('DELETE', `/api/v1/closures/${closure.id}`, admin);
    const entries = await entriesBy('ops-closures@uni.example');
    expect(entries).toMatchObject([
      {
        action: 'closure.added',
        subject: null,
        after: { from: '2027-12-24', to: '2027-12-31', reason: 'Winter closure' },
      },
      { action: 'closure.removed', subject: null, before: { from: '2027-12-24', to: '2027-12-31' }, after: null },
    ]);
  });

  it("records attendance, its correction, a session recorded afterwards and a move and a cancellation by staff, never a student's own", async () => {
    const librarian = await createLibrarianWithWeek(t, { email: 'mary@library.uni.example', minNoticeMinutes: 0 });
    const own = await t.auth('librarian', { email: librarian.email });
    const student = await t.auth('student', { sub: 'idp|lin', email: 'lin@student.uni.example', name: 'Lin Wu' });
    const book = async (start: string) =>
      send('POST', '/api/v1/bookings', student, {
        librarianId: librarian.id,
        start,
        companions: [{ name: 'Sam Friend', email: 'sam@student.uni.example' }],
      });
    // Tuesday 2 and Wednesday 3 March 2027, 09:00 London (GMT).
    const first = await book('2027-03-02T09:00:00Z');
    const second = await book('2027-03-03T09:00:00Z');
    const third = await book('2027-03-03T10:00:00Z');
    await send('POST', `/api/v1/bookings/${third.id}/cancel`, student, {});
    await send('POST', `/api/v1/bookings/${second.id}/reschedule`, own, { start: '2027-03-04T11:00:00Z' });
    await send('POST', `/api/v1/bookings/${second.id}/cancel`, own, { reason: 'Lin Wu asked me by phone' });

    t.clock.set('2027-03-02T10:05:00Z');
    const after = await t.auth('librarian', { email: librarian.email });
    await send('POST', `/api/v1/bookings/${first.id}/attendance`, after, {
      student: 'attended',
      companion: true,
      effort: 2,
    });
    await send('POST', `/api/v1/bookings/${first.id}/attendance`, after, { student: 'attended', companion: false });
    const walkIn = await send('POST', '/api/v1/sessions/record', after, {
      start: '2027-03-02T09:30:00Z',
      minutes: 20,
      attendance: 'attended',
      companion: true,
      studentCategories: {},
    });

    const entries = await entriesBy(librarian.email);
    expect(entries.map((entry) => [entry.action, entry.subject])).toEqual([
      ['booking.moved', second.id],
      ['booking.cancelled', second.id],
      ['attendance.recorded', first.id],
      ['attendance.corrected', first.id],
      ['session.recorded', walkIn.id],
    ]);
    expect(entries[0]).toMatchObject({
      before: { startUtc: '2027-03-03T09:00:00.000Z', endUtc: '2027-03-03T10:00:00.000Z' },
      after: { startUtc: '2027-03-04T11:00:00.000Z', endUtc: '2027-03-04T12:00:00.000Z' },
    });
    expect(entries[1]).toMatchObject({ before: { status: 'confirmed' }, after: { status: 'cancelled' } });
    expect(entries[2]).toMatchObject({
      before: { attendance: null, effort: null, companionsAttended: [null] },
      after: { attendance: 'attended', effort: 2, companionsAttended: [true] },
    });
    expect(entries[3]).toMatchObject({
      before: { companionsAttended: [true] },
      after: { companionsAttended: [false] },
    });
    expect(entries[4]).toMatchObject({
      before: null,
      after: { librarian: librarian.email, minutes: 20, attendance: 'attended', companion: true },
    });
    // The student's own cancellation is the booking's history, not a staff action; and no entry
    // holds the student's or the friend's name or address, nor the free-text reason.
    expect(await entriesBy('lin@student.uni.example')).toEqual([]);
    const text = JSON.stringify(entries);
    for (const personal of ['Lin Wu', 'lin@student', 'Sam Friend', 'sam@student', 'by phone']) {
      expect(text).not.toContain(personal);
    }
  });

  it('records categories, terms, cohorts and an import, with counts for the import', async () => {
    const admin = await t.auth('admin', { email: 'ops-setup@uni.example' });
    const feeStatus = {
      key: 'fee_status',
      label: 'Fee status',
      values: [
        { value: 'home', label: 'Home' },
        { value: 'international', label: 'International' },
      ],
    };
    await send('PUT', '/api/v1/categories', admin, { dimensions: [feeStatus] });
    await send('PUT', '/api/v1/terms', admin, {
      terms: [{ name: 'Spring 2027', startsOn: '2027-01-11', endsOn: '2027-03-26' }],
    });
    await send('PUT', '/api/v1/cohorts', admin, {
      cohorts: [
        { term: 'Spring 2027', dimension: 'fee_status', value: 'home', size: 9000 },
        { term: 'Spring 2027', dimension: 'fee_status', value: 'international', size: 3000 },
      ],
    });
    // One size corrected: only that cohort is in the entry.
    await send('PUT', '/api/v1/cohorts', admin, {
      cohorts: [
        { term: 'Spring 2027', dimension: 'fee_status', value: 'home', size: 9000 },
        { term: 'Spring 2027', dimension: 'fee_status', value: 'international', size: 3150 },
      ],
    });
    const session = (studentRef: string) => ({
      start: '2026-11-10T14:00:00Z',
      minutes: 30,
      studentRef,
      categories: { fee_status: 'international' },
      companion: true,
      outcome: 'attended',
    });
    await send('POST', '/api/v1/imports/sessions?skipInvalid=true', admin, {
      sessions: [session('s-001'), session('s-002'), { ...session('s-003'), minutes: 0 }],
    });

    const entries = await entriesBy('ops-setup@uni.example');
    expect(entries.map((entry) => entry.action)).toEqual([
      'categories.changed',
      'terms.changed',
      'cohorts.changed',
      'cohorts.changed',
      'sessions.imported',
    ]);
    // Before: the two questions a new installation starts with.
    const before = entries[0]?.before as { dimensions: { key: string }[] } | undefined;
    expect(before?.dimensions.map((d) => d.key)).toEqual(['fee_status', 'study_level']);
    expect(entries[0]?.after).toEqual({ dimensions: [feeStatus] });
    expect(entries[1]).toMatchObject({
      before: { terms: [] },
      after: { terms: [{ name: 'Spring 2027', startsOn: '2027-01-11', endsOn: '2027-03-26' }] },
    });
    expect(entries[2]).toMatchObject({
      before: { 'Spring 2027 / fee_status / home': null, 'Spring 2027 / fee_status / international': null },
      after: { 'Spring 2027 / fee_status / home': 9000, 'Spring 2027 / fee_status / international': 3000 },
    });
    expect(entries[3]?.before).toEqual({ 'Spring 2027 / fee_status / international': 3000 });
    expect(entries[3]?.after).toEqual({ 'Spring 2027 / fee_status / international': 3150 });
    expect(entries[4]).toMatchObject({
      before: null,
      after: { format: 'json', imported: 2, alreadyThere: 0, invalidSkipped: 1 },
    });
    expect(JSON.stringify(entries[4])).not.toContain('s-001');
  });

  it("records webhook changes without the secret or the endpoint's full address", async () => {
    const admin = await t.auth('admin', { email: 'ops-webhooks@uni.example' });
    const address = 'http://127.0.0.1:9/hooks/T0SECRETPATH?token=querysecret';
    const created = await send('POST', '/api/v1/webhooks', admin, {
      url: address,
      events: ['booking.created'],
      description: 'Room system',
    });
    await send('PATCH', `/api/v1/webhooks/${created.id}`, admin, { enabled: false });
    const rotated = await send('POST', `/api/v1/webhooks/${created.id}/rotate-secret`, admin);
    await send('PATCH', `/api/v1/webhooks/${created.id}`, admin, { url: 'http://127.0.0.1:9/hooks/OTHERPATH' });
    await send('DELETE', `/api/v1/webhooks/${created.id}`, admin);

    const entries = await entriesBy('ops-webhooks@uni.example');
    expect(entries.map((entry) => [entry.action, entry.subject])).toEqual([
      ['webhook.created', created.id],
      ['webhook.changed', created.id],
      ['webhook.secret_rotated', created.id],
      ['webhook.changed', created.id],
      ['webhook.removed', created.id],
    ]);
    expect(entries[0]?.after).toMatchObject({
      host: '127.0.0.1:9',
      description: 'Room system',
      events: ['booking.created'],
      enabled: true,
    });
    expect(entries[1]).toMatchObject({ before: { enabled: true }, after: { enabled: false } });
    expect(entries[2]?.after).toEqual({ previousSecretExpiresAt: '2027-03-02T08:00:00.000Z' });
    // The address changed: the entry shows that it did (its digest), not what it is.
    expect(Object.keys(entries[3]?.after as object)).toEqual(['address']);
    const text = JSON.stringify(entries);
    for (const secret of [created.secret, rotated.secret, 'whsec_', 'T0SECRETPATH', 'querysecret', 'OTHERPATH']) {
      expect(text).not.toContain(secret);
    }
  });

  it('offers the actions as a filter, and refuses the record to librarians and analysts', async () => {
    const admin = await t.auth('admin', { email: 'ops-filter@uni.example' });
    await send('POST', '/api/v1/closures', admin, { from: '2027-08-02', to: '2027-08-02' });
    const filtered = await t.app.inject({
      method: 'GET',
      url: '/api/v1/staff-record?from=2027-01-01&to=2027-12-31&action=closure.added&actor=ops-filter@uni.example',
      headers: admin,
    });
    expect(filtered.json().entries).toHaveLength(1);
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/api/v1/staff-record?from=2027-01-01&to=2027-12-31&action=made.up',
      headers: admin,
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].pointer).toBe('/action');
    for (const role of ['librarian', 'analyst'] as const) {
      const refused = await t.app.inject({
        method: 'GET',
        url: '/api/v1/staff-record?from=2027-01-01&to=2027-12-31',
        headers: await t.auth(role),
      });
      expect(refused.statusCode).toBe(403);
    }
  });
});
