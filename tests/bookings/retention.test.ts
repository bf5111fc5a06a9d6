import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { students } from '../../src/db/schema.js';
import { anonymiseBefore } from '../../src/modules/bookings/retention.js';
import { createTestApp, type TestContext } from '../helpers/app.js';

// Hardening item P: one clock. Student rows take their times from the injected clock, so
// retention decides by the same clock as everything else, whatever the real date.

let t: TestContext;

beforeAll(async () => {
  // Years before the real date: with database now() defaults the student would look recent.
  t = await createTestApp({ now: '2020-01-10T12:00:00Z' });
});
afterAll(() => t.close());

describe('P: retention by the injected clock', () => {
  it('P: anonymises a student last seen before the cutoff, and keeps one seen after it', async () => {
    const put = async (who: string) =>
      t.app.inject({
        method: 'PUT',
        url: '/api/v1/me',
        headers: await t.auth('student', { sub: `idp|${who}`, email: `${who}@student.uni.example`, name: who }),
        payload: { categories: { fee_status: 'home' } },
      });
    expect((await put('old')).statusCode).toBe(200);
    t.clock.set('2022-06-01T12:00:00Z');
    expect((await put('recent')).statusCode).toBe(200);

    await anonymiseBefore(t.db, new Date('2022-02-01T00:00:00Z'));
    const [old] = await t.db.select().from(students).where(eq(students.idpSubject, 'idp|old'));
    const [recent] = await t.db.select().from(students).where(eq(students.idpSubject, 'idp|recent'));
    expect(old?.updatedAt.toISOString()).toBe('2020-01-10T12:00:00.000Z');
    expect(old).toMatchObject({ name: null, email: null });
    expect(recent).toMatchObject({ name: 'recent', email: 'recent@student.uni.example' });
  });
});
