import { and, eq, isNull, sql } from 'drizzle-orm';
import { writeTogether } from '../../db/batch.js';
import type { Executor } from '../../db/client.js';
import { insertRows } from '../../db/insert.js';
import { retryingStalePlans } from '../../db/prepared.js';
import { bookings, manageTokens } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { RuleViolation } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Dimension } from '../categories/schemas.js';
import { assertCategories } from '../categories/service.js';
import { eventWrites } from '../events/feed.js';
import { manageTokenRows } from '../links/tokens.js';
import { NO_HISTORY, outboxWrites } from '../notifications/outbox.js';
import { type IssuedLinks, manageUrl, newCompanions, tooManyCompanions, viewOf } from './change-steps.js';
import { claimIdempotencyKey, idempotentResponseWrite, requestHash } from './idempotency.js';
import { chooseMode, HOUR, newBookingRow, pickSlot, placement, runWithSlotConflicts } from './placing.js';
import { activeCompanions, companionsOf, countUpcomingSql } from './repository.js';
import { withinCompanionLimits } from './roles.js';
import type { Booking, CompanionInput, CreateBooking } from './schemas.js';
import type { BookingServiceDeps } from './service-deps.js';

/** Booking a session: three statements, the database deciding any race (see create). */
export function createBookingCreation(deps: BookingServiceDeps) {
  const { db, clock, config } = deps;

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
      new_links: insertRows(executor, manageTokens, rows),
    });
    const [studentToken, ...companionTokens] = tokens as [string, ...string[]];
    const links: IssuedLinks = {
      manage: manageUrl(config.publicUrl, booking.id, studentToken),
      companions: active.map((companion, index) => ({
        companionId: companion.id,
        manage: manageUrl(config.publicUrl, booking.id, companionTokens[index] as string),
      })),
    };
    return { ...stored, links };
  }
  return {
    /**
     * A booking in three statements (four with an Idempotency-Key): lock the student (1); read
     * everything the decision needs at once, after the lock (2); write the booking, companions,
     * links, feed event, webhook deliveries, emails and the stored response together (3). `pool`
     * marks a booking made as "any available librarian" (pools/service.ts chose the librarian);
     * `beforeDecision` lets a waitlist offer release its hold inside the booking's transaction.
     */
    async create(
      user: AuthUser,
      input: CreateBooking,
      options: {
        idempotencyKey?: string;
        pool?: string;
        /** Runs in the booking's transaction before its decision read (a waitlist offer releasing its hold). */
        beforeDecision?: (tx: Executor) => Promise<void>;
      } = {},
    ) {
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
            await options.beforeDecision?.(tx);
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
            if (!withinCompanionLimits(companionInputs, librarian.maxCompanions)) {
              throw tooManyCompanions(librarian.maxCompanions);
            }
            const mode = chooseMode(slot.modes, input.mode);
            const booking = newBookingRow(
              {
                librarianId: librarian.id,
                studentId: student.id,
                studentRef: `s:${student.id}`,
                source: 'booked',
                ...placement(slot, bufferMinutes, mode, librarian.meetingUrl),
                topic: input.topic ?? null,
                pool: options.pool ?? null,
                studentTimeZone: input.timeZone ?? null,
                cameAsFriendBefore: input.cameAsFriendBefore ?? null,
                nervesBefore: input.nervesBefore ?? null,
                studentCategories: student.categories,
              },
              now,
            );
            const added = newCompanions(tx, config.publicUrl, booking, companionInputs, now);
            const studentLink = manageTokenRows([
              { bookingId: booking.id, endsAt: booking.endsAt, issuedVia: 'response', now },
            ]);
            const created = viewOf({ librarian, student }, booking, added.rows);
            await writeTogether(tx, {
              new_booking: insertRows(tx, bookings, [booking]),
              new_booking_link: insertRows(tx, manageTokens, studentLink.rows),
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
              manage: manageUrl(config.publicUrl, booking.id, studentLink.tokens[0] as string),
              companions: added.links,
            };
            return { booking: { ...created, links }, replayed: false };
          }),
        ),
      );
    },
  };
}
