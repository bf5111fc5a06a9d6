import { sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/rows.js';
import type { TestContext } from '../helpers/app.js';
import { campaignWithCohort } from '../helpers/campaigns.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { createTestAppWithMail, type MailContext } from '../helpers/mail.js';

// Issue 28, erasure on request: the person's identity goes from every record, the figures do not
// move, their upcoming booking is cancelled with the usual emails, and staff cannot be erased.

let mail: MailContext;
let t: TestContext;
let librarian: { id: string; email: string };
let campaignId: string;
const NAME = 'Erasmus Quillfeather';
const EMAIL = 'erasmus@student.uni.example';

const student = (who: string, name: string) =>
  t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example`, name });

async function book(who: [string, string], start: string, extra: Record<string, unknown> = {}) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await student(...who),
    payload: { librarianId: librarian.id, start, ...extra },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string };
}

async function attend(id: string, start: string) {
  t.clock.set(new Date(Date.parse(start) + 50 * 60_000).toISOString());
  const response = await t.app.inject({
    method: 'POST',
    url: `/api/v1/bookings/${id}/attendance`,
    headers: await t.auth('librarian', { email: librarian.email }),
    payload: { student: 'attended', companion: true },
  });
  expect(response.statusCode, response.body).toBe(200);
}

/** The figures analysts read for the first week, as the API answers them, byte for byte. */
async function figures(): Promise<string[]> {
  const analyst = await t.auth('analyst');
  const urls = [
    '/api/v1/uptake?from=2027-03-01&to=2027-03-07&groupBy=fee_status,companion',
    '/api/v1/uptake?from=2027-03-01&to=2027-03-07&groupBy=fee_status&format=csv',
    '/api/v1/uptake/companion-effect?from=2027-03-01&to=2027-03-07&by=fee_status',
    '/api/v1/uptake/feedback?from=2027-03-01&to=2027-03-07&by=fee_status',
    '/api/v1/uptake/nerves?from=2027-03-01&to=2027-03-07&by=fee_status',
    `/api/v1/campaigns/${campaignId}/results`,
  ];
  return Promise.all(urls.map(async (url) => (await t.app.inject({ method: 'GET', url, headers: analyst })).body));
}

beforeAll(async () => {
  mail = await createTestAppWithMail({ now: '2027-03-01T08:00:00Z' });
  t = mail.t;
  librarian = await createLibrarianWithWeek(t, {
    email: 'ada@library.uni.example',
    maxCompanions: 1,
    minNoticeMinutes: 0,
  });
  // He is in a campaign's cohort (sent before any of his bookings): its results must not move.
  const admin = await t.auth('admin', { email: 'outreach@uni.example' });
  ({ id: campaignId } = await campaignWithCohort(t, admin, {
    name: 'Spring invitation',
    armPercent: 50,
    seed: 'erasure-seed-1',
    sendFrom: '2027-03-01T08:00:00Z',
    sendUntil: '2027-03-01T20:00:00Z',
    cohort: `email,first_name,student_ref\n${EMAIL},Erasmus,Q-1234\nottilie@student.uni.example,Ottilie,\nzed@student.uni.example,Zed,\nyan@student.uni.example,Yan,\n`,
  }));
  const sent = await t.app.inject({ method: 'POST', url: `/api/v1/campaigns/${campaignId}/send`, headers: admin });
  expect(sent.statusCode, sent.body).toBe(200);
  const erasmus = await student('erasmus', NAME);
  await t.app.inject({
    method: 'PUT',
    url: '/api/v1/me',
    headers: erasmus,
    payload: { categories: { fee_status: 'international' } },
  });
  // A past session with a friend, which he gave feedback on; an upcoming one; and a session of
  // someone else's he came to as a friend.
  const past = await book(['erasmus', NAME], '2027-03-02T09:00:00Z', {
    topic: `${NAME} wants help with his thesis`,
    nervesBefore: 5,
    companions: [{ name: 'Kit Marlowe', email: 'kit@student.uni.example' }],
  });
  const other = await book(['ottilie', 'Ottilie Other'], '2027-03-03T09:00:00Z', {
    companions: [{ name: NAME, email: 'Erasmus@Student.uni.example' }],
  });
  t.clock.set('2027-03-01T09:00:00Z');
  await book(['erasmus', NAME], '2027-03-10T09:00:00Z', {
    topic: 'Upcoming help',
    companions: [{ name: 'Lee Upcoming', email: 'lee@student.uni.example' }],
  });
  await attend(past.id, '2027-03-02T09:00:00Z');
  await attend(other.id, '2027-03-03T09:00:00Z');
  t.clock.set('2027-03-04T08:00:00Z');
  await mail.worker.runOnce();
  const ask = (await mail.sink.parsed()).find(
    (candidate: ParsedMail) =>
      (Array.isArray(candidate.to) ? candidate.to[0] : candidate.to)?.value[0]?.address === EMAIL &&
      candidate.subject?.startsWith('How was your library session'),
  );
  const token = /feedback\?token=([\w-]+)/.exec(ask?.text ?? '')?.[1] as string;
  const form = await t.app.inject({ method: 'GET', url: `/feedback?token=${token}`, headers: { accept: 'text/html' } });
  const cookie = String(form.headers['set-cookie']).split(';')[0] as string;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] as string;
  const answered = await t.app.inject({
    method: 'POST',
    url: '/feedback',
    headers: { cookie, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      _csrf: csrf,
      token,
      nervous: '5',
      nervesNow: '2',
      comment: `I am ${NAME}`,
    }).toString(),
  });
  expect(answered.statusCode).toBe(303);
  await mail.clearMail();
});
afterAll(() => mail?.close());

async function erase(email: string, role: 'admin' | 'student' | 'librarian' = 'admin') {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/people/erase',
    headers: await t.auth(role, role === 'librarian' ? { email: librarian.email } : { email: 'dpo@uni.example' }),
    payload: { email },
  });
}

describe('erasure', () => {
  it('refuses staff, students and librarians', async () => {
    const librarianAddress = await erase('ADA@library.uni.example');
    expect(librarianAddress.statusCode).toBe(409);
    expect(librarianAddress.json().code).toBe('staff_email');
    expect((await erase(EMAIL, 'student')).statusCode).toBe(403);
    expect((await erase(EMAIL, 'librarian')).statusCode).toBe(403);
  });

  it('removes him from every record, cancels what is to come, and leaves every figure as it was', async () => {
    const before = await figures();
    const response = await erase('ERASMUS@student.uni.example');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ email: EMAIL, students: 1, invitations: 1, cancelled: 1 });
    expect(await figures()).toEqual(before);
    // His booking still counts in the campaign's figures (it was made after the invitation).
    const campaign = JSON.parse(before[5] as string);
    const booked = campaign.arms.reduce((sum: number, arm: { booked: { count: number } }) => sum + arm.booked.count, 0);
    expect(booked).toBe(2);

    // His name and address, and the friends he named, are in no text or JSON column of any table.
    const columns = await rowsOf<{ table: string; column: string }>(
      t.db,
      sql`select table_name as "table", column_name as "column" from information_schema.columns
          where table_schema = 'public' and data_type in ('text', 'jsonb', 'json', 'character varying', 'ARRAY')`,
    );
    expect(columns.length).toBeGreaterThan(40);
    for (const needle of [
      'erasmus@',
      'Erasmus',
      'Quillfeather',
      'idp|erasmus',
      'kit@student',
      'Kit Marlowe',
      'Q-1234',
    ]) {
      for (const { table, column } of columns) {
        const [found] = await rowsOf<{ n: number }>(
          t.db,
          sql`select count(*)::int as n from ${sql.identifier(table)} where ${sql.identifier(column)}::text ilike ${`%${needle}%`}`,
        );
        expect(found?.n, `${needle} in ${table}.${column}`).toBe(0);
      }
    }

    // The upcoming session is cancelled: the librarian and his friend are told, naming no one; he is not.
    await mail.worker.runOnce();
    const sent = await mail.sink.parsed();
    const to = (message: ParsedMail) => (Array.isArray(message.to) ? message.to[0] : message.to)?.value[0]?.address;
    expect(sent.map(to).sort()).toEqual(['ada@library.uni.example', 'lee@student.uni.example']);
    for (const message of sent) {
      expect(message.subject).toMatch(/^Cancelled: /);
      expect(`${message.subject} ${message.text} ${message.html}`).not.toMatch(/Erasmus|Quillfeather/i);
    }

    // Signing in again makes a new student, with nothing of the old one.
    const again = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: await student('erasmus', NAME) });
    expect(again.json()).toMatchObject({ email: EMAIL, categories: {}, language: null });
    const exported = await t.app.inject({
      method: 'POST',
      url: '/api/v1/people/export',
      headers: await t.auth('admin'),
      payload: { email: EMAIL },
    });
    expect(exported.json()).toMatchObject({ bookings: [], invitations: [], feedback: [] });
  });
});

describe('the record of staff actions', () => {
  it('records an export with its address and an erasure without it, by whom, for admins only', async () => {
    const admin = await t.auth('admin', { email: 'dpo@uni.example' });
    const person = 'recorded@student.uni.example';
    await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: await t.auth('student', { sub: 'idp|recorded', email: person, name: 'Rae Corded' }),
    });
    const exported = await t.app.inject({
      method: 'POST',
      url: '/api/v1/people/export',
      headers: admin,
      payload: { email: person },
    });
    expect(exported.statusCode).toBe(200);
    const read = async (query: string) =>
      t.app.inject({
        method: 'GET',
        url: `/api/v1/staff-record?from=2027-01-01&to=2027-12-31${query}`,
        headers: admin,
      });
    const before = (await read('&action=person.exported')).json().entries;
    expect(before.filter((entry: { subject: string }) => entry.subject === person)).toEqual([
      expect.objectContaining({ actor: 'dpo@uni.example', action: 'person.exported', subject: person }),
    ]);
    const erased = await t.app.inject({
      method: 'POST',
      url: '/api/v1/people/erase',
      headers: admin,
      payload: { email: person },
    });
    expect(erased.statusCode, erased.body).toBe(200);
    const all = (await read('&actor=DPO@uni.example')).json().entries as {
      action: string;
      subject: string | null;
      after: unknown;
    }[];
    // The address is gone from the record too; that it was exported and erased, and by whom, stays.
    expect(JSON.stringify(all)).not.toContain(person);
    expect(all.at(-1)).toMatchObject({
      action: 'person.erased',
      subject: null,
      after: { students: 1, invitations: 0, cancelled: 0 },
    });
    expect(all.some((entry) => entry.action === 'person.exported' && entry.subject === 'erased')).toBe(true);
    const csv = await read('&format=csv');
    expect(csv.body.split('\r\n')[0]).toBe('at,actor,action,subject,before,after');
    const refused = await t.app.inject({
      method: 'GET',
      url: '/api/v1/staff-record?from=2027-01-01&to=2027-12-31',
      headers: await t.auth('librarian', { email: librarian.email }),
    });
    expect(refused.statusCode).toBe(403);
  });
});
