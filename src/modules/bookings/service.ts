import { eq } from 'drizzle-orm';
import { manageTokens } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { RuleViolation } from '../../errors.js';
import { NO_HISTORY } from '../notifications/outbox.js';
import type { Caller } from './access.js';
import { createAttendanceRecording } from './attendance.js';
import { bookingUpdate, bumped, finishChange, openForChange, selectColumns, viewOf } from './change-steps.js';
import { createBookingCreation } from './creation.js';
import { chooseMode, HOUR, LATE_CANCELLATION_HOURS, pickSlot, placement, runWithSlotConflicts } from './placing.js';
import { createBookingQueries } from './queries.js';
import { type BookingRow, manageTokenExpiry } from './repository.js';
import type { Booking, CancelBooking, RescheduleBooking } from './schemas.js';
import type { BookingServiceDeps } from './service-deps.js';

export type { BookingServiceDeps } from './service-deps.js';

/**
 * Bookings: creating (creation.ts), moving and cancelling (here), attendance (attendance.ts) and
 * reading (queries.ts), on one set of dependencies.
 */
export function createBookingService(deps: BookingServiceDeps) {
  const { db, clock } = deps;

  return {
    ...createBookingCreation(deps),
    ...createBookingQueries(deps),
    ...createAttendanceRecording(deps),
    async cancel(id: string, caller: Caller, input: CancelBooking): Promise<Booking> {
      const now = clock.now();
      return transaction(db, async (tx) => {
        const open = await openForChange(tx, id, caller, 'change', now, selectColumns(tx));
        const before = viewOf(open, open.booking, open.companions);
        const booking: BookingRow = {
          ...bumped(open.booking, now),
          status: 'cancelled',
          cancelledAt: now,
          cancelledBy: open.party.kind === 'student_link' ? 'student' : open.party.kind,
          cancellationReason: input.reason ?? null,
          lateCancellation: open.booking.startsAt.getTime() - now.getTime() < LATE_CANCELLATION_HOURS * HOUR,
        };
        return finishChange(tx, deps.outbox, open, {
          action: 'cancelled',
          before,
          now,
          booking,
          companions: open.companions,
          writes: { changed_booking: bookingUpdate(tx, booking) },
          notify: { kind: 'booking_cancelled' },
        });
      });
    },

    async reschedule(id: string, caller: Caller, input: RescheduleBooking): Promise<Booking> {
      const now = clock.now();
      const startMs = Date.parse(input.start);
      return runWithSlotConflicts(() =>
        transaction(db, async (tx) => {
          const open = await openForChange(tx, id, caller, 'change', now, async (columns, locked) => {
            const librarianId = locked.librarianId as string;
            const inputs = await deps.availability.loadSlotInputs(librarianId, startMs - HOUR, startMs + HOUR, {
              executor: tx,
              excludeBookingId: id,
              extra: columns,
            });
            return {
              token: inputs?.extra.token ?? null,
              history: inputs?.extra.history ?? NO_HISTORY,
              inputs,
            };
          });
          if (open.booking.startsAt.getTime() === startMs) {
            throw new RuleViolation('same_slot', 'The booking is already at that time.', [
              { pointer: '/start', in: 'body', message: 'is the current start' },
            ]);
          }
          const { librarian, slot, bufferMinutes } = pickSlot(
            open.facts.inputs,
            open.booking.librarianId as string,
            startMs,
          );
          const mode = chooseMode(
            slot.modes,
            input.mode ?? (slot.modes.includes(open.booking.mode) ? open.booking.mode : undefined),
          );
          const before = viewOf(open, open.booking, open.companions);
          const booking: BookingRow = {
            ...bumped(open.booking, now),
            ...placement(slot, bufferMinutes, mode, librarian.meetingUrl),
          };
          // One UPDATE moves the booking: the old time is released and the new one taken atomically,
          // and the exclusion constraint checks the new range against every other booking.
          return finishChange(tx, deps.outbox, open, {
            action: 'rescheduled',
            before,
            now,
            booking,
            companions: open.companions,
            writes: {
              changed_booking: bookingUpdate(tx, booking),
              moved_links: tx
                .update(manageTokens)
                .set({ expiresAt: manageTokenExpiry(booking.endsAt) })
                .where(eq(manageTokens.bookingId, id)),
            },
            notify: { kind: 'booking_rescheduled' },
          });
        }),
      );
    },
  };
}

export type BookingService = ReturnType<typeof createBookingService>;
