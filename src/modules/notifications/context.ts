import { eq, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { companionsOf } from '../../db/people.js';
import { bookings, type companions, librarians, students } from '../../db/schema.js';
import { shownMeetingUrl } from '../../http/meeting-url.js';
import { singleLine, singleLineOrNull } from '../../http/single-line.js';
import type { MessageContext } from './message.js';

export type SessionContext = Pick<MessageContext, 'booking' | 'librarian' | 'student' | 'companions'>;

/** Bookings matching `condition`, with the people in them, as emails and invites need them. */
export async function loadSessionContexts(executor: Executor, condition: SQL | undefined) {
  const rows = await executor
    .select({ booking: bookings, librarian: librarians, student: students })
    .from(bookings)
    .innerJoin(librarians, eq(librarians.id, bookings.librarianId))
    .leftJoin(students, eq(students.id, bookings.studentId))
    .where(condition);
  const allCompanions = await companionsOf(
    executor,
    rows.map((row) => row.booking.id),
  );
  return rows.map(({ booking, librarian, student }) => ({
    raw: booking,
    /** The languages its people chose (null: not chosen): the student's, and each companion's by id. */
    languages: {
      student: student?.language ?? null,
      companions: new Map(
        allCompanions
          .filter((companion) => companion.bookingId === booking.id)
          .map((companion) => [companion.id, companion.language]),
      ),
    },
    ...sessionSnapshot(
      booking,
      librarian,
      student,
      allCompanions.filter((companion) => companion.bookingId === booking.id),
    ),
  }));
}

/** A session as messages and invites describe it, from its rows. */
export function sessionSnapshot(
  booking: typeof bookings.$inferSelect,
  librarian: Pick<typeof librarians.$inferSelect, 'name' | 'email' | 'timeZone'>,
  student: Pick<typeof students.$inferSelect, 'name' | 'email'> | null,
  companionRows: Pick<typeof companions.$inferSelect, 'id' | 'name' | 'email' | 'status' | 'role'>[],
): SessionContext {
  return {
    booking: {
      id: booking.id,
      status: booking.status,
      startMs: booking.startsAt.getTime(),
      endMs: booking.endsAt.getTime(),
      timeZone: librarian.timeZone,
      mode: booking.mode,
      location: booking.location,
      meetingUrl: shownMeetingUrl(booking.meetingUrl),
      topic: booking.topic,
      sequence: booking.sequence,
      cancellationReason: booking.cancellationReason,
      studentTimeZone: booking.studentTimeZone,
    },
    // Stored before names were made one line: collapsed again here, where they reach mail and calendars.
    librarian: { name: singleLine(librarian.name), email: librarian.email },
    student: { name: singleLineOrNull(student?.name), email: student?.email ?? null },
    companions: companionRows.map((companion) => ({
      id: companion.id,
      name: singleLineOrNull(companion.name),
      email: companion.email,
      status: companion.status,
      role: companion.role,
    })),
  };
}
