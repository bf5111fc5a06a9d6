import { stopServer } from './bookings.js';
import { benchDatabase } from './database.js';
import { benchServerArgs, freePort, startLiaison, token } from './scale/cluster.js';
import { type Measurement, summarise } from './stats.js';

const DAY = 24 * 60 * 60_000;

/**
 * The time from a cancellation's answer to the freed time being offered to the student waiting
 * for it (the offer visible in their GET /waitlist), through one server process with its workers,
 * PostgreSQL; 20 rounds, each a new librarian, booking and waiting student. Target: < 1 s.
 */
export async function benchWaitlist(options: { adminUrl: string; rounds?: number }): Promise<Measurement> {
  const rounds = options.rounds ?? 20;
  const database = await benchDatabase(options.adminUrl);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startLiaison(
    port,
    {
      DATABASE_URL: database.url,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '100000',
      BOOKING_LIMIT_PER_STUDENT: '100',
    },
    { nodeArgs: benchServerArgs(), compiled: true },
  );
  try {
    const admin = await token(['admin']);
    const json = { 'content-type': 'application/json' };
    const monday = new Date();
    monday.setUTCDate(monday.getUTCDate() + ((8 - monday.getUTCDay()) % 7 || 7) + 7);
    monday.setUTCHours(0, 0, 0, 0);
    const day = (offset: number) => new Date(monday.getTime() + offset * DAY).toISOString().slice(0, 10);
    const samples: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const created = await fetch(`${base}/api/v1/librarians`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, ...json },
        body: JSON.stringify({ email: `wait-${round}@uni.ac.uk`, name: `Wait ${round}` }),
      });
      const librarianId = ((await created.json()) as { id: string }).id;
      await fetch(`${base}/api/v1/librarians/${librarianId}/availability`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin}`, ...json },
        body: JSON.stringify({
          timeZone: 'Europe/London',
          slotMinutes: 60,
          minNoticeMinutes: 60,
          horizonDays: 60,
          weekly: [{ weekday: 1, start: '10:00', end: '11:00' }],
        }),
      });
      const holder = `Bearer ${await token(['student'], { sub: `bench|holder|${round}`, email: `holder-${round}@uni.ac.uk` })}`;
      const waiter = `Bearer ${await token(['student'], { sub: `bench|waiter|${round}`, email: `waiter-${round}@uni.ac.uk` })}`;
      const booked = await fetch(`${base}/api/v1/bookings`, {
        method: 'POST',
        headers: { authorization: holder, ...json },
        body: JSON.stringify({ librarianId, start: `${day(0)}T10:00:00Z` }),
      });
      const bookingId = ((await booked.json()) as { id: string }).id;
      await fetch(`${base}/api/v1/waitlist`, {
        method: 'POST',
        headers: { authorization: waiter, ...json },
        body: JSON.stringify({ librarianId, from: day(0), to: day(0) }),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await fetch(`${base}/api/v1/bookings/${bookingId}/cancel`, {
        method: 'POST',
        headers: { authorization: holder, ...json },
        body: '{}',
      });
      const cancelledAt = performance.now();
      for (;;) {
        const answer = await fetch(`${base}/api/v1/waitlist`, { headers: { authorization: waiter } });
        const entries = (await answer.json()) as { offer: unknown }[];
        if (entries[0]?.offer) break;
        if (performance.now() - cancelledAt > 10_000) throw new Error('no offer within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      samples.push(performance.now() - cancelledAt);
    }
    return {
      name: `waitlist: from a cancellation to the offer, ${rounds} rounds, one process, PostgreSQL`,
      ...summarise(samples),
      target: '< 1 s',
    };
  } finally {
    await stopServer(server);
    await database.drop();
  }
}
