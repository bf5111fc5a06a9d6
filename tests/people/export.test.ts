import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchBrowser, signedInPage, startWebApp, type WebContext } from '../helpers/browser.js';
import { campaignWithCohort } from '../helpers/campaigns.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Issue 28, a person's data: everything held about one email address, for a subject access
// request, and nothing about anyone else.

let web: WebContext;
let browser: Browser;
let librarian: { id: string; email: string };
const NOW = '2027-03-01T08:00:00Z';

async function as(who: string, name: string) {
  return web.t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example`, name });
}

beforeAll(async () => {
  web = await startWebApp({ now: NOW });
  librarian = await createLibrarianWithWeek(web.t, {
    email: 'grace@library.uni.example',
    name: 'Grace Hopper',
    maxCompanions: 2,
    minNoticeMinutes: 0,
  });
  // Mina: fee status international, two bookings (one with a friend, Jo), and later invited by
  // Omar as a friend herself. Omar's own details must never appear in Mina's export.
  const mina = await as('mina', 'Mina Park');
  await web.t.app.inject({
    method: 'PUT',
    url: '/api/v1/me',
    headers: mina,
    payload: { categories: { fee_status: 'international' }, language: 'zh-Hans' },
  });
  const first = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: mina,
    payload: {
      librarianId: librarian.id,
      start: '2027-03-02T09:00:00Z',
      topic: 'Finding sources on tidal energy',
      nervesBefore: 4,
      companions: [{ name: 'Jo Bloggs', email: 'jo@student.uni.example' }],
    },
  });
  expect(first.statusCode, first.body).toBe(201);
  const second = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: mina,
    payload: { librarianId: librarian.id, start: '2027-03-03T10:00:00Z' },
  });
  expect(second.statusCode, second.body).toBe(201);
  const omar = await as('omar', 'Omar Secret');
  const invited = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: omar,
    payload: {
      librarianId: librarian.id,
      start: '2027-03-04T11:00:00Z',
      topic: 'Omar private topic',
      companions: [{ name: 'Mina P', email: 'MINA@student.uni.example', role: 'family' }],
    },
  });
  expect(invited.statusCode, invited.body).toBe(201);
  // The first session took place; feedback goes out and Mina answers it.
  web.t.clock.set('2027-03-02T09:50:00Z');
  const recorded = await web.t.app.inject({
    method: 'POST',
    url: `/api/v1/bookings/${first.json().id}/attendance`,
    headers: await web.t.auth('librarian', { email: librarian.email }),
    payload: { student: 'attended', companion: true },
  });
  expect(recorded.statusCode, recorded.body).toBe(200);
  web.t.clock.set('2027-03-02T16:00:00Z');
  await web.worker.runOnce();
  const feedbackMail = (await web.sink.parsed()).find((mail) => {
    const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
    // In Chinese: the language she chose.
    return (
      to?.value[0]?.address === 'mina@student.uni.example' && mail.subject === '您与Grace Hopper的图书馆咨询怎么样？'
    );
  });
  const token = /feedback\?token=([\w-]+)/.exec(feedbackMail?.text ?? '')?.[1];
  expect(token).toBeDefined();
  const form = await web.t.app.inject({
    method: 'GET',
    url: `/feedback?token=${token}`,
    headers: { accept: 'text/html' },
  });
  const cookie = String(form.headers['set-cookie']).split(';')[0] as string;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] as string;
  const sent = await web.t.app.inject({
    method: 'POST',
    url: '/feedback',
    headers: { cookie, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      _csrf: csrf,
      token: token as string,
      nervous: '4',
      useful: '5',
      nervesNow: '2',
      comment: 'Jo helped',
    }).toString(),
  });
  expect(sent.statusCode).toBe(303);
  // A campaign's cohort names her (and Omar); it is drafted, not sent.
  const admin = await web.t.auth('admin', { email: 'outreach@uni.example' });
  await campaignWithCohort(web.t, admin, {
    name: 'Spring invitation',
    armPercent: 80,
    sendFrom: '2027-04-01T08:00:00Z',
    sendUntil: '2027-04-01T20:00:00Z',
    cohort:
      'email,first_name,student_ref,fee_status\nMINA@student.uni.example,Mina,S-42,international\nomar@student.uni.example,Omar,S-99,home\n',
  });
  web.t.clock.set(NOW);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function exportOf(email: string, role: 'admin' | 'student' | 'librarian' = 'admin') {
  return web.t.app.inject({
    method: 'POST',
    url: '/api/v1/people/export',
    headers: await web.t.auth(role, role === 'librarian' ? { email: librarian.email } : undefined),
    payload: { email },
  });
}

describe("a person's data", () => {
  it('holds her profile, both bookings with her friend as she gave them, the invitation, her feedback and emails', async () => {
    const response = await exportOf('Mina@Student.uni.example');
    expect(response.statusCode, response.body).toBe(200);
    // Named for the day it was made, as the export says.
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="person-data-${response.json().exportedAt.slice(0, 10)}.json"`,
    );
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="person-data-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    const data = response.json();
    expect(data.email).toBe('mina@student.uni.example');
    expect(data.students).toHaveLength(1);
    expect(data.students[0]).toMatchObject({
      name: 'Mina Park',
      email: 'mina@student.uni.example',
      categories: { fee_status: 'international' },
      language: 'zh-Hans',
    });
    expect(
      data.bookings.map((booking: { start: string; librarian: string; topic: string | null }) => [
        booking.start,
        booking.librarian,
        booking.topic,
      ]),
    ).toEqual([
      ['2027-03-02T09:00:00.000Z', 'Grace Hopper', 'Finding sources on tidal energy'],
      ['2027-03-03T10:00:00.000Z', 'Grace Hopper', null],
    ]);
    expect(data.bookings[0]).toMatchObject({
      attendance: 'attended',
      nervesBefore: 4,
      categoriesAtBooking: { fee_status: 'international' },
      friends: [{ name: 'Jo Bloggs', email: 'jo@student.uni.example', role: 'friend', status: 'invited' }],
    });
    expect(data.invitations).toEqual([
      expect.objectContaining({
        start: '2027-03-04T11:00:00.000Z',
        librarian: 'Grace Hopper',
        name: 'Mina P',
        role: 'family',
        status: 'invited',
        confirmed: false,
      }),
    ]);
    expect(data.feedback).toEqual([
      expect.objectContaining({ as: 'student', nervous: 4, useful: 5, nervesNow: 2, comment: 'Jo helped' }),
    ]);
    expect(data.campaigns).toEqual([
      expect.objectContaining({
        campaign: 'Spring invitation',
        studentRef: 'S-42',
        firstName: 'Mina',
        categories: { fee_status: 'international' },
        arm: null,
      }),
    ]);
    expect(data.invitationsStopped).toBeNull();
    // Her two bookings' confirmations and reminders, the invitation and its reminder, and the
    // feedback request: kind, time and status only.
    const kinds: Record<string, number> = {};
    for (const email of data.emails as { kind: string; status: string }[])
      kinds[email.kind] = (kinds[email.kind] ?? 0) + 1;
    expect(kinds).toEqual({ booking_created: 3, reminder: 3, feedback_request: 1 });
    expect(Object.keys(data.emails[0]).sort()).toEqual(['kind', 'queuedAt', 'sentAt', 'status']);
    // Nothing about Omar, who invited her: not his name, email or topic.
    for (const other of ['Omar', 'omar@student.uni.example', 'Omar private topic', 'S-99']) {
      expect(response.body).not.toContain(other);
    }
  });

  it('finds nothing for an unknown address, and refuses students and librarians', async () => {
    const nobody = (await exportOf('nobody@student.uni.example')).json();
    expect(nobody).toMatchObject({ students: [], bookings: [], invitations: [], feedback: [], emails: [] });
    expect((await exportOf('mina@student.uni.example', 'student')).statusCode).toBe(403);
    expect((await exportOf('mina@student.uni.example', 'librarian')).statusCode).toBe(403);
    const bad = await exportOf('not an email');
    expect(bad.statusCode).toBe(400);
  });

  it('shows it to an admin on a page, with the JSON to download', async () => {
    const page = await signedInPage(browser, web.baseUrl, 'admin@uni.example', 'Admin');
    await page.goto('/admin/people');
    await expectAccessible(page, "a person's data, empty");
    await page.getByLabel('Email address').fill('mina@student.uni.example');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('heading', { name: /mina@student\.uni\.example/ }).waitFor();
    // The address travelled in the form's body, never in the address bar (or a log).
    expect(page.url()).toBe(`${web.baseUrl}/admin/people`);
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('Finding sources on tidal energy');
    expect(main).toContain('Jo Bloggs (jo@student.uni.example), friend, invited');
    expect(main).toContain('Jo helped');
    expect(main).not.toContain('Omar');
    await expectAccessible(page, "a person's data");
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download it all (JSON)' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^person-data-\d{4}-\d{2}-\d{2}\.json$/);
    await page.getByLabel('Email address').fill('not-an-email');
    await page.getByRole('button', { name: 'Find' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Enter an email address in the correct format');
    await page.context().close();
  });

  it('erases a person from the page, once the admin confirms, and never a librarian', async () => {
    const zed = await web.t.auth('student', { sub: 'idp|zed', email: 'zed@student.uni.example', name: 'Zed Zebulon' });
    const booked = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: zed,
      payload: { librarianId: librarian.id, start: '2027-03-05T11:00:00Z', topic: 'Zed topic' },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const page = await signedInPage(browser, web.baseUrl, 'admin@uni.example', 'Admin');
    const find = async (email: string) => {
      await page.goto('/admin/people');
      await page.getByLabel('Email address').fill(email);
      await page.getByRole('button', { name: 'Find' }).click();
      await page.getByRole('heading', { name: new RegExp(email.replaceAll('.', '\\.')) }).waitFor();
    };
    await find('zed@student.uni.example');
    expect(await page.locator('main').textContent()).toContain('Zed topic');
    await page.getByRole('button', { name: 'Erase this person' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Tick the box to confirm');
    await expectAccessible(page, 'erasure not confirmed');
    await page.getByLabel('I have checked that zed@student.uni.example asked to be erased').check();
    await page.getByRole('button', { name: 'Erase this person' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toContain('Erased.');
    expect(await page.locator('main').textContent()).toContain('Liaison holds nothing about this email address.');
    await expectAccessible(page, 'erased');
    const cancelled = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/bookings/${booked.json().id}`,
      headers: await web.t.auth('admin'),
    });
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', student: { name: null }, topic: null });
    // A librarian's address is refused, saying why.
    await find('grace@library.uni.example');
    await page.getByLabel('I have checked that grace@library.uni.example asked to be erased').check();
    await page.getByRole('button', { name: 'Erase this person' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('belongs to a librarian or an admin');
    // The record of staff actions names the admin, the erasure, and no longer the address.
    await page.goto('/admin/record?action=person.erased');
    const record = (await page.locator('main table').textContent()) ?? '';
    expect(record).toContain('admin@uni.example');
    expect(record).toContain('person.erased');
    expect(record).not.toContain('zed@student.uni.example');
    await expectAccessible(page, 'record of staff actions');
    // The filter offers every action; the erasure's cancellation of Zed's booking is one, by the admin.
    await page.getByRole('combobox', { name: 'Action' }).selectOption('booking.cancelled');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/action=booking\.cancelled/);
    const cancellations = (await page.locator('main table tbody').textContent()) ?? '';
    expect(cancellations).toContain(booked.json().id);
    expect(cancellations).toContain('admin@uni.example');
    expect(cancellations).not.toContain('person.erased');
    await page.context().close();
  });
});
