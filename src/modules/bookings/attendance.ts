import { eq } from 'drizzle-orm';
import { bookings, companions } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, Forbidden, RuleViolation } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import { queueFeedback } from '../feedback/queue.js';
import { authorize, type Caller } from './access.js';
import { MINUTE } from './placing.js';
import { activeCompanions, type BookingRow, companionsOf, lockBooking, recordEvent } from './repository.js';
import type { Attendance, Booking, RecordSession } from './schemas.js';
import type { BookingServiceDeps } from './service-deps.js';

/** After the session: attendance recorded or corrected, and sessions recorded that were never booked. */
export function createAttendanceRecording(deps: BookingServiceDeps) {
  const { db, clock } = deps;
  const { view } = deps.changes;

  return {
    async recordAttendance(id: string, caller: Caller, input: Attendance): Promise<Booking> {
      const now = clock.now();
      return transaction(db, async (tx) => {
        const booking = await lockBooking(tx, id);
        const party = await authorize(tx, booking, id, caller, 'attendance', now);
        const row = booking as BookingRow;
        if (row.status === 'cancelled') throw new Conflict('booking_cancelled', 'This booking is cancelled.');
        if (row.startsAt > now) {
          throw new RuleViolation('session_not_started', 'Attendance can be recorded once the session has started.');
        }
        const active = activeCompanions(await companionsOf(tx, [id]));
        if ((input.companion !== undefined || (input.companions?.length ?? 0) > 0) && active.length === 0) {
          throw new RuleViolation('no_companion', 'This booking has no companion to record.', [
            { pointer: '/companion', in: 'body', message: 'the booking has no active companion' },
          ]);
        }
        const unknown = (input.companions ?? []).find((entry) => !active.some((c) => c.id === entry.companionId));
        if (unknown) {
          throw new RuleViolation('no_companion', 'That companion is not coming to this booking.', [
            { pointer: '/companions', in: 'body', message: `${unknown.companionId} is not an active companion` },
          ]);
        }
        const before = await view(tx, id);
        await tx.update(bookings).set({ attendance: input.student, updatedAt: now }).where(eq(bookings.id, id));
        const attended = new Map<string, boolean>([
          ...(input.companion !== undefined
            ? active.map((c): [string, boolean] => [c.id, input.companion as boolean])
            : []),
          ...(input.companions ?? []).map((entry): [string, boolean] => [entry.companionId, entry.attended]),
        ]);
        for (const [companionId, came] of attended) {
          await tx.update(companions).set({ attended: came }).where(eq(companions.id, companionId));
        }
        await queueFeedback(tx, deps.outbox, { bookingId: id, now });
        const after = await view(tx, id);
        const action = row.attendance === null ? 'attendance_recorded' : 'attendance_corrected';
        await recordEvent(tx, { bookingId: id, actor: party.label, action, before, after, at: now });
        return after;
      });
    },

    async recordSession(user: AuthUser, input: RecordSession): Promise<Booking> {
      const now = clock.now();
      const isAdmin = user.roles.includes('admin');
      const librarianId = isAdmin ? input.librarianId : (user.librarianId ?? undefined);
      if (!librarianId) {
        throw isAdmin
          ? new RuleViolation('librarian_required', 'Say which librarian held the session.', [
              { pointer: '/librarianId', in: 'body', message: 'is required for admins' },
            ])
          : new Forbidden('Your sign-in is not linked to a librarian.');
      }
      if (!isAdmin && input.librarianId && input.librarianId !== librarianId) {
        throw new Forbidden('Librarians record their own sessions only.');
      }
      const startsAt = new Date(input.start);
      if (startsAt > now) {
        throw new RuleViolation(
          'session_in_future',
          'Record a session once it has started; book future ones instead.',
          [{ pointer: '/start', in: 'body', message: 'must not be in the future' }],
        );
      }
      const librarian = await deps.librarians.findRow(librarianId);
      return transaction(db, async (tx) => {
        await deps.categories.checkCategories(input.studentCategories, '/studentCategories', tx);
        const endsAt = new Date(startsAt.getTime() + input.minutes * MINUTE);
        const mode = input.mode ?? 'in_person';
        const [inserted] = await tx
          .insert(bookings)
          .values({
            librarianId: librarian.id,
            source: 'recorded',
            startsAt,
            endsAt,
            occupiedUntil: endsAt,
            mode,
            location: mode === 'in_person' ? librarian.location : null,
            studentCategories: input.studentCategories,
            attendance: input.attendance,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        const booking = inserted as BookingRow;
        if (input.companion) {
          await tx.insert(companions).values({
            bookingId: booking.id,
            name: null,
            attended: input.attendance === 'attended',
            createdAt: now,
            statusChangedAt: now,
          });
        }
        const after = await view(tx, booking.id);
        await recordEvent(tx, {
          bookingId: booking.id,
          actor: `${isAdmin ? 'admin' : 'librarian'}:${user.email ?? user.sub}`,
          action: 'recorded',
          after,
          at: now,
        });
        return after;
      });
    },
  };
}
