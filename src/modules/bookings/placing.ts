import { randomUUID } from 'node:crypto';
import { PG_DEADLOCK_DETECTED, PG_EXCLUSION_VIOLATION, pgError } from '../../db/errors.js';
import { Conflict, NotFound, RuleViolation } from '../../errors.js';
import type { AvailabilityService } from '../availability/service.js';
import { findSlot, type Mode, type Slot } from '../availability/slots.js';
import type { BookingRow } from './repository.js';

// Placing a booking: where a slot puts it, which slot and mode a request may have, and the
// database's refusal of an overlap as a 409. Used when booking, moving and recording sessions.

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const LATE_CANCELLATION_HOURS = 24;
export const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Where and when a booking in `slot` takes place: its times, the time it holds, and how to meet. */
export function placement(slot: Slot, bufferMinutes: number, mode: Mode, meetingUrl: string | null) {
  return {
    startsAt: new Date(slot.startMs),
    endsAt: new Date(slot.endMs),
    occupiedUntil: new Date(slot.endMs + bufferMinutes * MINUTE),
    mode,
    location: mode === 'in_person' ? slot.location : null,
    meetingUrl: mode === 'online' ? meetingUrl : null,
  };
}

export type SlotInputs = Awaited<ReturnType<AvailabilityService['loadSlotInputs']>>;

export function slotConflict(error: unknown): Conflict | undefined {
  const info = pgError(error);
  if (info?.code !== PG_EXCLUSION_VIOLATION) return undefined;
  if (info.constraint === 'bookings_no_student_overlap') {
    return new Conflict('overlapping_booking', 'You already have a session at that time.');
  }
  return new Conflict('slot_unavailable', 'That slot has just been taken; choose another.');
}

/** The slot at `startMs`, from inputs read: 422 when the librarian does not offer it, 409 when it is taken. */
export function pickSlot(inputs: SlotInputs | undefined, librarianId: string, startMs: number) {
  if (!inputs?.librarian.active) throw new NotFound(`Librarian ${librarianId}`);
  const { request } = inputs;
  const offered = findSlot({ ...request, busy: [] }, startMs);
  if (!offered) {
    throw new RuleViolation(
      'outside_availability',
      'That start is not one of the librarian’s bookable slots (availability, notice period, horizon or slot grid).',
      [{ pointer: '/start', in: 'body', message: 'is not an offered slot start' }],
    );
  }
  if (!findSlot(request, startMs))
    throw new Conflict('slot_unavailable', 'That slot is already taken; choose another.');
  return { librarian: inputs.librarian, slot: offered, bufferMinutes: request.bufferMinutes };
}

export function chooseMode(offered: Mode[], wanted: Mode | undefined): Mode {
  if (wanted && !offered.includes(wanted)) {
    throw new RuleViolation('mode_unavailable', `This slot is offered ${offered.join(' or ')} only.`, [
      { pointer: '/mode', in: 'body', message: `must be one of ${offered.join(', ')}` },
    ]);
  }
  return wanted ?? (offered[0] as Mode);
}

/**
 * Runs a booking change (a whole transaction). A lost race for a time becomes a 409; a deadlock
 * between racers runs the change again, at most `attempts` times in all.
 */
export async function runWithSlotConflicts<T>(operation: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      // Changes racing for one time can wait on each other's claim to it (the exclusion
      // constraint's check), and PostgreSQL then aborts one with a deadlock. Its transaction rolled
      // back, so it runs again: this time it sees the winner's booking and is refused (409).
      if (pgError(error)?.code === PG_DEADLOCK_DETECTED && attempt < attempts) continue;
      throw slotConflict(error) ?? error;
    }
  }
}

/** A new booking's row: what the caller gives, and what every new booking starts with. */
export function newBookingRow(
  given: Pick<
    BookingRow,
    | 'librarianId'
    | 'studentId'
    | 'studentRef'
    | 'source'
    | 'startsAt'
    | 'endsAt'
    | 'occupiedUntil'
    | 'mode'
    | 'location'
    | 'meetingUrl'
    | 'studentCategories'
  > &
    Partial<
      Pick<BookingRow, 'topic' | 'studentTimeZone' | 'attendance' | 'cameAsFriendBefore' | 'nervesBefore' | 'pool'>
    >,
  now: Date,
): BookingRow {
  return {
    id: randomUUID(),
    status: 'confirmed',
    topic: null,
    pool: null,
    studentTimeZone: null,
    attendance: null,
    cameAsFriendBefore: null,
    nervesBefore: null,
    effort: null,
    cancelledAt: null,
    cancelledBy: null,
    cancellationReason: null,
    lateCancellation: false,
    sequence: 0,
    createdAt: now,
    updatedAt: now,
    ...given,
  };
}
