import { and, eq, gt, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { activeCompanions, type CompanionRow, companionsOf } from '../../db/people.js';
import { bookings, librarians, manageTokens, students } from '../../db/schema.js';
import { formatInstant } from '../../time/zone.js';
import type { BusyRange } from '../availability/slots.js';
import { appendEvent } from '../events/feed.js';
import { hashManageToken } from '../links/tokens.js';
import type { Booking } from './schemas.js';

export { insertManageToken, manageTokenExpiry } from '../links/tokens.js';
export { activeCompanions, type CompanionRow, companionsOf };

export type BookingRow = typeof bookings.$inferSelect;

const DAY = 24 * 60 * 60_000;

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

/** Time held by a librarian's confirmed bookings near [fromMs, toMs), for slot computation. */
export async function librarianBusyRanges(
  executor: Executor,
  librarianId: string,
  fromMs: number,
  toMs: number,
  excludeBookingId?: string,
): Promise<BusyRange[]> {
  const rows = await executor
    .select({ startsAt: bookings.startsAt, occupiedUntil: bookings.occupiedUntil })
    .from(bookings)
    .where(
      and(
        eq(bookings.librarianId, librarianId),
        eq(bookings.status, 'confirmed'),
        eq(bookings.source, 'booked'),
        lt(bookings.startsAt, new Date(toMs + DAY)),
        gt(bookings.occupiedUntil, new Date(fromMs - DAY)),
        excludeBookingId ? ne(bookings.id, excludeBookingId) : undefined,
      ),
    );
  return rows.map((row) => ({ startMs: row.startsAt.getTime(), endMs: row.occupiedUntil.getTime() }));
}

export async function lockBooking(executor: Executor, id: string): Promise<BookingRow | undefined> {
  const [row] = await executor.select().from(bookings).where(eq(bookings.id, id)).for('update');
  return row;
}

/** A booking change's event on the change feed (audit trail and webhooks alike). */
export async function recordEvent(
  executor: Executor,
  event: { bookingId: string; actor: string; action: string; before?: unknown; after?: unknown; at: Date },
): Promise<void> {
  await appendEvent(executor, event);
}

export interface ViewOptions {
  showContacts: boolean;
  ownCompanionId?: string;
}

/** Bookings as the API shows them, in the order of `ids`. */
export async function loadBookingViews(executor: Executor, ids: string[], options: ViewOptions): Promise<Booking[]> {
  if (ids.length === 0) return [];
  const rows = await executor
    .select({
      booking: bookings,
      librarianName: librarians.name,
      timeZone: librarians.timeZone,
      studentName: students.name,
      studentEmail: students.email,
    })
    .from(bookings)
    .leftJoin(librarians, eq(librarians.id, bookings.librarianId))
    .leftJoin(students, eq(students.id, bookings.studentId))
    .where(inArray(bookings.id, ids));
  const companionRows = await companionsOf(executor, ids);
  const byId = new Map(rows.map((row) => [row.booking.id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    if (!row) return [];
    const { booking } = row;
    const zone = row.timeZone ?? 'UTC';
    return [
      {
        id: booking.id,
        status: booking.status,
        source: booking.source,
        librarian: booking.librarianId ? { id: booking.librarianId, name: row.librarianName ?? '' } : null,
        student: booking.studentId
          ? {
              id: booking.studentId,
              name: row.studentName,
              ...(options.showContacts ? { email: row.studentEmail } : {}),
            }
          : null,
        start: formatInstant(booking.startsAt.getTime(), zone),
        end: formatInstant(booking.endsAt.getTime(), zone),
        startUtc: booking.startsAt.toISOString(),
        endUtc: booking.endsAt.toISOString(),
        timeZone: zone,
        mode: booking.mode,
        location: booking.location,
        meetingUrl: booking.meetingUrl,
        topic: booking.topic,
        // A companion sees the student's name, not their email or how they describe themselves.
        ...(options.showContacts ? { studentCategories: booking.studentCategories } : {}),
        companions: companionRows
          .filter((companion) => companion.bookingId === id)
          .map((companion) => ({
            id: companion.id,
            name: companion.name,
            ...(options.showContacts || options.ownCompanionId === companion.id ? { email: companion.email } : {}),
            status: companion.status,
            attended: companion.attended,
          })),
        attendance: booking.attendance,
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
      },
    ];
  });
}

/** The student's confirmed sessions still to come, for the per-student limit. */
export async function countUpcoming(executor: Executor, studentId: string, now: Date): Promise<number> {
  const [row] = await executor
    .select({ total: sql<number>`count(*)::int` })
    .from(bookings)
    .where(
      and(
        eq(bookings.studentId, studentId),
        eq(bookings.status, 'confirmed'),
        eq(bookings.source, 'booked'),
        gt(bookings.startsAt, now),
      ),
    );
  return row?.total ?? 0;
}
