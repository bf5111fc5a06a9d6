import type { FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import type { DomainError } from '../../errors.js';
import type { Caller } from '../../modules/bookings/access.js';
import type { WebDeps } from '../deps.js';
import { UUID } from '../layout/forms.js';
import { type PageContext, pageContext } from '../layout/page.js';
import { refusalText } from '../layout/refusals.js';

// What the student pages (finding.ts, booking.ts, managing.ts) share: the services they use,
// the slots of a librarian grouped by the viewer's day, who is asking, and rule messages.

/** What the student pages use of the web front's services. */
export type StudentPageDeps = Pick<
  WebDeps,
  | 'availability'
  | 'bookings'
  | 'calendar'
  | 'calendars'
  | 'campaigns'
  | 'catalogues'
  | 'categories'
  | 'clock'
  | 'companions'
  | 'config'
  | 'feedback'
  | 'librarians'
  | 'pools'
  | 'sessions'
  | 'waitlist'
>;

export type Form = Record<string, string | undefined>;
export type Reply = FastifyReply;

export const WEEKS_SHOWN = 3;

export const DAY = 86_400_000;

/** The offered slots of a librarian, for the viewer's zone, grouped by local day. */
export interface SlotDay {
  key: string;
  heading: string;
  slots: { start: string; startMs: number; label: string; time: string; modes: string[]; location: string | null }[];
}

/** Times, in start order, grouped by the viewer's local day. */
function byLocalDay(
  page: PageContext,
  slots: { startMs: number; modes: string[]; location: string | null }[],
): SlotDay[] {
  const byDay = new Map<string, SlotDay>();
  for (const { startMs, modes, location } of slots) {
    const key = page.fmt.dateKey(startMs);
    const day = byDay.get(key) ?? { key, heading: page.fmt.day(startMs), slots: [] };
    day.slots.push({
      start: new Date(startMs).toISOString(),
      startMs,
      label: page.fmt.full(startMs),
      time: page.fmt.time(startMs),
      modes,
      location,
    });
    byDay.set(key, day);
  }
  return [...byDay.values()];
}

export function isoDate(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone }).toISODate() as string;
}

/** The helpers every student page uses, bound to the services. */
export function studentPages(deps: StudentPageDeps) {
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);

  async function slotDays(
    page: PageContext,
    librarianId: string,
    fromDate: string,
    days: number,
    excludeStartMs?: number,
  ): Promise<SlotDay[]> {
    const to = DateTime.fromISO(fromDate, { zone: page.timeZone })
      .plus({ days: days - 1 })
      .toISODate() as string;
    const list = await deps.availability.listSlots(librarianId, { from: fromDate, to, tz: page.timeZone });
    return byLocalDay(
      page,
      list.slots
        .map((slot) => ({ startMs: Date.parse(slot.start), modes: slot.modes, location: slot.location }))
        .filter((slot) => slot.startMs !== excludeStartMs),
    );
  }

  /** A pool named in a form or a link: "subject:<name>" or "team:<id>", as the query it stands for. */
  function poolQuery(pool: string | undefined): { subject: string } | { team: string } | null {
    if (!pool) return null;
    if (pool.startsWith('team:') && UUID.test(pool.slice(5))) return { team: pool.slice(5) };
    if (pool.startsWith('subject:') && pool.length > 8 && pool.length <= 208) return { subject: pool.slice(8) };
    return null;
  }

  /** A pool's times (any of its librarians), for the viewer's zone, grouped by local day, with the pool's name. */
  async function poolSlotDays(
    page: PageContext,
    query: { subject: string } | { team: string },
    fromDate: string,
    days: number,
  ): Promise<{ name: string; days: SlotDay[] }> {
    const to = DateTime.fromISO(fromDate, { zone: page.timeZone })
      .plus({ days: days - 1 })
      .toISODate() as string;
    const list = await deps.pools.slots({ ...query, from: fromDate, to, tz: page.timeZone });
    return {
      name: list.name,
      days: byLocalDay(
        page,
        list.slots.map((slot) => ({
          startMs: Date.parse(slot.start),
          modes: slot.modes,
          // Where, when the pool's librarians meet in more than one place.
          location: slot.locations.length > 0 ? slot.locations.join(' / ') : null,
        })),
      ),
    };
  }

  function today(page: PageContext): string {
    return isoDate(clock.now().getTime(), page.timeZone);
  }

  async function nextAvailable(page: PageContext, librarianId: string): Promise<number | null> {
    const days = await slotDays(page, librarianId, today(page), 28);
    return days[0]?.slots[0]?.startMs ?? null;
  }

  function caller(request: FastifyRequest, token: string | undefined): Caller {
    if (token) return { user: null, manageToken: token };
    return { user: request.session?.user ?? null, manageToken: null };
  }

  function ruleMessage(page: PageContext, error: DomainError): string {
    return refusalText(page, error, { limit: config.bookingLimitPerStudent });
  }

  function forbidden(request: FastifyRequest) {
    const page = context(request);
    return {
      ...page,
      title: page.t('error.forbidden.title'),
      message: page.t('error.forbidden.body'),
      link: { href: '/', text: page.t('home.title') },
    };
  }

  /**
   * How many upcoming sessions a signed-in student has against the most they may have at once
   * (BOOKING_LIMIT_PER_STUDENT), said before they choose a time; null for anyone else.
   */
  async function allowance(request: FastifyRequest): Promise<{ count: number; max: number; full: boolean } | null> {
    const user = request.session?.user;
    if (!user?.roles.includes('student')) return null;
    const now = clock.now().getTime();
    const { bookings } = await deps.bookings.list(user, { limit: 200, offset: 0 });
    const count = bookings.filter(
      (booking) => booking.status === 'confirmed' && booking.source === 'booked' && Date.parse(booking.startUtc) > now,
    ).length;
    const max = config.bookingLimitPerStudent;
    return { count, max, full: count >= max };
  }

  return {
    context,
    slotDays,
    poolQuery,
    poolSlotDays,
    today,
    nextAvailable,
    caller,
    ruleMessage,
    forbidden,
    allowance,
  };
}
