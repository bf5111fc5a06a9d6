import { and, asc, count, eq, gte, inArray, lt } from 'drizzle-orm';
import { bookingEvents, bookings } from '../../db/schema.js';
import { Forbidden } from '../../errors.js';
import type { AuthUser } from '../../plugins/auth.js';
import { localDaysToInstants } from '../../time/zone.js';
import { authorize, type Caller, studentIdOf } from './access.js';
import { view } from './change-steps.js';
import { DATE_ONLY } from './placing.js';
import { bookingIdOfToken, loadBookingViews } from './repository.js';
import type { Booking, BookingQuery } from './schemas.js';
import type { BookingServiceDeps } from './service-deps.js';

/** Reading bookings: one, a list, a manage link's booking, and the audit trail. */
export function createBookingQueries(deps: BookingServiceDeps) {
  const { db, clock, config } = deps;

  return {
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

    /**
     * The times these librarians' bookings gave up at or after `since`: cancelled, or moved away
     * from (the time before the move). The waitlist offers only such times, never one that was
     * already free when a student joined.
     */
    async freedSince(librarianIds: readonly string[], since: Date): Promise<FreedTime[]> {
      if (librarianIds.length === 0) return [];
      const cancelled = await db
        .select({
          librarianId: bookings.librarianId,
          start: bookings.startsAt,
          end: bookings.endsAt,
          at: bookings.cancelledAt,
        })
        .from(bookings)
        .where(
          and(
            inArray(bookings.librarianId, [...librarianIds]),
            eq(bookings.status, 'cancelled'),
            gte(bookings.cancelledAt, since),
          ),
        );
      const moved = await db
        .select({ librarianId: bookings.librarianId, before: bookingEvents.before, at: bookingEvents.at })
        .from(bookingEvents)
        .innerJoin(bookings, eq(bookings.id, bookingEvents.bookingId))
        .where(
          and(
            inArray(bookings.librarianId, [...librarianIds]),
            eq(bookingEvents.action, 'rescheduled'),
            gte(bookingEvents.at, since),
          ),
        );
      const freed: FreedTime[] = cancelled.flatMap((row) =>
        row.librarianId && row.at
          ? [
              {
                librarianId: row.librarianId,
                startMs: row.start.getTime(),
                endMs: row.end.getTime(),
                freedMs: row.at.getTime(),
              },
            ]
          : [],
      );
      for (const row of moved) {
        const before = row.before as { start?: unknown; end?: unknown } | null;
        const startMs = typeof before?.start === 'string' ? Date.parse(before.start) : Number.NaN;
        const endMs = typeof before?.end === 'string' ? Date.parse(before.end) : Number.NaN;
        if (row.librarianId && Number.isFinite(startMs) && Number.isFinite(endMs))
          freed.push({ librarianId: row.librarianId, startMs, endMs, freedMs: row.at.getTime() });
      }
      return freed;
    },
  };
}

/** A librarian's time a booking gave up (cancelled, or moved from). */
export interface FreedTime {
  librarianId: string;
  startMs: number;
  endMs: number;
  /** When it was given up. */
  freedMs: number;
}
