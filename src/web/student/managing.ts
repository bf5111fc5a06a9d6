import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError, NotFound } from '../../errors.js';
import type { Booking } from '../../modules/bookings/schemas.js';
import { EMAIL, INSTANT, UUID } from '../layout/forms.js';
import { knownValue, type PageContext, type PageError, requireSignIn } from '../layout/page.js';
import { type Form, type Reply, type StudentPageDeps, studentPages, WEEKS_SHOWN } from './shared.js';

/** Notices a booking page shows after a change redirected to it (?notice=…). */
export const BOOKING_NOTICES = [
  'moved',
  'cancelled',
  'friendSaved',
  'friendCorrected',
  'friendRemoved',
  'declined',
  'attendance',
  'attendanceMissing',
  'attendanceRefused',
] as const;

function noticeOf(page: PageContext, value: unknown): string | null {
  const notice = knownValue(value, BOOKING_NOTICES);
  return notice ? page.t(`booking.notice.${notice}`) : null;
}

/** My bookings, and one booking managed signed in or with the emailed link: move, cancel, friends. */
export async function managingRoutes(app: FastifyInstance, deps: StudentPageDeps) {
  const { clock } = deps;
  const { context, slotDays, today, caller, ruleMessage } = studentPages(deps);

  // 5. My bookings.
  app.get('/bookings', { config: { page: true } }, async (request, reply) => {
    const user = requireSignIn(request, reply);
    if (!user) return reply;
    const page = context(request);
    const now = clock.now().getTime();
    const { bookings } =
      user.roles.includes('student') || user.roles.includes('librarian') || user.roles.includes('admin')
        ? await deps.bookings.list(user, { limit: 200, offset: 0 })
        : { bookings: [] as Booking[] };
    const view = (booking: Booking) => ({
      booking,
      when: page.fmt.span(Date.parse(booking.startUtc), Date.parse(booking.endUtc)),
    });
    return reply.view('student/bookings', {
      ...page,
      title: page.t('bookings.title'),
      upcoming: bookings.filter((b) => Date.parse(b.startUtc) > now && b.status === 'confirmed').map(view),
      past: bookings
        .filter((b) => Date.parse(b.startUtc) <= now || b.status === 'cancelled')
        .reverse()
        .map(view),
    });
  });

  // 6. Manage one booking, signed in or with the emailed link.
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

  app.get(
    '/bookings/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) => {
      const token = request.query.token;
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      if (!token && !request.session?.user) return requireSignIn(request, reply) ?? reply;
      const found = await deps.bookings.getWithParty(request.params.id, caller(request, token)).catch(async (error) => {
        // A friend who was removed keeps their emailed link: it says so, rather than "not found".
        if (
          error instanceof NotFound &&
          token &&
          (await deps.companions.isRemovedFriendLink(request.params.id, token))
        ) {
          return null;
        }
        throw error;
      });
      const page = context(request);
      if (found === null) {
        return reply.code(410).view('layout/message', {
          ...page,
          title: page.t('booking.removed.title'),
          message: page.t('booking.removed.body'),
          link: null,
        });
      }
      const { booking, companionId } = found;
      const user = request.session?.user ?? null;
      const isStaffView =
        !token &&
        Boolean(user?.roles.includes('admin') || (user?.librarianId && user.librarianId === booking.librarian?.id));
      return reply.view('student/booking', {
        ...page,
        title: isStaffView
          ? page.t('booking.staffTitle', { name: booking.student?.name ?? page.t('booking.aStudent') })
          : page.t('booking.title'),
        ...bookingView(page, booking, token, companionId),
        justBooked: request.query.booked === '1',
        isStaffView,
        // What the student and friends said afterwards, comments included: staff only.
        feedback: isStaffView && user ? await deps.feedback.forBooking(user, booking.id) : [],
        notice: noticeOf(page, request.query.notice),
        maxFriends: await maxFriendsOf(booking),
      });
    },
  );

  app.get(
    '/bookings/:id/calendar.ics',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) => {
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const token = request.query.token;
      if (!token && !request.session?.user) return requireSignIn(request, reply) ?? reply;
      const ics = await deps.calendar.bookingInvite(request.params.id, caller(request, token));
      return reply
        .type('text/calendar; charset=utf-8')
        .header('content-disposition', 'attachment; filename="library-session.ics"')
        .send(ics);
    },
  );

  app.get(
    '/bookings/:id/reschedule',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) => {
      const token = request.query.token;
      const booking = await loadBooking(request, request.params.id, token);
      if (booking === 'sign-in') return requireSignIn(request, reply) ?? reply;
      if (!booking?.librarian) return reply.callNotFound();
      const page = context(request);
      const days = await slotDays(
        page,
        booking.librarian.id,
        today(page),
        WEEKS_SHOWN * 7,
        Date.parse(booking.startUtc),
      );
      return reply.view('student/reschedule', {
        ...page,
        title: page.t('reschedule.title'),
        ...bookingView(page, booking, token, null),
        days,
        errors: [],
      });
    },
  );

  app.post(
    '/bookings/:id/reschedule',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const posted = await postedBooking(request, reply);
      if (!posted?.booking.librarian) return posted ? reply.callNotFound() : reply;
      const { form, token, booking } = posted;
      const page = context(request);
      const back = async (errors: PageError[], status: number) =>
        reply.code(status).view('student/reschedule', {
          ...page,
          title: page.t('reschedule.title'),
          ...bookingView(page, booking, token, null),
          days: await slotDays(
            page,
            booking.librarian?.id as string,
            today(page),
            WEEKS_SHOWN * 7,
            Date.parse(booking.startUtc),
          ),
          errors,
        });
      if (!form.start || !INSTANT.test(form.start)) {
        return back([{ field: 'slots', message: page.t('reschedule.chooseTime') }], 400);
      }
      try {
        await deps.bookings.reschedule(booking.id, caller(request, token), {
          start: new Date(Date.parse(form.start)).toISOString(),
        });
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        const message =
          error.code === 'slot_unavailable' || error.code === 'outside_availability'
            ? page.t('book.taken.title')
            : ruleMessage(page, error);
        return back([{ field: 'slots', message }], error.status);
      }
      return reply.redirect(bookingUrl(booking.id, token, 'moved'), 303);
    },
  );

  app.get(
    '/bookings/:id/cancel',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) => {
      const token = request.query.token;
      const booking = await loadBooking(request, request.params.id, token);
      if (booking === 'sign-in') return requireSignIn(request, reply) ?? reply;
      if (!booking) return reply.callNotFound();
      const page = context(request);
      return reply.view('student/cancel', {
        ...page,
        title: page.t('cancel.title'),
        ...bookingView(page, booking, token, null),
        errors: [],
      });
    },
  );

  app.post(
    '/bookings/:id/cancel',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const posted = await postedBooking(request, reply);
      if (!posted) return reply;
      const { form, token, booking } = posted;
      const page = context(request);
      const reason = (form.reason ?? '').trim();
      if (reason.length > 2000) {
        return reply.code(400).view('student/cancel', {
          ...page,
          title: page.t('cancel.title'),
          ...bookingView(page, booking, token, null),
          errors: [{ field: 'reason', message: page.t('cancel.reasonTooLong') }],
          form,
        });
      }
      await deps.bookings.cancel(booking.id, caller(request, token), reason ? { reason } : {});
      return reply.redirect(bookingUrl(booking.id, token, 'cancelled'), 303);
    },
  );

  app.post(
    '/bookings/:id/friends',
    { config: { page: true, zoneReturn: (request) => ({ next: request.url.replace(/\/friends(?=$|\?)/, '') }) } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const posted = await postedBooking(request, reply);
      if (!posted) return reply;
      const { form, token, booking } = posted;
      const page = context(request);
      const name = (form.name ?? '').trim();
      const email = (form.email ?? '').trim();
      // A correction names the friend it corrects; its fields carry that friend's id.
      const companionId = form.companionId && UUID.test(form.companionId) ? form.companionId : undefined;
      const suffix = companionId ? `-${companionId}` : '';
      const errors: PageError[] = [];
      if (!name || name.length > 200)
        errors.push({ field: `friend-name${suffix}`, message: page.t('book.friend.nameRequired') });
      if (email && !EMAIL.test(email))
        errors.push({ field: `friend-email${suffix}`, message: page.t('book.friend.emailInvalid') });
      const again = async (status: number, extraErrors: PageError[]) =>
        reply.code(status).view('student/booking', {
          ...page,
          title: page.t('booking.title'),
          ...bookingView(page, booking, token, null),
          justBooked: false,
          notice: null,
          friendErrors: extraErrors,
          ...(companionId ? { friendEdit: { companionId, name, email } } : { friendForm: { name, email } }),
          maxFriends: await maxFriendsOf(booking),
        });
      if (errors.length > 0) return again(400, errors);
      try {
        await deps.companions.putCompanion(booking.id, caller(request, token), {
          name,
          ...(email ? { email } : {}),
          ...(companionId ? { companionId } : {}),
        });
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return again(error.status, [{ field: `friend-name${suffix}`, message: ruleMessage(page, error) }]);
      }
      return reply.redirect(bookingUrl(booking.id, token, companionId ? 'friendCorrected' : 'friendSaved'), 303);
    },
  );

  app.post(
    '/bookings/:id/friends/remove',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const posted = await postedBooking(request, reply);
      if (!posted) return reply;
      const { form, token, booking } = posted;
      if (!form.companionId || !UUID.test(form.companionId)) return reply.callNotFound();
      await deps.companions.removeCompanion(booking.id, caller(request, token), form.companionId);
      return reply.redirect(bookingUrl(booking.id, token, 'friendRemoved'), 303);
    },
  );

  app.post(
    '/bookings/:id/decline',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const token = request.body?.token;
      if (!token || !UUID.test(request.params.id)) return reply.callNotFound();
      await deps.companions.declineAsCompanion(request.params.id, { user: null, manageToken: token });
      return reply.redirect(bookingUrl(request.params.id, token, 'declined'), 303);
    },
  );
}
