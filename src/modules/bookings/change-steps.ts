import { randomUUID } from 'node:crypto';
import { eq, type SQL, sql } from 'drizzle-orm';
import { type Writes, writeTogether } from '../../db/batch.js';
import type { Executor } from '../../db/client.js';
import { insertRows } from '../../db/insert.js';
import { rowsOf } from '../../db/rows.js';
import { bookings, companions, type librarians, manageTokens, type students } from '../../db/schema.js';
import { Conflict, NotFound, RuleViolation } from '../../errors.js';
import { singleLine } from '../../http/single-line.js';
import { eventWrites, type FeedAction } from '../events/feed.js';
import { manageTokenRows } from '../links/tokens.js';
import {
  type BookingChangeKind,
  type OutboxHistory,
  type OutboxSettings,
  outboxHistorySql,
  outboxWrites,
} from '../notifications/outbox.js';
import { changedFields, type StaffActionName, staffActionInsert } from '../staff-record/service.js';
import {
  allow,
  type BookingAction,
  type Caller,
  type LinkToken,
  linkTokenSql,
  type Party,
  partyFrom,
} from './access.js';
import {
  type BookingRow,
  type CompanionRow,
  companionsOf,
  loadBookingViews,
  lockBookingWithPeople,
  toBookingView,
} from './repository.js';
import { SUPPORT_LIMIT } from './roles.js';
import type { Booking, CompanionInput } from './schemas.js';

/*
 * The steps of a change to a booking, shared by cancelling, moving, companions and attendance.
 * Every change runs in at most four statements: openForChange locks the booking with its people
 * (1), reads its companions (2) and the facts the change decides on (3); finishChange writes the
 * change, its feed event, webhook deliveries and emails together (4). Between them the change
 * works on rows in memory: bumped, bookingUpdate, newCompanions, viewOf.
 */

export type IssuedLinks = NonNullable<Booking['links']>;

type LibrarianRow = typeof librarians.$inferSelect;
type StudentRow = typeof students.$inferSelect;

/** Reads the facts a change decides on, given columns every change needs (link token, message history). */
export type FactReader = <X extends Record<string, SQL>>(
  columns: X,
) => Promise<{ [K in keyof X]: X[K] extends SQL<infer T> ? T : never }>;

/** A change under way: the booking locked, its people, the caller's standing, and what was read. */
export interface OpenChange {
  booking: BookingRow;
  librarian: LibrarianRow;
  student: StudentRow | null;
  companions: CompanionRow[];
  party: Party;
  history: OutboxHistory;
}

/** Plain columns, no table: one SELECT of scalar subqueries. */
export function selectColumns(executor: Executor): FactReader {
  return async (columns) => {
    const entries = Object.entries(columns);
    const rows = await rowsOf<never>(
      executor,
      sql`select ${sql.join(
        entries.map(([name, column]) => sql`${column} as ${sql.identifier(name)}`),
        sql`, `,
      )}`,
    );
    return rows[0] as never;
  };
}

/** A manage link: the booking's page (the API route accepts the same token). */
export function manageUrl(publicUrl: string, bookingId: string, token: string): string {
  return `${publicUrl}/bookings/${bookingId}?token=${token}`;
}

/** The booking as the caller may see it, read from the database. */
export async function view(executor: Executor, id: string, party?: Party): Promise<Booking> {
  const [booking] = await loadBookingViews(executor, [id], viewOptions(party));
  if (!booking) throw new NotFound(`Booking ${id}`);
  return booking;
}

/** A companion's link sees no contact details, and knows which companion it is. */
function viewOptions(party?: Party) {
  return {
    showContacts: party?.kind !== 'companion_link',
    ...(party?.kind === 'companion_link' ? { ownCompanionId: party.companionId } : {}),
  };
}

/** The booking as the API shows it, from the rows of an open change (before or after). */
export function viewOf(
  open: Pick<OpenChange, 'librarian' | 'student'>,
  booking: BookingRow,
  rows: CompanionRow[],
  party?: Party,
) {
  return toBookingView(booking, open.librarian, open.student, rows, viewOptions(party));
}

/**
 * New companions (ids chosen here) with a manage link each: the rows to insert, the rows as
 * they will read, and the links to return (on `publicUrl`).
 */
export function newCompanions(
  executor: Executor,
  publicUrl: string,
  booking: BookingRow,
  inputs: CompanionInput[],
  now: Date,
) {
  const rows: CompanionRow[] = inputs.map((input) => ({
    id: randomUUID(),
    bookingId: booking.id,
    name: singleLine(input.name),
    email: input.email ?? null,
    categories: input.categories ?? null,
    status: 'invited',
    role: input.role ?? 'friend',
    language: input.language ?? null,
    attended: null,
    confirmedAt: null,
    ordinal: 0,
    statusChangedAt: now,
    createdAt: now,
  }));
  const { tokens, rows: tokenRows } = manageTokenRows(
    rows.map((row) => ({
      bookingId: booking.id,
      endsAt: booking.endsAt,
      companionId: row.id,
      issuedVia: 'response',
      now,
    })),
  );
  const links: IssuedLinks['companions'] = rows.map((row, index) => ({
    companionId: row.id,
    manage: manageUrl(publicUrl, booking.id, tokens[index] as string),
  }));
  const writes: Writes =
    rows.length === 0
      ? {}
      : {
          // Companions added together keep the order given (ordinal is assigned row by row).
          new_companions: insertRows(
            executor,
            companions,
            rows.map(({ ordinal: _ordinal, ...row }) => row),
          ),
          new_companion_links: insertRows(executor, manageTokens, tokenRows),
        };
  return { rows, links, writes };
}

/** The refusal when a booking would have more companions than its librarian takes. */
export function tooManyCompanions(max: number): RuleViolation {
  return new RuleViolation(
    'too_many_companions',
    max === 0
      ? `This librarian does not take friends; a session may have up to ${SUPPORT_LIMIT} support workers or interpreters (role support).`
      : `This librarian allows at most ${max} ${max === 1 ? 'friend' : 'friends'}, and up to ${SUPPORT_LIMIT} support workers or interpreters (role support).`,
    [{ pointer: '/companion', in: 'body', message: `at most ${max} friends and ${SUPPORT_LIMIT} support` }],
  );
}

/**
 * Locks the booking and reads what the change needs; checks the caller may act and that the
 * session is still ahead (for a companion declining, nothing more; for attendance, that it is
 * not cancelled and has started). `read` runs the third statement with
 * the columns given plus any the change adds (slots for a move, categories for a companion).
 */
export async function openForChange<F extends Record<string, unknown>>(
  tx: Executor,
  id: string,
  caller: Caller,
  action: Extract<BookingAction, 'change' | 'companion' | 'decline' | 'attendance'>,
  now: Date,
  read: (
    columns: { token: SQL<LinkToken | null>; history: SQL<OutboxHistory> },
    booking: BookingRow,
  ) => Promise<F & { token: LinkToken | null; history: OutboxHistory }>,
): Promise<OpenChange & { facts: F }> {
  const locked = await lockBookingWithPeople(tx, id);
  if (!locked?.librarian) throw new NotFound(`Booking ${id}`);
  const companionRows = await companionsOf(tx, [id]);
  const facts = await read(
    {
      token: caller.user || !caller.manageToken ? sql`null::jsonb` : linkTokenSql(id, caller.manageToken, now),
      history: outboxHistorySql(id, now),
    },
    locked.booking,
  );
  const booking = locked.booking;
  const party = allow(
    partyFrom(booking, caller, { studentSubject: locked.student?.idpSubject ?? null, token: facts.token }),
    id,
    action,
  );
  if (action === 'attendance') {
    if (booking.status === 'cancelled') throw new Conflict('booking_cancelled', 'This booking is cancelled.');
    if (booking.startsAt > now) {
      throw new RuleViolation('session_not_started', 'Attendance can be recorded once the session has started.');
    }
  } else if (action !== 'decline') {
    if (booking.source !== 'booked') throw new RuleViolation('not_a_booking', 'Recorded sessions cannot be changed.');
    if (booking.status === 'cancelled') throw new Conflict('booking_cancelled', 'This booking is cancelled.');
    if (booking.startsAt <= now) {
      throw new RuleViolation('session_started', 'The session has started; it can no longer be changed.');
    }
  }
  return {
    booking,
    librarian: locked.librarian,
    student: locked.student,
    companions: companionRows,
    party,
    history: facts.history,
    facts,
  };
}

/**
 * The end of every change, in one statement: the change's own writes, its feed event (with
 * webhook deliveries) and the emails it causes. The booking as it now is comes from what was
 * written, not read back.
 */
export async function finishChange(
  tx: Executor,
  outbox: OutboxSettings,
  open: OpenChange,
  change: {
    action: FeedAction;
    before: Booking;
    now: Date;
    /** The rows as the change leaves them. */
    booking: BookingRow;
    companions: CompanionRow[];
    writes: Writes;
    notify?: {
      kind: BookingChangeKind;
      companionIds?: string[];
    };
  },
): Promise<Booking> {
  const after = viewOf(open, change.booking, change.companions, open.party);
  const staffAction = STAFF_ACTION_OF[change.action];
  const previous =
    change.notify?.kind === 'booking_rescheduled'
      ? { startMs: Date.parse(change.before.startUtc), endMs: Date.parse(change.before.endUtc) }
      : undefined;
  await writeTogether(tx, {
    ...change.writes,
    ...eventWrites(tx, {
      bookingId: change.booking.id,
      actor: open.party.label,
      action: change.action,
      before: change.before,
      after,
      at: change.now,
    }),
    // A librarian's or an admin's change to a booking goes in the staff record too, in this statement.
    staff_action:
      staffAction && 'staff' in open.party
        ? staffActionInsert(tx, change.now, {
            actor: open.party.staff,
            action: staffAction,
            subject: change.booking.id,
            ...staffRecordValues(change.before, after),
          })
        : undefined,
    ...(change.notify
      ? outboxWrites(
          tx,
          outbox,
          { ...change.notify, now: change.now, ...(previous ? { previous } : {}) },
          {
            booking: change.booking,
            librarian: open.librarian,
            student: open.student,
            companions: change.companions,
          },
          open.history,
        )
      : {}),
  });
  return after;
}

/** The booking changes a member of staff makes that the staff record keeps. */
const STAFF_ACTION_OF: Partial<Record<FeedAction, StaffActionName>> = {
  cancelled: 'booking.cancelled',
  rescheduled: 'booking.moved',
  attendance_recorded: 'attendance.recorded',
  attendance_corrected: 'attendance.corrected',
};

/**
 * What the staff record keeps of a booking change: times, status and attendance, and each
 * companion's attendance by position; never a name, an address or free text (a reason), which
 * belong to the booking's own history and go when its people are erased.
 */
function staffRecordValues(before: Booking, after: Booking) {
  const facts = (booking: Booking) => ({
    status: booking.status,
    startUtc: booking.startUtc,
    endUtc: booking.endUtc,
    attendance: booking.attendance,
    effort: booking.effort ?? null,
    companionsAttended: booking.companions.map((companion) => companion.attended),
  });
  return changedFields(facts(before), facts(after));
}

/** The booking row after a change that touched its people or times: calendars need a higher SEQUENCE. */
export function bumped(booking: BookingRow, now: Date): BookingRow {
  return { ...booking, sequence: booking.sequence + 1, updatedAt: now };
}

/** The UPDATE that writes a booking row as the change leaves it. */
export function bookingUpdate(executor: Executor, booking: BookingRow) {
  const { id, ...values } = booking;
  return executor.update(bookings).set(values).where(eq(bookings.id, id));
}
