import { and, eq, gt, inArray, isNull, ne, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { activeCompanions, type CompanionRow, companionsOf } from '../../db/people.js';
import { bookings, librarians, manageTokens, students } from '../../db/schema.js';
import { shownMeetingUrl } from '../../http/meeting-url.js';
import type { Language } from '../../text/languages.js';
import { formatInstant } from '../../time/zone.js';
import type { BusyRangeSource, QueryValue } from '../availability/service.js';
import { appendEvent, type FeedEvent } from '../events/feed.js';
import { hashManageToken } from '../links/tokens.js';
import type { Booking } from './schemas.js';

export { manageTokenExpiry } from '../links/tokens.js';
export { activeCompanions, type CompanionRow, companionsOf };

export type BookingRow = typeof bookings.$inferSelect;

/** The booking a live manage token opens, or null: for keying rate limits by booking. */
export async function bookingIdOfToken(executor: Executor, token: string, now: Date): Promise<string | null> {
  const [row] = await executor
    .select({ bookingId: manageTokens.bookingId })
    .from(manageTokens)
    .where(
      and(
        eq(manageTokens.tokenHash, hashManageToken(token)),
        gt(manageTokens.expiresAt, now),
        isNull(manageTokens.revokedAt),
      ),
    );
  return row?.bookingId ?? null;
}

/**
 * Time held by a librarian's confirmed bookings that start before `startsBefore` and hold time
 * after `heldAfter`, for slot computation: a scalar subquery giving a json array of
 * [startMs, endMs], read with the librarian's rules. Most of the slot listing's work in
 * PostgreSQL, so made cheap: the array is joined as text, and epochs are taken as double
 * precision rather than numeric (a double holds today's epoch in seconds to well under a
 * microsecond, so the rounded milliseconds are exact) — about 1.6× the statements per second of
 * json_agg over numeric epochs. Written in the no-double-booking exclusion constraint's own terms
 * (status and source as literals, the overlap of the held range), so PostgreSQL reads that
 * constraint's index even in a prepared statement's generic plan: held time [start, until) meets
 * [heldAfter, startsBefore) exactly when start < startsBefore and until > heldAfter, both ranges
 * being non-empty.
 */
export const librarianBusyRanges: BusyRangeSource = ({ librarianId, startsBefore, heldAfter, excludeBookingId }) =>
  sql<string | null>`(
    select string_agg(
        '[' || (date_part('epoch', ${bookings.startsAt}) * 1000)::bigint
        || ',' || (date_part('epoch', ${bookings.occupiedUntil}) * 1000)::bigint || ']', ',')
    from ${bookings}
    where ${and(
      eq(bookings.librarianId, librarianId),
      sql`${bookings.status} = 'confirmed' and ${bookings.source} = 'booked'`,
      sql`tstzrange(${bookings.startsAt}, ${bookings.occupiedUntil}) && tstzrange(${heldAfter}::timestamptz, ${startsBefore}::timestamptz)`,
      excludeBookingId ? ne(bookings.id, excludeBookingId) : undefined,
    )})`;

export async function lockBooking(executor: Executor, id: string): Promise<BookingRow | undefined> {
  const [row] = await executor.select().from(bookings).where(eq(bookings.id, id)).for('update');
  return row;
}

/** A booking change's event on the change feed (audit trail and webhooks alike). */
export async function recordEvent(executor: Executor, event: FeedEvent): Promise<void> {
  await appendEvent(executor, event);
}

export interface ViewOptions {
  showContacts: boolean;
  ownCompanionId?: string;
}

type LibrarianFacts = Pick<typeof librarians.$inferSelect, 'name' | 'timeZone'>;
type StudentFacts = Pick<typeof students.$inferSelect, 'name' | 'email'>;
type CompanionFacts = Pick<
  CompanionRow,
  'id' | 'name' | 'email' | 'status' | 'role' | 'attended' | 'confirmedAt' | 'language'
>;
/** A language the API names (the column holds only those: inputs are checked against the list). */
type CompanionLanguage = Language;

/** A booking as the API shows it, from its rows (as read, or as just written). */
export function toBookingView(
  booking: BookingRow,
  librarian: LibrarianFacts | null,
  student: StudentFacts | null,
  companionRows: CompanionFacts[],
  options: ViewOptions,
): Booking {
  const zone = librarian?.timeZone ?? 'UTC';
  return {
    id: booking.id,
    status: booking.status,
    source: booking.source,
    librarian: booking.librarianId ? { id: booking.librarianId, name: librarian?.name ?? '' } : null,
    student: booking.studentId
      ? {
          id: booking.studentId,
          name: student?.name ?? null,
          ...(options.showContacts ? { email: student?.email ?? null } : {}),
        }
      : null,
    start: formatInstant(booking.startsAt.getTime(), zone),
    end: formatInstant(booking.endsAt.getTime(), zone),
    startUtc: booking.startsAt.toISOString(),
    endUtc: booking.endsAt.toISOString(),
    timeZone: zone,
    mode: booking.mode,
    location: booking.location,
    meetingUrl: shownMeetingUrl(booking.meetingUrl),
    topic: booking.topic,
    // A companion sees the student's name, not their email or how they describe themselves.
    ...(options.showContacts ? { studentCategories: booking.studentCategories } : {}),
    companions: companionRows.map((companion) => ({
      id: companion.id,
      name: companion.name,
      ...(options.showContacts || options.ownCompanionId === companion.id ? { email: companion.email } : {}),
      status: companion.status,
      role: companion.role,
      confirmed: companion.status === 'invited' && companion.confirmedAt !== null,
      language: (companion.language as CompanionLanguage) ?? null,
      attended: companion.attended,
    })),
    attendance: booking.attendance,
    ...(options.showContacts ? { effort: booking.effort } : {}),
    cancellation:
      booking.status === 'cancelled' && booking.cancelledAt
        ? {
            at: booking.cancelledAt.toISOString(),
            by: booking.cancelledBy ?? 'unknown',
            reason: booking.cancellationReason,
            late: booking.lateCancellation,
          }
        : null,
    sequence: booking.sequence,
    createdAt: booking.createdAt.toISOString(),
  };
}

/** Bookings as the API shows them, in the order of `ids`. */
export async function loadBookingViews(executor: Executor, ids: string[], options: ViewOptions): Promise<Booking[]> {
  if (ids.length === 0) return [];
  const rows = await executor
    .select({ booking: bookings, librarian: librarians, student: students })
    .from(bookings)
    .leftJoin(librarians, eq(librarians.id, bookings.librarianId))
    .leftJoin(students, eq(students.id, bookings.studentId))
    .where(inArray(bookings.id, ids));
  const companionRows = await companionsOf(executor, ids);
  const byId = new Map(rows.map((row) => [row.booking.id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    if (!row) return [];
    const own = companionRows.filter((companion) => companion.bookingId === id);
    return [toBookingView(row.booking, row.librarian, row.student, own, options)];
  });
}

/**
 * A booking locked FOR UPDATE (changes to one booking are serialised), with its librarian and
 * student, in one statement. Rows read after this one see whatever the previous holder committed.
 */
export async function lockBookingWithPeople(executor: Executor, id: string) {
  const [row] = await executor
    .select({ booking: bookings, librarian: librarians, student: students })
    .from(bookings)
    .leftJoin(librarians, eq(librarians.id, bookings.librarianId))
    .leftJoin(students, eq(students.id, bookings.studentId))
    .where(eq(bookings.id, id))
    .for('update', { of: bookings });
  return row;
}

/** The student's confirmed sessions still to come, for the per-student limit: a scalar subquery. */
export function countUpcomingSql(studentId: QueryValue<string>, now: QueryValue<Date>): SQL<number> {
  return sql<number>`(select count(*)::int from ${bookings} where ${and(
    eq(bookings.studentId, studentId),
    eq(bookings.status, 'confirmed'),
    eq(bookings.source, 'booked'),
    gt(bookings.startsAt, now),
  )})`;
}
