import { and, asc, count, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { writeTogether } from '../../db/batch.js';
import type { Database, Executor } from '../../db/client.js';
import { librarians, students, waitlistEntries, waitlistOffers, workerLeases } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { Conflict, DomainError, InvalidInput, NotFound, RuleViolation } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Clock } from '../../time/clock.js';
import { addDays, civilDateAt, formatCivilDate, parseCivilDate } from '../../time/zone.js';
import type { AvailabilityService } from '../availability/service.js';
import type { Slot } from '../availability/slots.js';
import type { FreedTime } from '../bookings/queries.js';
import type { BookingService } from '../bookings/service.js';
import type { CategoryService } from '../categories/service.js';
import { generateManageToken, hashManageToken } from '../links/tokens.js';
import { newMessageId, queueMessages } from '../notifications/queue.js';
import type { PoolService } from '../pools/service.js';
import { publishEvent } from '../webhooks/publish.js';
import { createWaitlistFigures } from './figures.js';
import { offerTerms, suits, type Wish } from './matching.js';
import type { JoinWaitlist } from './schemas.js';

type EntryRow = typeof waitlistEntries.$inferSelect;
type OfferRow = typeof waitlistOffers.$inferSelect;
/** A pool's free times this round, each librarian's own, and the times its bookings gave up. */
interface PoolLists {
  librarians: { librarianId: string; minNotice: number; slots: Slot[] }[];
  freed: FreedTime[];
}

/** A student has at most this many entries waiting at once. */
export const MAX_OPEN_ENTRIES = 3;
/** How far ahead a student may wait. */
export const MAX_WAIT_DAYS = 90;
const LEASE_MS = 60_000;

/**
 * The waitlist: students wait for a librarian, a subject or a team; when a time that suits them
 * frees up, the worker offers it to one at a time, oldest first, holding it for them
 * (WAITLIST_HOLD_MINUTES), or to everyone matching at once within 2 hours of the start. Accepting
 * books it in one transaction with the offer.
 */
export function createWaitlistService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'libraryTimeZone' | 'waitlistHoldMinutes' | 'publicUrl'>;
  availability: AvailabilityService;
  bookings: BookingService;
  categories: CategoryService;
  pools: PoolService;
}) {
  const { db, clock, config } = deps;
  const zone = config.libraryTimeZone;
  const messageIdDomain = new URL(config.publicUrl).hostname;

  /** The librarians an entry waits for. */
  async function librariansOf(pool: string): Promise<{ ids: string[]; name: string }> {
    if (pool.startsWith('librarian:')) {
      const id = pool.slice('librarian:'.length);
      const [row] = await db
        .select({ id: librarians.id, name: librarians.name, active: librarians.active })
        .from(librarians)
        .where(eq(librarians.id, id));
      return { ids: row?.active ? [row.id] : [], name: row?.name ?? '' };
    }
    const query = pool.startsWith('team:') ? { team: pool.slice(5) } : { subject: pool.slice(8) };
    try {
      const resolved = await deps.pools.resolve(query);
      return { ids: resolved.librarianIds, name: resolved.name };
    } catch (error) {
      if (error instanceof NotFound) return { ids: [], name: '' };
      throw error;
    }
  }

  function view(row: EntryRow, name: string, offer: OfferRow | undefined) {
    return {
      id: row.id,
      pool: row.pool,
      name,
      from: row.fromDate,
      to: row.toDate,
      weekdays: row.weekdays,
      earliest: row.earliest,
      latest: row.latest,
      companionName: row.companionName,
      status: row.status,
      offer: offer
        ? {
            start: offer.startsAt.toISOString(),
            end: offer.endsAt.toISOString(),
            expires: offer.expiresAt.toISOString(),
            broadcast: offer.broadcast,
          }
        : null,
      createdAt: row.createdAt.toISOString(),
    };
  }

  /** Takes the matching lease: one process matches at a time; false when another holds it. */
  async function takeLease(now: Date): Promise<boolean> {
    const rows = await db
      .insert(workerLeases)
      .values({ name: 'waitlist', lockedUntil: new Date(now.getTime() + LEASE_MS) })
      .onConflictDoUpdate({
        target: workerLeases.name,
        set: { lockedUntil: new Date(now.getTime() + LEASE_MS) },
        setWhere: lte(workerLeases.lockedUntil, now),
      })
      .returning();
    return rows.length > 0;
  }

  async function offerRow(token: string) {
    const [row] = await db
      .select({ offer: waitlistOffers, entry: waitlistEntries, student: students })
      .from(waitlistOffers)
      .innerJoin(waitlistEntries, eq(waitlistEntries.id, waitlistOffers.entryId))
      .innerJoin(students, eq(students.id, waitlistEntries.studentId))
      .where(eq(waitlistOffers.tokenHash, hashManageToken(token)));
    if (!row) throw new NotFound('Offer');
    return row;
  }

  const figures = createWaitlistFigures({ db, categories: deps.categories, zone });

  /**
   * The booking an accepted offer made: noted on the offer, or (when the process stopped between
   * the booking and noting it) the student's confirmed booking of that time, noted now.
   */
  async function acceptedBooking(offer: OfferRow, user: AuthUser) {
    const caller = { user, manageToken: null };
    if (offer.bookingId) return deps.bookings.get(offer.bookingId, caller);
    const found = await deps.bookings.list(user, {
      from: offer.startsAt.toISOString(),
      to: new Date(offer.startsAt.getTime() + 1).toISOString(),
      librarianId: offer.librarianId,
      status: 'confirmed',
      limit: 1,
      offset: 0,
    });
    const booking = found.bookings[0];
    if (!booking) throw OFFER_GONE();
    await db.update(waitlistOffers).set({ bookingId: booking.id }).where(eq(waitlistOffers.id, offer.id));
    return booking;
  }

  const OFFER_GONE = () =>
    new Conflict('offer_gone', 'This offer has ended: it expired, was declined, or someone else took the time first.');

  return {
    /** Joins the waitlist; at most MAX_OPEN_ENTRIES waiting at once. */
    async join(user: AuthUser, input: JoinWaitlist) {
      const targets = [input.librarianId, input.subject, input.team].filter((value) => value !== undefined);
      if (targets.length !== 1) {
        throw new InvalidInput('Wait for one librarian, subject or team.', [
          { pointer: '/librarianId', in: 'body', message: 'give exactly one of librarianId, subject and team' },
        ]);
      }
      const pool =
        input.librarianId !== undefined
          ? `librarian:${input.librarianId}`
          : input.team !== undefined
            ? `team:${input.team}`
            : `subject:${(input.subject as string).trim().toLowerCase()}`;
      const found = await librariansOf(pool);
      if (found.ids.length === 0) throw new NotFound('Librarian, subject or team');
      const today = formatCivilDate(civilDateAt(clock.now().getTime(), zone));
      const latestDate = formatCivilDate(addDays(parseCivilDate(today), MAX_WAIT_DAYS));
      if (input.to < input.from) {
        throw new RuleViolation('bad_range', 'The last day is before the first.', [
          { pointer: '/to', in: 'body', message: 'must be on or after from' },
        ]);
      }
      if (input.to < today || input.from > latestDate) {
        throw new RuleViolation('bad_range', `Wait for days between today and ${latestDate}.`, [
          {
            pointer: input.to < today ? '/to' : '/from',
            in: 'body',
            message: `must be between ${today} and ${latestDate}`,
          },
        ]);
      }
      if (input.earliest && input.latest && input.latest <= input.earliest) {
        throw new RuleViolation('bad_times', 'The latest time is not after the earliest.', [
          { pointer: '/latest', in: 'body', message: 'must be after earliest' },
        ]);
      }
      const now = clock.now();
      const row = await transaction(db, async (tx) => {
        const student = await deps.categories.lockStudent(user, tx);
        const [open] = await tx
          .select({ n: count() })
          .from(waitlistEntries)
          .where(and(eq(waitlistEntries.studentId, student.id), eq(waitlistEntries.status, 'waiting')));
        if ((open?.n ?? 0) >= MAX_OPEN_ENTRIES) {
          throw new RuleViolation(
            'waitlist_limit',
            `You are waiting for ${MAX_OPEN_ENTRIES} times already; leave one first.`,
          );
        }
        const [inserted] = await tx
          .insert(waitlistEntries)
          .values({
            studentId: student.id,
            pool,
            // Dates as YYYY-MM-DD compare as text: no earlier than today, no later than the limit.
            fromDate: [input.from, today].sort()[1] as string,
            toDate: [input.to, latestDate].sort()[0] as string,
            weekdays: [...new Set(input.weekdays ?? [])].sort(),
            earliest: input.earliest ?? null,
            latest: input.latest ?? null,
            companionName: input.companion?.name.trim() ?? null,
            companionEmail: input.companion?.email?.trim() ?? null,
            studentCategories: student.categories,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        return inserted as EntryRow;
      });
      return view(row, found.name, undefined);
    },

    /** A student's entries still waiting, with any open offer. */
    async list(user: AuthUser) {
      const rows = await db
        .select({ entry: waitlistEntries })
        .from(waitlistEntries)
        .innerJoin(students, eq(students.id, waitlistEntries.studentId))
        .where(and(eq(students.idpSubject, user.sub), eq(waitlistEntries.status, 'waiting')))
        .orderBy(asc(waitlistEntries.createdAt));
      const offers =
        rows.length === 0
          ? []
          : await db
              .select()
              .from(waitlistOffers)
              .where(
                and(
                  inArray(
                    waitlistOffers.entryId,
                    rows.map((row) => row.entry.id),
                  ),
                  eq(waitlistOffers.status, 'open'),
                  gt(waitlistOffers.expiresAt, clock.now()),
                ),
              );
      return Promise.all(
        rows.map(async ({ entry }) =>
          view(
            entry,
            (await librariansOf(entry.pool)).name,
            offers.find((offer) => offer.entryId === entry.id),
          ),
        ),
      );
    },

    /** Leaves the waitlist: the entry ends and any offer it holds is declined. Another student's entry is a 404. */
    async leave(user: AuthUser, id: string) {
      const now = clock.now();
      await transaction(db, async (tx) => {
        const [entry] = await tx
          .update(waitlistEntries)
          .set({ status: 'left', endedAt: now, updatedAt: now })
          .where(
            and(
              eq(waitlistEntries.id, id),
              eq(waitlistEntries.status, 'waiting'),
              sql`${waitlistEntries.studentId} = (select id from ${students} where idp_subject = ${user.sub})`,
            ),
          )
          .returning();
        if (!entry) throw new NotFound(`Waitlist entry ${id}`);
        await tx
          .update(waitlistOffers)
          .set({ status: 'declined', decidedAt: now })
          .where(and(eq(waitlistOffers.entryId, id), eq(waitlistOffers.status, 'open')));
      });
    },

    /** How many students are waiting for a librarian by name (not for subjects or teams they are in). */
    async waitingFor(librarianId: string): Promise<number> {
      const [row] = await db
        .select({ n: count() })
        .from(waitlistEntries)
        .where(and(eq(waitlistEntries.pool, `librarian:${librarianId}`), eq(waitlistEntries.status, 'waiting')));
      return row?.n ?? 0;
    },

    /** Unmet demand by month, what was waited for (by name) and a category: for analysts. */
    async figures(query: Parameters<typeof figures>[0]) {
      const rows = await figures(query);
      const names = new Map<string, string>();
      for (const pool of new Set(rows.map((row) => row.pool))) names.set(pool, (await librariansOf(pool)).name);
      return rows.map((row) => ({ ...row, name: names.get(row.pool) || row.pool }));
    },

    /** How many wait for each subject and team (admins). */
    async waitingByPool() {
      return db
        .select({ pool: waitlistEntries.pool, waiting: count() })
        .from(waitlistEntries)
        .where(eq(waitlistEntries.status, 'waiting'))
        .groupBy(waitlistEntries.pool)
        .orderBy(waitlistEntries.pool);
    },

    /**
     * One round of matching (the worker's tick; one process at a time, by lease): offers that ran
     * out expire, entries past their last day end, then each waiting entry without an open offer,
     * oldest first, is offered the earliest free time that suits it and that no older entry was
     * offered this round; within 2 hours of the start, every matching entry is offered it at once.
     */
    async match(): Promise<{ offered: number; expired: number }> {
      const now = clock.now();
      if (!(await takeLease(now))) return { offered: 0, expired: 0 };
      try {
        const expired = await transaction(db, async (tx) => {
          const gone = await tx
            .update(waitlistOffers)
            .set({ status: 'expired', decidedAt: now })
            .where(and(eq(waitlistOffers.status, 'open'), lte(waitlistOffers.expiresAt, now)))
            .returning();
          for (const offer of gone) {
            await publishEvent(tx, 'waitlist.expired', now, { offerId: offer.id, entryId: offer.entryId });
          }
          const today = formatCivilDate(civilDateAt(now.getTime(), zone));
          await tx
            .update(waitlistEntries)
            .set({ status: 'ended', endedAt: now, updatedAt: now })
            .where(and(eq(waitlistEntries.status, 'waiting'), sql`${waitlistEntries.toDate} < ${today}::date`));
          return gone.length;
        });
        const waiting = await db
          .select()
          .from(waitlistEntries)
          .where(eq(waitlistEntries.status, 'waiting'))
          .orderBy(asc(waitlistEntries.createdAt), asc(waitlistEntries.id));
        if (waiting.length === 0) return { offered: 0, expired };
        const offers = await db
          .select()
          .from(waitlistOffers)
          .where(
            inArray(
              waitlistOffers.entryId,
              waiting.map((entry) => entry.id),
            ),
          );
        // Entries waiting for the same librarians over the same dates share one read of their lists
        // this round (all the pool's librarians in one statement).
        const listsRead = new Map<string, Promise<PoolLists>>();
        // Only times given up since the oldest entry joined can be offered (freedSince), never one
        // that was free when its student joined: they saw it, and a hold would hide it from everyone.
        const earliestJoin = waiting[0]?.createdAt ?? now;
        // A slot read spans at most 62 days: from today (or the entry's first day) that far on.
        const today = formatCivilDate(civilDateAt(now.getTime(), zone));
        const listsFor = (entry: EntryRow) => {
          const from = [entry.fromDate, today].sort()[1] as string;
          const to = [entry.toDate, formatCivilDate(addDays(parseCivilDate(from), 61))].sort()[0] as string;
          const key = `${entry.pool} ${from} ${to}`;
          let lists = listsRead.get(key);
          if (!lists) {
            lists = librariansOf(entry.pool).then(async ({ ids }) => {
              if (ids.length === 0 || to < from) return { librarians: [], freed: [] };
              // Each librarian's notice comes with their row, read in the same statement as the slots.
              const [found, freed] = await Promise.all([
                deps.availability.rawSlotsMany(ids, { from, to, tz: zone }),
                deps.bookings.freedSince(ids, earliestJoin),
              ]);
              const free = found.flatMap((row) =>
                row
                  ? [
                      {
                        librarianId: row.librarian.id,
                        minNotice: row.librarian.minNoticeMinutes,
                        slots: row.answer.slots,
                      },
                    ]
                  : [],
              );
              return { librarians: free, freed };
            });
            listsRead.set(key, lists);
          }
          return lists;
        };
        /** Times given to an entry this round: librarian and start. */
        const claimed = new Set<string>();
        // A student holds at most one time at once, whatever the number of their entries.
        const waitingById = new Map(waiting.map((entry) => [entry.id, entry]));
        const holding = new Set(
          offers
            .filter((offer) => offer.status === 'open' && !offer.broadcast && offer.expiresAt > now)
            .map((offer) => waitingById.get(offer.entryId)?.studentId),
        );
        let offered = 0;
        for (const entry of waiting) {
          const own = offers.filter((offer) => offer.entryId === entry.id);
          if (own.some((offer) => offer.status === 'open' && offer.expiresAt > now)) continue;
          const before = new Set(own.map((offer) => `${offer.librarianId} ${offer.startsAt.getTime()}`));
          const wish: Wish = {
            fromDate: entry.fromDate,
            toDate: entry.toDate,
            weekdays: entry.weekdays,
            earliest: entry.earliest,
            latest: entry.latest,
          };
          const candidates: { librarianId: string; minNotice: number; startMs: number; endMs: number }[] = [];
          const { librarians: lists, freed } = await listsFor(entry);
          const joinedMs = entry.createdAt.getTime();
          const freedSinceJoining = (librarianId: string, startMs: number, endMs: number) =>
            freed.some(
              (time) =>
                time.librarianId === librarianId &&
                time.freedMs >= joinedMs &&
                time.startMs < endMs &&
                startMs < time.endMs,
            );
          for (const { librarianId, minNotice, slots } of lists) {
            for (const slot of slots) {
              if (
                suits(wish, slot.startMs, slot.endMs, zone) &&
                freedSinceJoining(librarianId, slot.startMs, slot.endMs)
              ) {
                candidates.push({ librarianId, minNotice, startMs: slot.startMs, endMs: slot.endMs });
              }
            }
          }
          candidates.sort((a, b) => a.startMs - b.startMs);
          for (const candidate of candidates) {
            const key = `${candidate.librarianId} ${candidate.startMs}`;
            if (before.has(key)) continue;
            const terms = offerTerms(candidate.startMs, now.getTime(), config.waitlistHoldMinutes, candidate.minNotice);
            if (!terms || (!terms.broadcast && (claimed.has(key) || holding.has(entry.studentId)))) continue;
            claimed.add(key);
            if (!terms.broadcast) holding.add(entry.studentId);
            await makeOffer(entry, candidate, terms, now);
            offered++;
            break;
          }
        }
        return { offered, expired };
      } finally {
        // Released to the epoch, not to now: a process whose clock runs behind can take it at once.
        await db
          .update(workerLeases)
          .set({ lockedUntil: new Date(0) })
          .where(eq(workerLeases.name, 'waitlist'));
      }
    },

    /** An offer as its link shows it. */
    async offer(token: string) {
      const { offer, entry } = await offerRow(token);
      const [librarian] = await db
        .select({ name: librarians.name })
        .from(librarians)
        .where(eq(librarians.id, offer.librarianId));
      const now = clock.now();
      return {
        status: offer.status === 'open' && offer.expiresAt <= now ? ('expired' as const) : offer.status,
        start: offer.startsAt.toISOString(),
        end: offer.endsAt.toISOString(),
        expires: offer.expiresAt.toISOString(),
        broadcast: offer.broadcast,
        librarianName: librarian?.name ?? '',
        companionName: entry.companionName,
        bookingId: offer.bookingId,
      };
    },

    /**
     * Accepts an offer from its link: books the time for the entry's student (with their friend)
     * in one transaction that first marks the offer accepted (releasing its hold) and the entry
     * booked; an offer that ended, or a broadcast time someone took first, is refused.
     */
    async accept(token: string) {
      const { offer, entry, student } = await offerRow(token);
      const now = clock.now();
      const user: AuthUser = {
        sub: student.idpSubject,
        email: student.email ?? undefined,
        name: student.name ?? undefined,
        roles: ['student'],
      } as AuthUser;
      // Taken already (a retry, or a crash between the booking and noting it): the same booking.
      if (offer.status === 'accepted') return acceptedBooking(offer, user);
      if (offer.status !== 'open' || offer.expiresAt <= now || entry.status !== 'waiting') throw OFFER_GONE();
      try {
        const { booking } = await deps.bookings.create(
          user,
          {
            librarianId: offer.librarianId,
            start: offer.startsAt.toISOString(),
            ...(entry.companionName
              ? {
                  companions: [
                    { name: entry.companionName, ...(entry.companionEmail ? { email: entry.companionEmail } : {}) },
                  ],
                }
              : {}),
          },
          {
            ...(entry.pool.startsWith('librarian:') ? {} : { pool: entry.pool }),
            beforeDecision: async (tx: Executor) => {
              const [taken] = await tx
                .update(waitlistOffers)
                .set({ status: 'accepted', decidedAt: now })
                .where(
                  and(
                    eq(waitlistOffers.id, offer.id),
                    eq(waitlistOffers.status, 'open'),
                    gt(waitlistOffers.expiresAt, now),
                  ),
                )
                .returning();
              if (!taken) throw OFFER_GONE();
              await tx
                .update(waitlistEntries)
                .set({ status: 'booked', endedAt: now, updatedAt: now })
                .where(eq(waitlistEntries.id, entry.id));
              await publishEvent(tx, 'waitlist.accepted', now, { offerId: offer.id, entryId: entry.id });
            },
          },
        );
        await db.update(waitlistOffers).set({ bookingId: booking.id }).where(eq(waitlistOffers.id, offer.id));
        return booking;
      } catch (error) {
        if (error instanceof DomainError && error.code === 'slot_unavailable') {
          // A broadcast time someone else took first: this offer is over.
          await db
            .update(waitlistOffers)
            .set({ status: 'lost', decidedAt: now })
            .where(and(eq(waitlistOffers.id, offer.id), eq(waitlistOffers.status, 'open')));
          throw OFFER_GONE();
        }
        throw error;
      }
    },

    /** Declines an offer from its link: the time goes to the next student at the next round. */
    async decline(token: string) {
      const { offer } = await offerRow(token);
      const now = clock.now();
      const [declined] = await db
        .update(waitlistOffers)
        .set({ status: 'declined', decidedAt: now })
        .where(and(eq(waitlistOffers.id, offer.id), eq(waitlistOffers.status, 'open')))
        .returning();
      if (!declined) throw OFFER_GONE();
    },
  };

  /** An offer, its email (with the accept link) and its webhook event, together. */
  async function makeOffer(
    entry: EntryRow,
    candidate: { librarianId: string; startMs: number; endMs: number },
    terms: { broadcast: boolean; expiresMs: number },
    now: Date,
  ) {
    const token = generateManageToken();
    await transaction(db, async (tx) => {
      const [offer] = await tx
        .insert(waitlistOffers)
        .values({
          entryId: entry.id,
          librarianId: candidate.librarianId,
          startsAt: new Date(candidate.startMs),
          endsAt: new Date(candidate.endMs),
          broadcast: terms.broadcast,
          tokenHash: hashManageToken(token),
          expiresAt: new Date(terms.expiresMs),
          createdAt: now,
        })
        .returning();
      const [student] = await tx.select().from(students).where(eq(students.id, entry.studentId));
      if (student?.email) {
        await writeTogether(tx, {
          offer_email: queueMessages(tx, [
            {
              kind: 'waitlist_offer',
              recipientRole: 'student',
              recipientEmail: student.email,
              recipientName: student.name,
              language: student.language,
              sendAfter: now,
              createdAt: now,
              messageId: newMessageId(messageIdDomain),
              linkToken: token,
              payload: { offerId: offer?.id },
            },
          ]),
        });
      }
      await publishEvent(tx, 'waitlist.offered', now, {
        offerId: offer?.id,
        entryId: entry.id,
        librarianId: candidate.librarianId,
        start: new Date(candidate.startMs).toISOString(),
        broadcast: terms.broadcast,
      });
    });
  }
}

export type WaitlistService = ReturnType<typeof createWaitlistService>;
