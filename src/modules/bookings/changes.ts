import { eq, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Executor } from '../../db/client.js';
import { bookings, companions } from '../../db/schema.js';
import { Conflict, NotFound, RuleViolation } from '../../errors.js';
import { type NotificationKind, type OutboxSettings, queueForBooking } from '../notifications/outbox.js';
import { authorize, type Caller, type Party } from './access.js';
import {
  type BookingRow,
  type CompanionRow,
  insertManageToken,
  loadBookingViews,
  lockBooking,
  recordEvent,
} from './repository.js';
import type { Booking, CompanionInput } from './schemas.js';

export type IssuedLinks = NonNullable<Booking['links']>;

/** What every change to a booking does the same way: lock and check, links, audit, outbox. */
export function createBookingChanges(deps: { config: Pick<Config, 'publicUrl'>; outbox: OutboxSettings }) {
  const { config } = deps;

  function manageUrl(bookingId: string, token: string): string {
    // The booking's page (the API route accepts the same token).
    return `${config.publicUrl}/bookings/${bookingId}?token=${token}`;
  }

  function issueToken(
    executor: Executor,
    booking: Pick<BookingRow, 'id' | 'endsAt'>,
    holder: { companionId?: string },
  ): Promise<string> {
    return insertManageToken(executor, {
      bookingId: booking.id,
      endsAt: booking.endsAt,
      companionId: holder.companionId ?? null,
      issuedVia: 'response',
    });
  }

  async function view(executor: Executor, id: string, party?: Party): Promise<Booking> {
    const showContacts = party?.kind !== 'companion_link';
    const ownCompanionId = party?.kind === 'companion_link' ? party.companionId : undefined;
    const [booking] = await loadBookingViews(executor, [id], {
      showContacts,
      ...(ownCompanionId ? { ownCompanionId } : {}),
    });
    if (!booking) throw new NotFound(`Booking ${id}`);
    return booking;
  }

  async function addCompanions(
    executor: Executor,
    booking: BookingRow,
    inputs: CompanionInput[],
    now: Date,
  ): Promise<IssuedLinks['companions']> {
    const links: IssuedLinks['companions'] = [];
    for (const input of inputs) {
      const [companion] = await executor
        .insert(companions)
        .values({
          bookingId: booking.id,
          name: input.name,
          email: input.email ?? null,
          categories: input.categories ?? null,
          createdAt: now,
          statusChangedAt: now,
        })
        .returning();
      const row = companion as CompanionRow;
      links.push({
        companionId: row.id,
        manage: manageUrl(booking.id, await issueToken(executor, booking, { companionId: row.id })),
      });
    }
    return links;
  }

  function tooManyCompanions(max: number): RuleViolation {
    return new RuleViolation(
      'too_many_companions',
      max === 0 ? 'This librarian does not take companions.' : `This librarian allows at most ${max} companion(s).`,
      [{ pointer: '/companion', in: 'body', message: `at most ${max}` }],
    );
  }

  /** Locks the booking, checks the caller may act, and that the session is still ahead. */
  async function openForChange(tx: Executor, id: string, caller: Caller, action: 'change' | 'companion', now: Date) {
    const booking = await lockBooking(tx, id);
    const party = await authorize(tx, booking, id, caller, action, now);
    const row = booking as BookingRow;
    if (row.source !== 'booked') throw new RuleViolation('not_a_booking', 'Recorded sessions cannot be changed.');
    if (row.status === 'cancelled') throw new Conflict('booking_cancelled', 'This booking is cancelled.');
    if (row.startsAt <= now)
      throw new RuleViolation('session_started', 'The session has started; it can no longer be changed.');
    return { booking: row, party };
  }

  /** The end of every change: the booking as it now is, its audit event, and the emails it causes. */
  async function finishChange(
    tx: Executor,
    change: {
      id: string;
      party: Party;
      action: string;
      before: Booking;
      now: Date;
      notify?: {
        kind: Exclude<NotificationKind, 'reminder' | 'feedback_request' | 'webhook_disabled'>;
        companionIds?: string[];
      };
    },
  ): Promise<Booking> {
    const after = await view(tx, change.id, change.party);
    await recordEvent(tx, {
      bookingId: change.id,
      actor: change.party.label,
      action: change.action,
      before: change.before,
      after,
      at: change.now,
    });
    if (change.notify) {
      const previous =
        change.notify.kind === 'booking_rescheduled'
          ? { startMs: Date.parse(change.before.startUtc), endMs: Date.parse(change.before.endUtc) }
          : undefined;
      await queueForBooking(tx, deps.outbox, {
        ...change.notify,
        bookingId: change.id,
        now: change.now,
        ...(previous ? { previous } : {}),
      });
    }
    return after;
  }

  /** Attendees or times changed: calendars need a higher SEQUENCE to take the update. */
  async function bumpSequence(tx: Executor, id: string, now: Date): Promise<void> {
    await tx
      .update(bookings)
      .set({ sequence: sql`${bookings.sequence} + 1`, updatedAt: now })
      .where(eq(bookings.id, id));
  }

  return { manageUrl, issueToken, view, addCompanions, tooManyCompanions, openForChange, finishChange, bumpSequence };
}

export type BookingChanges = ReturnType<typeof createBookingChanges>;
