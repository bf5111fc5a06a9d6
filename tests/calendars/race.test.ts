import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/client.js';
import { createSecretBox } from '../../src/modules/calendars/secrets.js';
import { createCalendarConnections } from '../../src/modules/calendars/service.js';
import { loadCatalogues } from '../../src/text/i18n.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { serveCalendar } from '../helpers/calendar-fixture.js';
import { onPostgres } from '../helpers/db.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { type Radicale, startRadicale } from '../helpers/radicale.js';

const KEY = 'calendar-key-for-tests-0123456789abcdef';
const WORKERS = 6;

// Several processes run the calendar worker: each connection is read, and each booking written,
// by one of them. Real races: each worker has its own connection pool to PostgreSQL.
describe.skipIf(!onPostgres)('calendar workers in several processes (PostgreSQL)', () => {
  let t: TestContext;
  let radicale: Radicale;
  const pools: ReturnType<typeof openPostgres>[] = [];

  beforeAll(async () => {
    radicale = await startRadicale({ ada: 'app-password' });
    t = await createTestApp({
      now: '2027-02-28T12:00:00Z',
      env: { CALENDAR_SECRET_KEY: KEY, CALENDAR_ALLOW_HOSTS: '127.0.0.1' },
    });
  });
  afterAll(async () => {
    for (const pool of pools) await pool.close();
    await t?.close();
    await radicale?.close();
  });

  function workers() {
    return Array.from({ length: WORKERS }, () => {
      const pool = openPostgres(t.database.url as string, { max: 2 });
      pools.push(pool);
      return createCalendarConnections({
        db: pool.db,
        clock: t.clock,
        config: t.config,
        secrets: createSecretBox(KEY),
        translate: loadCatalogues().translator('en'),
      });
    });
  }

  it('reads a due calendar once, and writes a booking once, however many workers race for it', async () => {
    const feed = await serveCalendar('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n');
    try {
      const grace = await createLibrarianWithWeek(t, { email: 'grace@library.uni.example' });
      const headers = await t.auth('librarian', { email: 'grace@library.uni.example' });
      const created = await t.app.inject({
        method: 'POST',
        url: `/api/v1/librarians/${grace.id}/calendars`,
        headers,
        payload: { label: 'Feed', url: feed.url() },
      });
      expect(created.statusCode, created.body).toBe(201);
      const before = feed.state.requests.length;
      t.clock.set('2027-02-28T12:30:00Z');
      const racers = workers();
      const reads = await Promise.all(racers.map((calendars) => calendars.syncDue()));
      expect(reads.reduce((sum, count) => sum + count, 0)).toBe(1);
      expect(feed.state.requests.length - before).toBe(1);
    } finally {
      await feed.close();
    }

    const ada = await createLibrarianWithWeek(t, { email: 'ada@library.uni.example' });
    const sessions = await radicale.makeCalendar('ada', 'sessions', 'Sessions');
    const adaHeaders = await t.auth('librarian', { email: 'ada@library.uni.example' });
    const account = await t.app.inject({
      method: 'POST',
      url: `/api/v1/librarians/${ada.id}/calendars`,
      headers: adaHeaders,
      payload: {
        kind: 'caldav',
        label: 'Radicale',
        serverUrl: radicale.url,
        username: 'ada',
        password: 'app-password',
      },
    });
    expect(account.statusCode, account.body).toBe(201);
    const chosen = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/librarians/${ada.id}/calendars/${account.json().id}`,
      headers: adaHeaders,
      payload: { bookingsCalendar: sessions },
    });
    expect(chosen.statusCode, chosen.body).toBe(200);
    const booked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: await t.auth('student', { email: 'sam@student.uni.example' }),
      payload: { librarianId: ada.id, start: '2027-03-02T10:00:00Z' },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const writes = await Promise.all(workers().map((calendars) => calendars.writeDue()));
    expect(writes.reduce((sum, done) => sum + done.written, 0)).toBe(1);
    expect(writes.reduce((sum, done) => sum + done.failed, 0)).toBe(0);
    expect((await radicale.events(sessions)).map((event) => event.href)).toEqual([
      `/ada/sessions/${booked.json().id}.ics`,
    ]);
  });
});
