import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/rows.js';
import { notifications, waitlistEntries } from '../../src/db/schema.js';
import { createMailer } from '../../src/modules/notifications/mailer.js';
import { createNotificationWorker } from '../../src/modules/notifications/worker.js';
import { createServices } from '../../src/services.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { campaignWithCohort } from '../helpers/campaigns.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Hardening round three, finding 5: erasure by proof, not by list. Weixian touched every feature
// (a campaign's cohort, his categories, a session with a friend and feedback, one he cancelled
// with a reason, one he moved, another student's session as her friend, the waitlist with a friend
// and an offer), his emails went to the .eml outbox; then he is erased, and a dump of every table
// and every outbox file is searched for every string of his. Nothing may remain: no row is kept
// by design with his words in it (the staff record names only the admin who acted).

const NAME = 'Weixian Zhangfeld';
const EMAIL = 'weixian.z@student.uni.example';
/** Everything of his, as he gave it, and the friends he named. */
const HIS = [
  'weixian',
  'Zhangfeld',
  'WZ-77120',
  'Ming dynasty ceramics',
  'Chicago style referencing',
  'Feeling unwell this morning',
  'Web of Science searching',
  'Amira Haddad',
  'amira.h@student',
  'Lina Farah',
  'lina.f@student',
  'patient with me',
];

let t: TestContext;
let dataDir: string;
let ada: { id: string; email: string };
let worker: ReturnType<typeof createNotificationWorker>;
let mailer: ReturnType<typeof createMailer>;
let offerToken: string;

const as = (who: string, name: string, email = `${who}@student.uni.example`) =>
  t.auth('student', { sub: `idp|${who}`, email, name });
const weixian = () => as('weixian', NAME, EMAIL);

async function call(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: unknown) {
  const response = await t.app.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
  return response;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-erasure-'));
  // No SMTP_URL: every email is an .eml file in DATA_DIR/outbox, as on the embedded default.
  t = await createTestApp({ now: '2027-03-01T08:00:00Z', env: { DATA_DIR: dataDir } });
  mailer = createMailer(t.config);
  worker = createNotificationWorker({ db: t.db, clock: t.clock, mailer, config: t.config });
  ada = await createLibrarianWithWeek(t, { email: 'ada@library.uni.example', maxCompanions: 1, minNoticeMinutes: 0 });
  const admin = await t.auth('admin', { email: 'outreach@uni.example' });

  // A campaign's cohort, sent: an invitation to him.
  const campaign = await campaignWithCohort(t, admin, {
    name: 'Spring invitation',
    armPercent: 100,
    sendFrom: '2027-03-01T08:00:00Z',
    sendUntil: '2027-03-01T20:00:00Z',
    cohort: `email,first_name,student_ref\n${EMAIL},Weixian,WZ-77120\nother@student.uni.example,Other,\n`,
  });
  await call('POST', `/api/v1/campaigns/${campaign.id}/send`, admin);
  await call('PUT', '/api/v1/me', await weixian(), { categories: { fee_status: 'international' } });

  // A session with a friend, attended, with feedback.
  const past = await call('POST', '/api/v1/bookings', await weixian(), {
    librarianId: ada.id,
    start: '2027-03-02T09:00:00Z',
    topic: 'Ming dynasty ceramics',
    companions: [{ name: 'Amira Haddad', email: 'amira.h@student.uni.example' }],
  });
  // One he cancels, with a reason; one he moves.
  const cancelled = await call('POST', '/api/v1/bookings', await weixian(), {
    librarianId: ada.id,
    start: '2027-03-08T10:00:00Z',
    topic: 'Chicago style referencing',
  });
  await call('POST', `/api/v1/bookings/${cancelled.json().id}/cancel`, await weixian(), {
    reason: 'Feeling unwell this morning',
  });
  const moved = await call('POST', '/api/v1/bookings', await weixian(), {
    librarianId: ada.id,
    start: '2027-03-09T10:00:00Z',
    topic: 'Web of Science searching',
  });
  await call('POST', `/api/v1/bookings/${moved.json().id}/reschedule`, await weixian(), {
    start: '2027-03-09T11:00:00Z',
  });
  // Another student's session, with him as her friend.
  await call('POST', '/api/v1/bookings', await as('ottilie', 'Ottilie Other'), {
    librarianId: ada.id,
    start: '2027-03-04T09:00:00Z',
    companions: [{ name: NAME, email: EMAIL }],
  });
  // The waitlist, with a friend: Friday 5 March 10:00 is taken, then given up after he joined.
  const taken = await call('POST', '/api/v1/bookings', await as('booker', 'Bo Oker'), {
    librarianId: ada.id,
    start: '2027-03-05T10:00:00Z',
  });
  await call('POST', '/api/v1/waitlist', await weixian(), {
    librarianId: ada.id,
    from: '2027-03-05',
    to: '2027-03-05',
    latest: '11:00',
    companion: { name: 'Lina Farah', email: 'lina.f@student.uni.example' },
  });
  t.clock.set('2027-03-01T08:30:00Z');
  await call('POST', `/api/v1/bookings/${taken.json().id}/cancel`, await as('booker', 'Bo Oker'), {});
  await createServices({ db: t.db, clock: t.clock, config: t.config }).waitlist.match();
  const [offer] = await t.db
    .select({ token: notifications.linkToken })
    .from(notifications)
    .where(and(eq(notifications.kind, 'waitlist_offer'), eq(notifications.recipientEmail, EMAIL)));
  offerToken = offer?.token as string;
  expect(offerToken).toBeTruthy();

  // The past session is attended; he answers the "How did it go?" email.
  t.clock.set('2027-03-02T09:50:00Z');
  await call('POST', `/api/v1/bookings/${past.json().id}/attendance`, await t.auth('librarian', { email: ada.email }), {
    student: 'attended',
    companion: true,
  });
  t.clock.set('2027-03-02T12:00:00Z');
  await worker.runOnce();
  // The token is minted as the email goes: read it from his copy in the outbox.
  const asked = (await outboxMails()).find(
    (mail) => mail.to === EMAIL && mail.subject.startsWith('How was your library session'),
  );
  const feedback = { token: /feedback\?token=([\w-]+)/.exec(asked?.text ?? '')?.[1] };
  expect(feedback.token).toBeTruthy();
  const form = await t.app.inject({
    method: 'GET',
    url: `/feedback?token=${feedback?.token}`,
    headers: { accept: 'text/html' },
  });
  const answered = await t.app.inject({
    method: 'POST',
    url: '/feedback',
    headers: {
      cookie: String(form.headers['set-cookie']).split(';')[0] as string,
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({
      _csrf: /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] as string,
      token: feedback?.token as string,
      nervous: '4',
      useful: '5',
      comment: 'The librarian was patient with me',
    }).toString(),
  });
  expect(answered.statusCode, answered.body).toBe(303);
  await worker.runOnce();
  // Everything so far reached the outbox, naming him.
  expect(outboxText().toLowerCase()).toContain('weixian');
});
afterAll(async () => {
  mailer?.close();
  await t?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every .eml file in the outbox, raw (headers and all) and as a mail reader decodes it. */
function outboxText(): string {
  const folder = path.join(dataDir, 'outbox');
  return readdirSync(folder)
    .map((name) => readFileSync(path.join(folder, name), 'utf8'))
    .join('\n');
}
/** Every .eml file in the outbox as a mail reader decodes it. */
async function outboxMails(): Promise<{ to: string; subject: string; text: string; html: string }[]> {
  const folder = path.join(dataDir, 'outbox');
  const parsed = await Promise.all(
    readdirSync(folder).map((name) => simpleParser(readFileSync(path.join(folder, name)))),
  );
  return parsed.map((mail) => ({
    to: (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address ?? '',
    subject: mail.subject ?? '',
    text: mail.text ?? '',
    html: typeof mail.html === 'string' ? mail.html : '',
  }));
}
async function outboxDecoded(): Promise<string> {
  return (await outboxMails()).map((mail) => `${mail.to}\n${mail.subject}\n${mail.text}\n${mail.html}`).join('\n');
}

/** Every row of every table, as PostgreSQL writes it out (a dump of the data, column by column). */
async function dump(): Promise<{ table: string; row: string }[]> {
  const tables = await rowsOf<{ table: string }>(
    t.db,
    sql`select table_name as "table" from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
  );
  const rows = await Promise.all(
    tables.map(async ({ table }) =>
      (await rowsOf<{ row: string }>(t.db, sql`select t::text as row from ${sql.identifier(table)} t`)).map(
        ({ row }) => ({ table, row }),
      ),
    ),
  );
  return rows.flat();
}

describe('erasure, proved by search', () => {
  it('leaves no string of his in any table or outbox file, and kills the offer he was sent', async () => {
    const before = await dump();
    expect(before.filter(({ row }) => row.toLowerCase().includes('weixian')).length).toBeGreaterThan(10);

    const erased = await call('POST', '/api/v1/people/erase', await t.auth('admin', { email: 'dpo@uni.example' }), {
      email: EMAIL,
    });
    expect(erased.json()).toEqual({ email: EMAIL, students: 1, invitations: 1, cancelled: 1 });
    // What the erasure itself sends (his moved session cancelled: the librarian is told) goes out too.
    await worker.runOnce();

    const after = await dump();
    const found = HIS.flatMap((needle) =>
      after
        .filter(({ row }) => row.toLowerCase().includes(needle.toLowerCase()))
        .map(({ table, row }) => `${needle} in ${table}: ${row.slice(0, 200)}`),
    );
    expect(found).toEqual([]);
    const raw = outboxText().toLowerCase();
    const decoded = (await outboxDecoded()).toLowerCase();
    expect(
      HIS.filter((needle) => raw.includes(needle.toLowerCase()) || decoded.includes(needle.toLowerCase())),
    ).toEqual([]);

    // The offer emailed before the erasure books nothing, and his entry has ended.
    const accept = await t.app.inject({ method: 'POST', url: `/api/v1/waitlist/offer/accept?token=${offerToken}` });
    expect(accept.statusCode).toBe(409);
    expect(accept.json().code).toBe('offer_gone');
    const entries = await t.db.select({ status: waitlistEntries.status }).from(waitlistEntries);
    expect(entries.map((entry) => entry.status)).toEqual(['left']);

    // An export for his address finds nothing of him, in any section.
    const exported = await call('POST', '/api/v1/people/export', await t.auth('admin', { email: 'dpo@uni.example' }), {
      email: EMAIL,
    });
    expect(exported.json()).toMatchObject({
      students: [],
      bookings: [],
      invitations: [],
      feedback: [],
      emails: [],
      campaigns: [],
      waitlist: [],
    });
  });

  it('refuses to erase the address of the admin asking', async () => {
    const self = await t.app.inject({
      method: 'POST',
      url: '/api/v1/people/erase',
      headers: await t.auth('admin', { email: 'Head.Admin@uni.example' }),
      payload: { email: 'head.admin@uni.example' },
    });
    expect(self.statusCode).toBe(409);
    expect(self.json().code).toBe('staff_email');
  });
});
