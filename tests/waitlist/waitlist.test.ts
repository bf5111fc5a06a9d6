import { eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitlistEntries, waitlistOffers } from '../../src/db/schema.js';
import { onPostgres } from '../helpers/db.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { createTestAppWithMail, type MailContext } from '../helpers/mail.js';

// Monday 1 March 2027, 08:00 in London. Ada offers Wednesdays 10:00–12:00 (two hour-long sessions).
const NOW = '2027-03-01T08:00:00Z';

async function setUp(mail: MailContext, email: string, name = 'Ada Lovelace') {
  const { t } = mail;
  const ada = await createLibrarianWithWeek(t, {
    email,
    name,
    weekly: [{ weekday: 3, start: '10:00', end: '12:00' }],
    minNoticeMinutes: 60,
  });
  return ada;
}

function student(who: string) {
  return { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who };
}

describe('the waitlist', () => {
  let mail: MailContext;
  beforeAll(async () => {
    mail = await createTestAppWithMail({ now: NOW, env: { WAITLIST_HOLD_MINUTES: '30' } });
  });
  afterAll(async () => {
    await mail?.close();
  });

  const post = async (url: string, who: string | null, payload?: unknown) =>
    mail.t.app.inject({
      method: 'POST',
      url,
      headers: who ? await mail.t.auth('student', student(who)) : {},
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });

  /** The offers emailed since the last call: to whom, the subject, and the link's token. */
  async function offersSent() {
    await mail.worker.runOnce();
    const parsed = await Promise.all(mail.sink.received.map((raw) => simpleParser(raw)));
    mail.sink.received.length = 0;
    return parsed
      .filter((message) => /is free/.test(message.subject ?? ''))
      .map((message) => ({
        to: message.to && !Array.isArray(message.to) ? message.to.value[0]?.address : '',
        subject: message.subject,
        token: /waitlist\/offer\?token=([\w-]+)/.exec(message.text ?? '')?.[1] as string,
      }));
  }

  /** The offers made for one librarian's times, as their statuses (other tests' entries wait here too). */
  const offersFor = async (librarianId: string) =>
    (await mail.t.db.select().from(waitlistOffers).where(eq(waitlistOffers.librarianId, librarianId)))
      .map((offer) => offer.status)
      .sort();

  it('offers a cancelled time to the oldest matching student, holds it, and passes it on when the hold runs out', async () => {
    const { t } = mail;
    const ada = await setUp(mail, 'ada@library.uni.example');
    const first = await post('/api/v1/bookings', 'booker1', { librarianId: ada.id, start: '2027-03-03T10:00:00Z' });
    expect(first.statusCode, first.body).toBe(201);
    expect(
      (await post('/api/v1/bookings', 'booker2', { librarianId: ada.id, start: '2027-03-03T11:00:00Z' })).statusCode,
    ).toBe(201);
    await mail.clearMail();
    const join = (who: string, extra: Record<string, unknown> = {}) =>
      post('/api/v1/waitlist', who, { librarianId: ada.id, from: '2027-03-01', to: '2027-03-05', ...extra });
    expect((await join('wei', { companion: { name: 'Amira Haddad' } })).statusCode).toBe(201);
    t.clock.set('2027-03-01T08:01:00Z');
    expect((await join('sam')).statusCode).toBe(201);
    t.clock.set('2027-03-01T08:02:00Z');
    // Mondays only, and after 11:30 only: neither suits a Wednesday 10:00.
    expect((await join('kim', { weekdays: [1] })).statusCode).toBe(201);
    expect((await join('lee', { earliest: '11:30' })).statusCode).toBe(201);

    // Nothing free that week (Ada's only times, Wednesday 3 March, are booked): nothing offered.
    const mine = async () =>
      (
        await t.app.inject({ method: 'GET', url: '/api/v1/waitlist', headers: await t.auth('student', student('wei')) })
      ).json();
    await runMatch(mail);
    expect(await offersFor(ada.id)).toEqual([]);

    // The 10:00 session is cancelled: Wei, who waited longest, is offered it, and only Wei.
    t.clock.set('2027-03-01T09:00:00Z');
    expect((await post(`/api/v1/bookings/${first.json().id}/cancel`, 'booker1', {})).statusCode).toBe(200);
    await runMatch(mail);
    expect(await offersFor(ada.id)).toEqual(['open']);
    const sent = await offersSent();
    const toWei = sent.find((offer) => offer.to === 'wei@student.uni.example');
    expect(sent.filter((offer) => /^(sam|kim|lee)@/.test(offer.to ?? ''))).toEqual([]);
    expect(toWei).toMatchObject({
      to: 'wei@student.uni.example',
      subject: 'A time with Ada Lovelace is free: Wednesday, 3 March 2027, 10:00–11:00 Greenwich Mean Time',
    });
    expect((await mine())[0].offer).toMatchObject({
      start: '2027-03-03T10:00:00.000Z',
      expires: '2027-03-01T09:30:00.000Z',
    });
    // Held: nobody else is offered or can book it.
    const slots = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${ada.id}/slots?from=2027-03-03&to=2027-03-03`,
    });
    expect(slots.json().slots).toEqual([]);
    const sneaky = await post('/api/v1/bookings', 'sneaky', { librarianId: ada.id, start: '2027-03-03T10:00:00Z' });
    expect(sneaky.statusCode).toBe(409);

    // The hold runs out: the time passes to Sam, and Wei's link now says so.
    t.clock.set('2027-03-01T09:31:00Z');
    await runMatch(mail);
    expect(await offersFor(ada.id)).toEqual(['expired', 'open']);
    const toSam = (await offersSent()).find((offer) => offer.to === 'sam@student.uni.example');
    expect(toSam).toBeDefined();
    const late = await post(`/api/v1/waitlist/offer/accept?token=${toWei?.token}`, null);
    expect(late.statusCode, late.body).toBe(409);
    expect(late.json().code).toBe('offer_gone');

    // Sam takes it in one click.
    const taken = await post(`/api/v1/waitlist/offer/accept?token=${toSam?.token}`, null);
    expect(taken.statusCode, taken.body).toBe(201);
    expect(taken.json()).toMatchObject({ librarian: { name: 'Ada Lovelace' }, startUtc: '2027-03-03T10:00:00.000Z' });
    const entries = await t.db
      .select()
      .from(waitlistEntries)
      .where(eq(waitlistEntries.pool, `librarian:${ada.id}`));
    expect(entries.map((entry) => entry.status).sort()).toEqual(['booked', 'waiting', 'waiting', 'waiting']);
    expect(await offersFor(ada.id)).toEqual(['accepted', 'expired']);
    // Nothing more is free: nothing more is offered.
    await runMatch(mail);
    expect(await offersFor(ada.id)).toEqual(['accepted', 'expired']);
  });

  it('offers a time starting within 2 hours to everyone matching at once; the first to take it gets it', async () => {
    const { t } = mail;
    const grace = await setUp(mail, 'grace@library.uni.example', 'Grace Hopper');
    t.clock.set('2027-03-03T08:00:00Z');
    try {
      const held = await post('/api/v1/bookings', 'holder', { librarianId: grace.id, start: '2027-03-03T10:00:00Z' });
      expect(held.statusCode, held.body).toBe(201);
      for (const who of ['ana', 'ben']) {
        const joined = await post('/api/v1/waitlist', who, {
          librarianId: grace.id,
          from: '2027-03-03',
          to: '2027-03-03',
        });
        expect(joined.statusCode, joined.body).toBe(201);
      }
      await mail.clearMail();
      expect((await post(`/api/v1/bookings/${held.json().id}/cancel`, 'holder', {})).statusCode).toBe(200);
      await runMatch(mail);
      expect(await offersFor(grace.id)).toEqual(['open', 'open']);
      const sent = (await offersSent()).filter((offer) => /^(ana|ben)@/.test(offer.to ?? ''));
      expect(sent.map((offer) => offer.to).sort()).toEqual(['ana@student.uni.example', 'ben@student.uni.example']);
      const first = await post(`/api/v1/waitlist/offer/accept?token=${sent[0]?.token}`, null);
      expect(first.statusCode, first.body).toBe(201);
      const second = await post(`/api/v1/waitlist/offer/accept?token=${sent[1]?.token}`, null);
      expect(second.statusCode, second.body).toBe(409);
      expect(second.json().code).toBe('offer_gone');
    } finally {
      t.clock.set(NOW);
    }
  });

  it('keeps a student to 3 entries waiting, and to their own', async () => {
    const { t } = mail;
    const lin = await setUp(mail, 'lin@library.uni.example', 'Lin Wu');
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const joined = await post('/api/v1/waitlist', 'busy', {
        librarianId: lin.id,
        from: '2027-03-01',
        to: '2027-03-20',
      });
      expect(joined.statusCode, joined.body).toBe(201);
      ids.push(joined.json().id);
    }
    const fourth = await post('/api/v1/waitlist', 'busy', {
      librarianId: lin.id,
      from: '2027-03-01',
      to: '2027-03-20',
    });
    expect(fourth.statusCode).toBe(422);
    expect(fourth.json().code).toBe('waitlist_limit');
    const notMine = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/waitlist/${ids[0]}`,
      headers: await t.auth('student', student('other')),
    });
    expect(notMine.statusCode).toBe(404);
    const left = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/waitlist/${ids[0]}`,
      headers: await t.auth('student', student('busy')),
    });
    expect(left.statusCode).toBe(204);
    const backwards = await post('/api/v1/waitlist', 'busy', {
      librarianId: lin.id,
      from: '2027-03-10',
      to: '2027-03-02',
    });
    expect(backwards.json().errors).toEqual([{ pointer: '/to', in: 'body', message: 'must be on or after from' }]);
  });
});

/** One round of matching, as the worker runs it. */
async function runMatch(mail: MailContext) {
  const { createServices } = await import('../../src/services.js');
  return createServices({ db: mail.t.db, clock: mail.t.clock, config: mail.t.config }).waitlist.match();
}

describe.skipIf(!onPostgres)('the waitlist under real races (PostgreSQL)', () => {
  let mail: MailContext;
  beforeAll(async () => {
    mail = await createTestAppWithMail({
      now: '2027-03-03T08:00:00Z',
      env: { RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '1000' },
    });
  });
  afterAll(async () => {
    await mail?.close();
  });

  it('gives a broadcast time to exactly one of 10 students accepting it at once', async () => {
    const { t } = mail;
    const ada = await setUp(mail, 'ada@library.uni.example');
    const holder = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', student('holder')),
      payload: { librarianId: ada.id, start: '2027-03-03T10:00:00Z' },
    });
    expect(holder.statusCode, holder.body).toBe(201);
    for (let n = 0; n < 10; n++) {
      const joined = await t.app.inject({
        method: 'POST',
        url: '/api/v1/waitlist',
        headers: await t.auth('student', student(`racer${n}`)),
        payload: { librarianId: ada.id, from: '2027-03-03', to: '2027-03-03' },
      });
      expect(joined.statusCode, joined.body).toBe(201);
    }
    await mail.clearMail();
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${holder.json().id}/cancel`,
      headers: await t.auth('student', student('holder')),
      payload: {},
    });
    expect(cancelled.statusCode).toBe(200);
    expect((await runMatch(mail)).offered).toBe(10);
    await mail.worker.runOnce();
    const parsed = await Promise.all(mail.sink.received.map((raw) => simpleParser(raw)));
    const tokens = parsed
      .map((message) => /waitlist\/offer\?token=([\w-]+)/.exec(message.text ?? '')?.[1])
      .filter((token): token is string => Boolean(token));
    expect(tokens).toHaveLength(10);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as { port: number };
    const statuses = await Promise.all(
      tokens.map(async (token) => {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/waitlist/offer/accept?token=${token}`, {
          method: 'POST',
        });
        return response.status;
      }),
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(9);
  });
});

describe('the waitlist in the figures', () => {
  let mail: MailContext;
  beforeAll(async () => {
    mail = await createTestAppWithMail({ now: NOW });
  });
  afterAll(async () => {
    await mail?.close();
  });

  it('counts who waited for a subject by fee status, who was offered a time, who took one and which offers ran out', async () => {
    const { t } = mail;
    const admin = await t.auth('admin');
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/librarians',
      headers: admin,
      payload: { email: 'law@library.uni.example', name: 'Lara Law', subjects: ['Law'] },
    });
    const lawId = created.json().id as string;
    await t.app.inject({
      method: 'PUT',
      url: `/api/v1/librarians/${lawId}/availability`,
      headers: admin,
      payload: {
        timeZone: 'Europe/London',
        minNoticeMinutes: 60,
        weekly: [{ weekday: 3, start: '10:00', end: '11:00' }],
      },
    });
    const as = async (who: string, fee: string) => {
      const headers = await t.auth('student', student(who));
      await t.app.inject({ method: 'PUT', url: '/api/v1/me', headers, payload: { categories: { fee_status: fee } } });
      return headers;
    };
    const holder = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await as('holder', 'home'),
      payload: { librarianId: lawId, start: '2027-03-03T10:00:00Z' },
    });
    expect(holder.statusCode, holder.body).toBe(201);
    for (const [who, fee, minute] of [
      ['intl1', 'international', '01'],
      ['intl2', 'international', '02'],
      ['home1', 'home', '03'],
    ] as const) {
      t.clock.set(`2027-03-01T08:${minute}:00Z`);
      const joined = await t.app.inject({
        method: 'POST',
        url: '/api/v1/waitlist',
        headers: await as(who, fee),
        payload: {
          subject: 'law',
          from: '2027-03-01',
          to: '2027-03-05',
          ...(who === 'home1' ? { weekdays: [1] } : {}),
        },
      });
      expect(joined.statusCode, joined.body).toBe(201);
    }
    t.clock.set('2027-03-01T09:00:00Z');
    await t.app.inject({
      method: 'POST',
      url: `/api/v1/bookings/${holder.json().id}/cancel`,
      headers: await t.auth('student', student('holder')),
      payload: {},
    });
    expect((await runMatch(mail)).offered).toBe(1);
    t.clock.set('2027-03-01T09:31:00Z');
    expect(await runMatch(mail)).toEqual({ offered: 1, expired: 1 });
    await mail.worker.runOnce();
    const parsed = await Promise.all(mail.sink.received.map((raw) => simpleParser(raw)));
    const toIntl2 = parsed.find(
      (message) => message.to && !Array.isArray(message.to) && message.to.text.includes('intl2'),
    );
    const token = /waitlist\/offer\?token=([\w-]+)/.exec(toIntl2?.text ?? '')?.[1];
    const taken = await t.app.inject({ method: 'POST', url: `/api/v1/waitlist/offer/accept?token=${token}` });
    expect(taken.statusCode, taken.body).toBe(201);

    const figures = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/waitlist?from=2027-03-01&to=2027-03-31&groupBy=fee_status',
      headers: await t.auth('analyst'),
    });
    expect(figures.statusCode, figures.body).toBe(200);
    // Worked by hand: two international students and one home student joined; both international
    // students were offered the time (the first let it run out), the second took it.
    expect(figures.json()).toEqual([
      {
        month: '2027-03',
        pool: 'subject:law',
        name: 'Law',
        group: 'home',
        joined: 1,
        offered: 0,
        accepted: 0,
        expiredOffers: 0,
      },
      {
        month: '2027-03',
        pool: 'subject:law',
        name: 'Law',
        group: 'international',
        joined: 2,
        offered: 2,
        accepted: 1,
        expiredOffers: 1,
      },
    ]);
    // For sharing, HESA's rounding, by hand: not grouped, 3 joined (to 5), 2 offered, 1 took a
    // time and 1 offer ran out (each to 0).
    const shared = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/waitlist?from=2027-03-01&to=2027-03-31&disclosure=hesa',
      headers: await t.auth('analyst'),
    });
    expect(shared.json()).toEqual([
      {
        month: '2027-03',
        pool: 'subject:law',
        name: 'Law',
        group: null,
        joined: 5,
        offered: 0,
        accepted: 0,
        expiredOffers: 0,
      },
    ]);
    const refused = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/waitlist?from=2027-03-01&to=2027-03-31&groupBy=shoe_size',
      headers: await t.auth('analyst'),
    });
    expect(refused.json().errors).toEqual([
      { pointer: '/groupBy', in: 'query', message: 'is not a category dimension' },
    ]);
    const student403 = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake/waitlist?from=2027-03-01&to=2027-03-31',
      headers: await t.auth('student'),
    });
    expect(student403.statusCode).toBe(403);
  });
});
