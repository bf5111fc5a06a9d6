import { eq } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignMembers, notifications } from '../../src/db/schema.js';
import { expectAccessible, launchBrowser, signedInPage, startWebApp, type WebContext } from '../helpers/browser.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Issue 27, a campaign from sending to results: the invitations in a real SMTP server (one per
// member of an arm, none to the holdout, the RFC 8058 headers), a booking through the invitation
// link by someone signed in with another address, bookings by address, one after the window, a
// bounced email; the results by intention to treat with hand-computed intervals; and the stop
// link honoured by the next campaign.

let web: WebContext;
let browser: Browser;
let librarian: { id: string; email: string };
const MONDAY = '2027-03-01T08:00:00Z';

beforeAll(async () => {
  web = await startWebApp({ now: MONDAY });
  browser = await launchBrowser();
  librarian = await createLibrarianWithWeek(web.t, {
    email: 'grace@library.uni.example',
    name: 'Grace Hopper',
    maxCompanions: 1,
    minNoticeMinutes: 0,
  });
});
afterAll(async () => {
  await browser?.close();
  await web.close();
});

const PEOPLE = ['ann', 'ben', 'cai', 'dee', 'eve', 'fay', 'gus', 'hal'].map((name) => `${name}@student.uni.example`);

function design(name: string, seed: string) {
  return {
    name,
    hypothesis: 'Inviting students to bring a friend raises the share who book a session.',
    primaryOutcome: 'booked',
    arms: [
      {
        key: 'A',
        name: 'Bring a friend',
        percent: 50,
        subject: 'Book a one-to-one at {library}, {firstName}',
        body: 'Hello {firstName},\n\nBook a session with a librarian: {bookingLink}\n\n{friendParagraph}',
        friendParagraph: 'You are welcome to bring a friend.',
      },
    ],
    holdoutPercent: 50,
    seed,
    sendFrom: '2027-03-01T09:00:00Z',
    sendUntil: '2027-03-01T17:00:00Z',
  };
}

const to = (mail: ParsedMail) => (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address ?? '';

async function admin() {
  return web.t.auth('admin', { email: 'outreach@uni.example' });
}

async function campaignFor(name: string, seed: string, people: string[]) {
  const headers = await admin();
  const created = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/campaigns',
    headers,
    payload: design(name, seed),
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as string;
  const csv = ['email,first_name', ...people.map((email) => `${email},${email.slice(0, 3).toUpperCase()}`)].join('\n');
  const cohort = await web.t.app.inject({
    method: 'PUT',
    url: `/api/v1/campaigns/${id}/cohort`,
    headers: { ...headers, 'content-type': 'text/csv' },
    payload: csv,
  });
  expect(cohort.statusCode, cohort.body).toBe(200);
  return { id, cohort: cohort.json().cohort };
}

async function bookAs(email: string, start: string, friend: boolean) {
  const booked = await web.t.app.inject({
    method: 'POST',
    url: '/api/v1/bookings',
    headers: await web.t.auth('student', { sub: `idp|${email}`, email }),
    payload: { librarianId: librarian.id, start, ...(friend ? { companions: [{ name: 'Pat Friend' }] } : {}) },
  });
  expect(booked.statusCode, booked.body).toBe(201);
  return booked.json().id as string;
}

describe('a campaign, sent and measured', () => {
  it('emails the arm, attributes bookings however made, and reports by assigned arm with intervals', async () => {
    const { id } = await campaignFor('Spring invitation', 'outcome-seed-1', PEOPLE);
    const sent = await web.t.app.inject({
      method: 'POST',
      url: `/api/v1/campaigns/${id}/send`,
      headers: await admin(),
    });
    expect(sent.statusCode, sent.body).toBe(200);
    const members = (
      await web.t.app.inject({ method: 'GET', url: `/api/v1/campaigns/${id}/cohort`, headers: await admin() })
    ).json().members as { email: string; arm: string }[];
    const inArm = members.filter((member) => member.arm === 'A').map((member) => member.email);
    const holdout = members.filter((member) => member.arm === 'holdout').map((member) => member.email);
    expect([inArm.length, holdout.length]).toEqual([4, 4]);
    const [viaLink, sameAddress, tooLate, bounced] = inArm as [string, string, string, string];

    // One email could not be delivered: its message is dead before the worker reaches it.
    const [bouncedMember] = await web.t.db
      .select({ notificationId: campaignMembers.notificationId })
      .from(campaignMembers)
      .where(eq(campaignMembers.email, bounced));
    await web.t.db
      .update(notifications)
      .set({ status: 'dead', lastError: '550 mailbox unavailable' })
      .where(eq(notifications.id, bouncedMember?.notificationId as string));
    web.t.clock.set('2027-03-01T09:00:00Z');
    await web.worker.runOnce();
    const invitations = (await web.sink.parsed()).filter((mail) =>
      (mail.subject ?? '').startsWith('Book a one-to-one'),
    );
    expect(invitations.map(to).sort()).toEqual([viaLink, sameAddress, tooLate].sort());
    const toLink = invitations.find((mail) => to(mail) === viaLink) as ParsedMail;
    expect(toLink.subject).toBe(`Book a one-to-one at Library appointments, ${viaLink.slice(0, 3).toUpperCase()}`);
    expect(toLink.text).toContain('You are welcome to bring a friend.');
    // The raw header lines, as a mail client reads them.
    const header = (name: string) =>
      toLink.headerLines
        .find((line) => line.key === name)
        ?.line.slice(name.length + 1)
        .trim() ?? '';
    const stopUrl = header('list-unsubscribe').replace(/^<|>$/g, '');
    expect(stopUrl).toMatch(new RegExp(`^${web.baseUrl}/invitations/stop/[\\w-]{43}$`));
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(toLink.html).not.toMatch(/<img/i);
    const link = /\/invitation\/([\w-]{43})/.exec(toLink.text ?? '')?.[0];
    expect(link).toBeDefined();

    // Through the link, signed in with a personal address; a friend comes along.
    const page = await signedInPage(browser, web.baseUrl, 'ann.personal@mail.example', 'Student');
    await page.goto(link as string);
    await page.getByRole('link', { name: 'Grace Hopper' }).click();
    await page.getByRole('radio', { name: /^Wednesday, 3 March 2027, 10:00 Greenwich Mean Time/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel("Friend's name").fill('Pat');
    await page.getByRole('group', { name: 'Fee status' }).getByLabel('International').check();
    await page.getByRole('group', { name: 'Level of study' }).getByLabel('Undergraduate').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Confirm booking' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Booking confirmed');
    await page.context().close();

    // By address: a session with a friend who came; a holdout member books too.
    const came = await bookAs(sameAddress, '2027-03-02T09:00:00Z', true);
    await bookAs(holdout[0] as string, '2027-03-04T09:00:00Z', false);
    web.t.clock.set('2027-03-02T10:05:00Z');
    const recorded = await web.t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${came}/attendance`,
      headers: await web.t.auth('librarian', { email: librarian.email }),
      payload: { student: 'attended', companion: true },
    });
    expect(recorded.statusCode, recorded.body).toBe(200);
    // After the 28-day window (sent at 08:00 on 1 March, so it closed at 08:00 on 29 March).
    web.t.clock.set('2027-03-29T08:30:00Z');
    await bookAs(tooLate, '2027-03-31T09:00:00Z', false);

    const results = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/campaigns/${id}/results`,
      headers: await web.t.auth('analyst'),
    });
    expect(results.statusCode, results.body).toBe(200);
    const body = results.json();
    expect(body.provisional).toBe(false);
    const [armA, held] = body.arms;
    expect(armA).toMatchObject({
      arm: 'A',
      assigned: 4,
      emailed: 3,
      bounced: 1,
      booked: { count: 2, rate: 0.5 },
      attended: { count: 1, rate: 0.25 },
      bookedWithFriend: { count: 2, rate: 0.5 },
      friendCame: { count: 1, rate: 0.25 },
    });
    expect(held).toMatchObject({ arm: 'holdout', assigned: 4, emailed: 0, bounced: 0, booked: { count: 1 } });
    // Wilson 95% by hand: 2 of 4 is 0.1500 to 0.8500; 1 of 4 is 0.0456 to 0.6994.
    expect(armA.booked.ci95[0]).toBeCloseTo(0.15, 4);
    expect(armA.booked.ci95[1]).toBeCloseTo(0.85, 4);
    expect(held.booked.ci95[0]).toBeCloseTo(0.0456, 4);
    expect(held.booked.ci95[1]).toBeCloseTo(0.6994, 4);
    // Newcombe (hybrid score) for 2/4 − 1/4 = 25 points: 25 − √(0.34996² + 0.44935²) = −31.96,
    // 25 + √(0.34996² + 0.20442²) = 65.53, in points to one decimal.
    expect(body.comparisons[0]).toMatchObject({
      stratum: null,
      arm: 'A',
      against: 'holdout',
      outcome: 'booked',
      differencePoints: 25,
      ci95Points: [-32, 65.5],
    });
    expect(body.comparisons[0].sentence).toBe(
      'Too few people to say: arm A has 4 and the holdout 4; at least 30 in each are needed before the difference means anything.',
    );
    const csv = await web.t.app.inject({
      method: 'GET',
      url: `/api/v1/campaigns/${id}/results?format=csv`,
      headers: await web.t.auth('analyst'),
    });
    expect(csv.body.split('\r\n')[1]).toMatch(/^,A,Bring a friend,4,3,1,2,0\.5,/);

    // The stop link: one click (RFC 8058) stops the next campaign's invitation to that address.
    web.t.clock.set('2027-04-01T08:00:00Z');
    const stopped = await web.t.app.inject({
      method: 'POST',
      url: new URL(stopUrl).pathname,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(stopped.statusCode).toBe(200);
    const next = await campaignFor('Summer invitation', 'outcome-seed-2', PEOPLE);
    expect(next.cohort).toMatchObject({ size: 7, optedOutLeftOut: 1 });
    // The request outlives the person's erasure: a later cohort naming the address still leaves it out.
    const erased = await web.t.app.inject({
      method: 'POST',
      url: '/api/v1/people/erase',
      headers: await admin(),
      payload: { email: viaLink },
    });
    expect(erased.statusCode, erased.body).toBe(200);
    const afterErasure = await campaignFor('Autumn invitation', 'outcome-seed-3', PEOPLE);
    expect(afterErasure.cohort).toMatchObject({ size: 7, optedOutLeftOut: 1 });
  });

  it('shows the stop page and its button, accessibly, and says so for an unknown link', async () => {
    const page = await browser.newPage({ baseURL: web.baseUrl });
    await page.goto(`/invitations/stop/${'x'.repeat(43)}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Stop invitations from the library');
    await expectAccessible(page, 'stop invitations');
    await page.getByRole('button', { name: 'Stop invitations' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('This link does not work');
    await expectAccessible(page, 'stop link unknown');
    await page.close();
  });
});
