import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { writeTogether } from '../../db/batch.js';
import { bookings, companions } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Forbidden, RuleViolation } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import { eventWrites } from '../events/feed.js';
import { queueFeedback } from '../feedback/queue.js';
import { staffActionInsert } from '../staff-record/service.js';
import type { Caller } from './access.js';
import { bookingUpdate, finishChange, openForChange, selectColumns, viewOf } from './change-steps.js';
import { MINUTE, newBookingRow } from './placing.js';
import { activeCompanions, type BookingRow, type CompanionRow } from './repository.js';
import type { Attendance, Booking, RecordSession } from './schemas.js';
import type { BookingServiceDeps } from './service-deps.js';

/** After the session: attendance recorded or corrected, and sessions recorded that were never booked. */
export function createAttendanceRecording(deps: BookingServiceDeps) {
  const { db, clock } = deps;

  return {
    /** Attendance recorded or corrected: the same open and finish as every change, in one write. */
    async recordAttendance(id: string, caller: Caller, input: Attendance): Promise<Booking> {
      const now = clock.now();
      return transaction(db, async (tx) => {
        const open = await openForChange(tx, id, caller, 'attendance', now, selectColumns(tx));
        const active = activeCompanions(open.companions);
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
        const attended = new Map<string, boolean>([
          ...(input.companion !== undefined
            ? active.map((c): [string, boolean] => [c.id, input.companion as boolean])
            : []),
          ...(input.companions ?? []).map((entry): [string, boolean] => [entry.companionId, entry.attended]),
        ]);
        const booking: BookingRow = {
          ...open.booking,
          attendance: input.student,
          // The READ scale's effort, when given; a correction that leaves it out keeps it.
          ...(input.effort !== undefined ? { effort: input.effort } : {}),
          updatedAt: now,
        };
        const after = await finishChange(tx, deps.outbox, open, {
          action: open.booking.attendance === null ? 'attendance_recorded' : 'attendance_corrected',
          before: viewOf(open, open.booking, open.companions),
          now,
          booking,
          companions: open.companions.map((c) =>
            attended.has(c.id) ? { ...c, attended: attended.get(c.id) ?? null } : c,
          ),
          writes: {
            changed_booking: bookingUpdate(tx, booking),
            // Every companion's answer in one update, not one statement each.
            companions_attended:
              attended.size > 0
                ? sql`update companions c set attended = v.attended
                    from (values ${sql.join(
                      [...attended].map(([companionId, came]) => sql`(${companionId}::uuid, ${came}::boolean)`),
                      sql`, `,
                    )}) as v(id, attended)
                    where c.id = v.id`
                : undefined,
          },
        });
        // Read after the write above: who came decides who is asked.
        await queueFeedback(tx, deps.outbox, { bookingId: id, now });
        return after;
      });
    },

    /** A session that was never booked (a walk-in), written with its feed event in one statement. */
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
        const booking = newBookingRow(
          {
            librarianId: librarian.id,
            studentId: null,
            studentRef: null,
            source: 'recorded',
            startsAt,
            endsAt,
            occupiedUntil: endsAt,
            mode,
            location: mode === 'in_person' ? librarian.location : null,
            meetingUrl: null,
            studentCategories: input.studentCategories,
            attendance: input.attendance,
          },
          now,
        );
        const companionRows: CompanionRow[] = input.companion
          ? [
              {
                id: randomUUID(),
                bookingId: booking.id,
                name: null,
                email: null,
                language: null,
                categories: null,
                status: 'invited',
                role: 'friend',
                attended: input.attendance === 'attended',
                confirmedAt: null,
                ordinal: 0,
                statusChangedAt: now,
                createdAt: now,
              },
            ]
          : [];
        const after = viewOf({ librarian, student: null }, booking, companionRows);
        await writeTogether(tx, {
          new_booking: tx.insert(bookings).values(booking),
          new_companion:
            companionRows.length > 0
              ? tx.insert(companions).values(companionRows.map(({ ordinal: _ordinal, ...row }) => row))
              : undefined,
          ...eventWrites(tx, {
            bookingId: booking.id,
            actor: `${isAdmin ? 'admin' : 'librarian'}:${user.email ?? user.sub}`,
            action: 'recorded',
            after,
            at: now,
          }),
          staff_action: staffActionInsert(tx, now, {
            actor: user,
            action: 'session.recorded',
            subject: booking.id,
            after: {
              librarian: librarian.email,
              startUtc: after.startUtc,
              minutes: input.minutes,
              mode,
              attendance: input.attendance,
              companion: input.companion,
            },
          }),
        });
        return after;
      });
    },
  };
}
