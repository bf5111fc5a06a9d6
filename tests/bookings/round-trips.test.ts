import type { Response } from 'light-my-request';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';
import { countStatements, type StatementCount } from '../helpers/statements.js';

/**
 * Round-trip budgets (issue 15): each statement is a trip to the database, so these operations
 * may not quietly grow. Counted off the wire protocol (tests/helpers/statements.ts) on
 * PostgreSQL, and on PGlite from the messages given to its engine.
 */
const BUDGET = {
  /** Statements between BEGIN and COMMIT of a booking, reschedule, cancel or companion change. */
  inTransaction: 6,
  /** Statements a booking request sends in all, BEGIN and COMMIT included. */
  change: 8,
  /** Queries of one slot listing. */
  slots: 2,
};

let t: TestContext;
let librarianId: string;

beforeEach(async () => {
  t = await createTestApp({ now: '2027-03-01T08:00:00Z', countStatements: true });
  ({ id: librarianId } = await createLibrarianWithWeek(t, { maxCompanions: 2 }));
  // Webhook subscribers make each change write deliveries too: count with one there.
  await t.app.inject({
    method: 'POST',
    url: '/api/v1/webhooks',
    headers: await t.auth('admin'),
    payload: { url: 'https://hooks.example.org/liaison', events: ['booking.created', 'booking.cancelled'] },
  });
});
afterEach(() => t.close());

/** Runs one request and counts what it sent to the database (nothing else runs meanwhile). */
async function counted(run: () => Promise<Response>, status: number) {
  t.statements.take();
  const response = await run();
  const count = countStatements(t.statements.take());
  expect(response.statusCode, response.body).toBe(status);
  return { response, count };
}

function withinBudget(count: StatementCount) {
  expect(count.transactions, count.statements.join('\n')).toBe(1);
  expect(count.inTransaction, count.statements.join('\n')).toBeLessThanOrEqual(BUDGET.inTransaction);
  expect(count.total, count.statements.join('\n')).toBeLessThanOrEqual(BUDGET.change);
}

async function book(student: { authorization: string }, start: string, extra: Record<string, unknown> = {}) {
  return counted(
    () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/bookings',
        headers: student,
        payload: {
          librarianId,
          start,
          companion: { name: 'Wei Zhang', email: 'wei@example.ac.uk' },
          topic: 'Finding sources',
          ...extra,
        },
      }),
    201,
  );
}

describe('round trips per operation', () => {
  it('a booking with a companion, first time and again, stays within budget', async () => {
    const student = await t.auth('student', { email: 'amara@example.ac.uk', name: 'Amara Okafor' });
    const first = await book(student, '2027-03-02T09:00:00Z');
    withinBudget(first.count);
    const second = await book(student, '2027-03-03T09:00:00Z');
    withinBudget(second.count);
    // Each statement is its own round trip: BEGIN, lock the student, read the decision's inputs,
    // write everything together, COMMIT.
    expect(second.count.roundTrips, second.count.statements.join('\n')).toBe(5);
    expect(second.count.inTransaction, second.count.statements.join('\n')).toBe(3);
  });

  it('a booking with an Idempotency-Key, and its replay, stay within budget', async () => {
    const student = await t.auth('student');
    const headers = { ...student, 'idempotency-key': 'round-trip-key-1' };
    const first = await book(headers, '2027-03-02T09:00:00Z');
    withinBudget(first.count);
    const replay = await book(headers, '2027-03-02T09:00:00Z');
    expect(replay.response.headers['idempotent-replayed']).toBe('true');
    expect(replay.count.transactions).toBe(1);
    expect(replay.count.total).toBeLessThanOrEqual(BUDGET.change);
  });

  it('reschedule, cancel and every companion change stay within budget', async () => {
    const student = await t.auth('student');
    const { response } = await book(student, '2027-03-02T09:00:00Z');
    const booking = response.json() as { id: string; links: { companions: { manage: string }[] } };
    const companionToken = new URL(booking.links.companions[0]?.manage as string).searchParams.get('token');

    const operations: [string, () => Promise<Response>, number][] = [
      [
        'reschedule',
        () =>
          t.app.inject({
            method: 'POST',
            url: `/api/v1/bookings/${booking.id}/reschedule`,
            headers: student,
            payload: { start: '2027-03-04T10:00:00Z' },
          }),
        200,
      ],
      [
        'add a companion',
        () =>
          t.app.inject({
            method: 'PUT',
            url: `/api/v1/bookings/${booking.id}/companion`,
            headers: student,
            payload: { name: 'Omar Haddad', email: 'omar@example.ac.uk' },
          }),
        200,
      ],
      [
        'a companion declines',
        () =>
          t.app.inject({
            method: 'POST',
            url: `/api/v1/bookings/${booking.id}/companion/decline?token=${companionToken}`,
          }),
        200,
      ],
      [
        'remove companions',
        () => t.app.inject({ method: 'DELETE', url: `/api/v1/bookings/${booking.id}/companion`, headers: student }),
        200,
      ],
      [
        'cancel',
        () =>
          t.app.inject({
            method: 'POST',
            url: `/api/v1/bookings/${booking.id}/cancel`,
            headers: student,
            payload: { reason: 'Clash with a lecture' },
          }),
        200,
      ],
    ];
    for (const [name, run, status] of operations) {
      const { count } = await counted(run, status);
      expect
        .soft(count.inTransaction, `${name}:\n${count.statements.join('\n')}`)
        .toBeLessThanOrEqual(BUDGET.inTransaction);
      expect.soft(count.total, `${name}:\n${count.statements.join('\n')}`).toBeLessThanOrEqual(BUDGET.change);
    }
  });

  it('a two-month slot listing takes at most two queries', async () => {
    const student = await t.auth('student');
    await book(student, '2027-03-02T09:00:00Z');
    const { response, count } = await counted(
      () =>
        t.app.inject({
          method: 'GET',
          url: `/api/v1/librarians/${librarianId}/slots?from=2027-03-01&to=2027-04-30`,
        }),
      200,
    );
    // 1 March 2027 is a Monday: 23 weekdays in March and 22 in April, three 60-minute slots each
    // (09:00–12:00 London), 45 × 3 = 135, less the one booked.
    expect(response.json().slots.length).toBe(134);
    expect(count.total, count.statements.join('\n')).toBeLessThanOrEqual(BUDGET.slots);
  });

  it('the counter sees every statement: a known transaction counts as written', async () => {
    // The counter itself, against a hand count: BEGIN, two statements, COMMIT.
    t.statements.take();
    await t.db.transaction(async (tx) => {
      await tx.execute('select 1');
      await tx.execute('select 2');
    });
    await t.db.execute('select 3');
    const count = countStatements(t.statements.take());
    expect(count.statements.filter((sql) => /^select \d$/.test(sql))).toEqual(['select 1', 'select 2', 'select 3']);
  });
});
