import type { FastifyRequest } from 'fastify';
import type { Booking } from '../../modules/bookings/schemas.js';
import { UUID } from '../layout/forms.js';
import { knownValue, type PageContext, requireSignIn } from '../layout/page.js';
import { type Form, type Reply, type StudentPageDeps, studentPages } from './shared.js';

/** Notices a booking page shows after a change redirected to it (?notice=…). */
export const BOOKING_NOTICES = [
  'moved',
  'cancelled',
  'friendSaved',
  'friendCorrected',
  'friendRemoved',
  'declined',
  'rejoined',
  'confirmed',
  'attendance',
  'attendanceMissing',
  'attendanceRefused',
] as const;

export function noticeOf(page: PageContext, value: unknown): string | null {
  const notice = knownValue(value, BOOKING_NOTICES);
  return notice ? page.t(`booking.notice.${notice}`) : null;
}
/** One booking's page, for whoever may see it (signed in, or with an emailed link): loading it and what it shows. */
export function bookingPages(deps: StudentPageDeps) {
  const { clock } = deps;
  const { caller } = studentPages(deps);
  async function loadBooking(request: FastifyRequest, id: string, token: string | undefined) {
    if (!UUID.test(id)) return null;
    if (!token && !request.session?.user) return 'sign-in' as const;
    return (await deps.bookings.getWithParty(id, caller(request, token))).booking;
  }

  /** The booking's page again (with the link's token, if that is how the person came), with a notice. */
  function bookingUrl(id: string, token: string | undefined, notice: string): string {
    return `/bookings/${id}${token ? `?token=${encodeURIComponent(token)}&` : '?'}notice=${notice}`;
  }

  /** A form posted about one booking: its fields, the link's token, and the booking (or the reply is sent). */
  async function postedBooking(request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply: Reply) {
    const form = request.body ?? {};
    const token = form.token || undefined;
    const booking = await loadBooking(request, request.params.id, token);
    if (booking === 'sign-in') {
      requireSignIn(request, reply);
      return null;
    }
    if (!booking) {
      await reply.callNotFound();
      return null;
    }
    return { form, token, booking };
  }

  /** How many friends the booking's librarian allows (none once the librarian has gone). */
  async function maxFriendsOf(booking: Booking): Promise<number> {
    if (!booking.librarian) return 0;
    const librarian = await deps.librarians.get(null, booking.librarian.id).catch(() => null);
    return librarian?.maxCompanions ?? 0;
  }

  /** When the student's reminder goes, in the viewer's words; null when none will (too late, or no address). */
  function reminderAt(booking: Booking, startMs: number, now: number, page: PageContext): string | null {
    const at = startMs - deps.config.reminderHours * 3_600_000;
    if (at <= now || !booking.student?.email) return null;
    return page.fmt.full(at);
  }

  function bookingView(page: PageContext, booking: Booking, token: string | undefined, companionId: string | null) {
    const startMs = Date.parse(booking.startUtc);
    const endMs = Date.parse(booking.endUtc);
    const now = clock.now().getTime();
    return {
      booking,
      token: token ?? '',
      tokenQuery: token ? `?token=${encodeURIComponent(token)}` : '',
      when: page.fmt.span(startMs, endMs),
      libraryWhen: booking.timeZone !== page.timeZone ? page.fmt.span(startMs, endMs, booking.timeZone) : null,
      isCompanionView: companionId !== null,
      hasStarted: startMs <= now,
      ownCompanion: booking.companions.find((companion) => companion.id === companionId) ?? null,
      activeFriends: booking.companions.filter((companion) => companion.status === 'invited'),
      canChange: booking.status === 'confirmed' && startMs > now,
      isLate: startMs - now < 24 * 3_600_000,
      // The reminder is queued with the booking only when its time is still to come (outbox.ts).
      reminderAt: reminderAt(booking, startMs, now, page),
    };
  }

  return { loadBooking, bookingUrl, postedBooking, maxFriendsOf, bookingView };
}
