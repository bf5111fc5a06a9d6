import { randomUUID } from 'node:crypto';
import { and, asc, count, eq, gte, isNull, lt, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { writeTogether } from '../../db/batch.js';
import type { Database, Executor } from '../../db/client.js';
import { PG_EXCLUSION_VIOLATION, pgError } from '../../db/errors.js';
import { retryingStalePlans } from '../../db/prepared.js';
import { bookingEvents, bookings, companions, manageTokens } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, Forbidden, NotFound, RuleViolation } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';
import { localDaysToInstants } from '../../time/zone.js';
import type { AvailabilityService } from '../availability/service.js';
import { findSlot, type Mode, type Slot } from '../availability/slots.js';
import type { Dimension } from '../categories/schemas.js';
import { assertCategories, type CategoryService } from '../categories/service.js';
import { eventWrites } from '../events/feed.js';
import { queueFeedback } from '../feedback/queue.js';
import type { LibrarianService } from '../librarians/service.js';
import { manageTokenRows } from '../links/tokens.js';
import { NO_HISTORY, type OutboxSettings, outboxWrites } from '../notifications/outbox.js';
import { authorize, type Caller, studentIdOf } from './access.js';
import { type BookingChanges, type IssuedLinks, selectColumns } from './changes.js';
import { claimIdempotencyKey, idempotentResponseWrite, requestHash } from './idempotency.js';
import {
  activeCompanions,
  type BookingRow,
  bookingIdOfToken,
  companionsOf,
  countUpcomingSql,
  loadBookingViews,
  lockBooking,
  manageTokenExpiry,
  recordEvent,
} from './repository.js';
import type {
  Attendance,
  Booking,
  BookingQuery,
  CancelBooking,
  CompanionInput,
  CreateBooking,
  RecordSession,
  RescheduleBooking,
} from './schemas.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const LATE_CANCELLATION_HOURS = 24;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Where and when a booking in `slot` takes place: its times, the time it holds, and how to meet. */
function placement(slot: Slot, bufferMinutes: number, mode: Mode, meetingUrl: string | null) {
  return {
    startsAt: new Date(slot.startMs),
    endsAt: new Date(slot.endMs),
    occupiedUntil: new Date(slot.endMs + bufferMinutes * MINUTE),
    mode,
    location: mode === 'in_person' ? slot.location : null,
    meetingUrl: mode === 'online' ? meetingUrl : null,
  };
}

type SlotInputs = Awaited<ReturnType<AvailabilityService['loadSlotInputs']>>;

function slotConflict(error: unknown): Conflict | undefined {
  const info = pgError(error);
  if (info?.code !== PG_EXCLUSION_VIOLATION) return undefined;
  if (info.constraint === 'bookings_no_student_overlap') {
    return new Conflict('overlapping_booking', 'You already have a session at that time.');
  }
  return new Conflict('slot_unavailable', 'That slot has just been taken; choose another.');
}

export function createBookingService(deps: {
  db: Database;
  clock: Clock;
  outbox: OutboxSettings;
  changes: BookingChanges;
  config: Pick<Config, 'publicUrl' | 'bookingLimitPerStudent' | 'libraryTimeZone'>;
  librarians: LibrarianService;
  availability: AvailabilityService;
  categories: CategoryService;
}) {
  const { db, clock, config } = deps;
  const {
    manageUrl,
    view,
    viewOf,
    newCompanions,
    tooManyCompanions,
    openForChange,
    finishChange,
    bumped,
    bookingUpdate,
  } = deps.changes;

  /**
   * What a booking's decision reads, after the student's lock: slot inputs, the student's upcoming
   * sessions and, when a companion gives categories, the category dimensions. Built once.
   */
  const upcoming = countUpcomingSql(sql.placeholder('studentId'), sql.placeholder('now'));
  const bookingInputs = {
    plain: deps.availability.preparedSlotInputs('liaison_booking_inputs', {
      upcoming,
      dimensions: sql<Dimension[]>`'[]'::jsonb`,
    }),
    withCategories: deps.availability.preparedSlotInputs('liaison_booking_inputs_categories', {
      upcoming,
      dimensions: deps.categories.dimensionsSql(),
    }),
  };

  /** The slot at `startMs`, from inputs read: 422 when the librarian does not offer it, 409 when it is taken. */
  function pickSlot(inputs: SlotInputs | undefined, librarianId: string, startMs: number) {
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

  function chooseMode(offered: Mode[], wanted: Mode | undefined): Mode {
    if (wanted && !offered.includes(wanted)) {
      throw new RuleViolation('mode_unavailable', `This slot is offered ${offered.join(' or ')} only.`, [
        { pointer: '/mode', in: 'body', message: `must be one of ${offered.join(', ')}` },
      ]);
    }
    return wanted ?? (offered[0] as Mode);
  }

  /** Companions' categories against the defined ones: 422 naming the first companion's bad values. */
  function checkCompanionCategories(
    inputs: CompanionInput[],
    dimensions: Dimension[],
    pointer: (index: number) => string,
  ) {
    for (const [index, input] of inputs.entries()) {
      if (input.categories) assertCategories(dimensions, input.categories, pointer(index));
    }
  }

  async function runWithSlotConflicts<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw slotConflict(error) ?? error;
    }
  }

  /**
   * The first response again, with newly issued links (the first ones were never stored). The links
   * an earlier response returned are revoked, so replays cannot pile up live tokens; emailed links
   * are untouched.
   */
  async function replay(executor: Executor, stored: Booking, now: Date): Promise<Booking> {
    const [booking] = await executor.select().from(bookings).where(eq(bookings.id, stored.id));
    if (!booking) return stored;
    const active = activeCompanions(await companionsOf(executor, [booking.id]));
    const { tokens, rows } = manageTokenRows(
      [null, ...active.map((companion) => companion.id)].map((companionId) => ({
        bookingId: booking.id,
        endsAt: booking.endsAt,
        companionId,
        issuedVia: 'response' as const,
        now,
      })),
    );
    await writeTogether(executor, {
      revoked_links: executor
        .update(manageTokens)
        .set({ revokedAt: now })
        .where(
          and(
            eq(manageTokens.bookingId, booking.id),
            eq(manageTokens.issuedVia, 'response'),
            isNull(manageTokens.revokedAt),
          ),
        ),
      new_links: executor.insert(manageTokens).values(rows),
    });
    const [studentToken, ...companionTokens] = tokens as [string, ...string[]];
    const links: IssuedLinks = {
      manage: manageUrl(booking.id, studentToken),
      companions: active.map((companion, index) => ({
        companionId: companion.id,
        manage: manageUrl(booking.id, companionTokens[index] as string),
      })),
    };
    return { ...stored, links };
  }

  return {
    /**
     * A booking in three statements (four with an Idempotency-Key): lock the student (1); read
     * everything the decision needs at once, after the lock (2); write the booking, companions,
     * links, feed event, webhook deliveries, emails and the stored response together (3).
     */
    async create(user: AuthUser, input: CreateBooking, options: { idempotencyKey?: string } = {}) {
      const now = clock.now();
      const companionInputs = [...(input.companion ? [input.companion] : []), ...(input.companions ?? [])];
      const startMs = Date.parse(input.start);
      return runWithSlotConflicts(() =>
        retryingStalePlans(() =>
          transaction(db, async (tx) => {
            const key = options.idempotencyKey;
            if (key) {
              const claim = await claimIdempotencyKey(tx, user.sub, key, requestHash(input), now);
              if (claim) return { booking: await replay(tx, claim.replay as Booking, now), replayed: true };
            }
            // Locking the student serialises their bookings, so the upcoming-bookings limit holds under concurrency.
            const student = await deps.categories.lockStudent(user, tx);
            const withCategories = companionInputs.some((companion) => companion.categories);
            const inputs = await (withCategories ? bookingInputs.withCategories : bookingInputs.plain)(
              tx,
              input.librarianId,
              startMs - HOUR,
              startMs + HOUR,
              { studentId: student.id, now },
            );
            checkCompanionCategories(companionInputs, inputs?.extra.dimensions ?? [], (index) =>
              input.companion && index === 0
                ? '/companion/categories'
                : `/companions/${index - (input.companion ? 1 : 0)}/categories`,
            );
            if ((inputs?.extra.upcoming ?? 0) >= config.bookingLimitPerStudent) {
              throw new RuleViolation(
                'booking_limit_reached',
                `You already have ${config.bookingLimitPerStudent} upcoming sessions; cancel one or wait until one has taken place.`,
              );
            }
            const { librarian, slot, bufferMinutes } = pickSlot(inputs, input.librarianId, startMs);
            if (companionInputs.length > librarian.maxCompanions) throw tooManyCompanions(librarian.maxCompanions);
            const mode = chooseMode(slot.modes, input.mode);
            const booking: BookingRow = {
              id: randomUUID(),
              librarianId: librarian.id,
              studentId: student.id,
              studentRef: `s:${student.id}`,
              source: 'booked',
              ...placement(slot, bufferMinutes, mode, librarian.meetingUrl),
              status: 'confirmed',
              topic: input.topic ?? null,
              studentTimeZone: input.timeZone ?? null,
              studentCategories: student.categories,
              attendance: null,
              cancelledAt: null,
              cancelledBy: null,
              cancellationReason: null,
              lateCancellation: false,
              sequence: 0,
              createdAt: now,
              updatedAt: now,
            };
            const added = newCompanions(tx, booking, companionInputs, now);
            const studentLink = manageTokenRows([
              { bookingId: booking.id, endsAt: booking.endsAt, issuedVia: 'response', now },
            ]);
            const created = viewOf({ librarian, student }, booking, added.rows);
            await writeTogether(tx, {
              new_booking: tx.insert(bookings).values(booking),
              new_booking_link: tx.insert(manageTokens).values(studentLink.rows),
              ...added.writes,
              ...eventWrites(tx, {
                bookingId: booking.id,
                actor: `student:${user.email ?? user.sub}`,
                action: 'created',
                after: created,
                at: now,
              }),
              ...outboxWrites(
                tx,
                deps.outbox,
                { kind: 'booking_created', now },
                { booking, librarian, student, companions: added.rows },
                NO_HISTORY,
              ),
              // Only hashes of tokens are kept, so the stored response has no links; a replay mints fresh ones.
              ...(key ? { stored_response: idempotentResponseWrite(tx, user.sub, key, 201, created) } : {}),
            });
            const links: IssuedLinks = {
              manage: manageUrl(booking.id, studentLink.tokens[0] as string),
              companions: added.links,
            };
            return { booking: { ...created, links }, replayed: false };
          }),
        ),
      );
    },

    /** The booking a manage link opens (null for an unknown, expired or revoked one). */
    linkedBookingId(token: string): Promise<string | null> {
      return bookingIdOfToken(db, token, clock.now());
    },

    /** The booking as the caller may see it, and the companion the caller is (when a companion's link). */
    async getWithParty(id: string, caller: Caller): Promise<{ booking: Booking; companionId: string | null }> {
      const [booking] = await db.select().from(bookings).where(eq(bookings.id, id));
      const party = await authorize(db, booking, id, caller, 'view', clock.now());
      return {
        booking: await view(db, id, party),
        companionId: party.kind === 'companion_link' ? party.companionId : null,
      };
    },

    async get(id: string, caller: Caller): Promise<Booking> {
      const [booking] = await db.select().from(bookings).where(eq(bookings.id, id));
      const party = await authorize(db, booking, id, caller, 'view', clock.now());
      return view(db, id, party);
    },

    async list(user: AuthUser, query: BookingQuery) {
      const isAdmin = user.roles.includes('admin');
      let scope: ReturnType<typeof eq> | undefined;
      if (!isAdmin) {
        if (user.roles.includes('librarian') && user.librarianId) scope = eq(bookings.librarianId, user.librarianId);
        else if (user.roles.includes('student')) {
          const studentId = await studentIdOf(db, user);
          if (!studentId) return { bookings: [], total: 0, limit: query.limit, offset: query.offset };
          scope = eq(bookings.studentId, studentId);
        } else {
          throw new Forbidden('Only students, librarians and admins have bookings to list.');
        }
      }
      // A date means that whole day in LIBRARY_TIME_ZONE; `to` includes it.
      const instant = (value: string, endOfDay: boolean) => {
        if (!DATE_ONLY.test(value)) return new Date(value);
        const day = localDaysToInstants(value, value, config.libraryTimeZone);
        return new Date(endOfDay ? day.toMs : day.fromMs);
      };
      const where = and(
        scope,
        query.from ? gte(bookings.startsAt, instant(query.from, false)) : undefined,
        query.to ? lt(bookings.startsAt, instant(query.to, true)) : undefined,
        query.status ? eq(bookings.status, query.status) : undefined,
        query.librarianId ? eq(bookings.librarianId, query.librarianId) : undefined,
      );
      const [{ total } = { total: 0 }] = await db.select({ total: count() }).from(bookings).where(where);
      const ids = await db
        .select({ id: bookings.id })
        .from(bookings)
        .where(where)
        .orderBy(asc(bookings.startsAt), asc(bookings.id))
        .limit(query.limit)
        .offset(query.offset);
      const views = await loadBookingViews(
        db,
        ids.map((row) => row.id),
        { showContacts: true },
      );
      return { bookings: views, total, limit: query.limit, offset: query.offset };
    },

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
        return finishChange(tx, open, {
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
          return finishChange(tx, open, {
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

    async events(id: string, caller: Caller) {
      const [booking] = await db.select().from(bookings).where(eq(bookings.id, id));
      await authorize(db, booking, id, caller, 'audit', clock.now());
      const rows = await db
        .select()
        .from(bookingEvents)
        .where(eq(bookingEvents.bookingId, id))
        .orderBy(asc(bookingEvents.id));
      return rows.map((row) => ({
        id: row.id,
        actor: row.actor,
        action: row.action,
        before: row.before,
        after: row.after,
        at: row.at.toISOString(),
      }));
    },
  };
}

export type BookingService = ReturnType<typeof createBookingService>;
