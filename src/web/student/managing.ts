import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError, NotFound } from '../../errors.js';
import type { Booking } from '../../modules/bookings/schemas.js';
import { INSTANT, UUID } from '../layout/forms.js';
import { type PageError, pageLanguage, requireSignIn } from '../layout/page.js';
import { bookingPages, noticeOf } from './booking-page.js';
import { type Form, type StudentPageDeps, studentPages, WEEKS_SHOWN } from './shared.js';

/** My bookings, and one booking managed signed in or with the emailed link: its page, moving and cancelling it. */
export async function managingRoutes(app: FastifyInstance, deps: StudentPageDeps) {
  const { clock } = deps;
  const { context, slotDays, today, caller, ruleMessage } = studentPages(deps);
  const { loadBooking, bookingUrl, postedBooking, maxFriendsOf, bookingView } = bookingPages(deps);

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
    const waiting = user.roles.includes('student') ? await deps.waitlist.list(user) : [];
    return reply.view('student/bookings', {
      ...page,
      title: page.t('bookings.title'),
      waiting: waiting.map((entry) => ({
        ...entry,
        dates: page.fmt.period(entry.from, entry.to, true),
        offerWhen: entry.offer ? page.fmt.span(Date.parse(entry.offer.start), Date.parse(entry.offer.end)) : null,
      })),
      notice: (request.query as Form | undefined)?.waiting
        ? page.t('waitlist.notice.joined')
        : (request.query as Form | undefined)?.left
          ? page.t('waitlist.notice.left')
          : null,
      upcoming: bookings.filter((b) => Date.parse(b.startUtc) > now && b.status === 'confirmed').map(view),
      past: bookings
        .filter((b) => Date.parse(b.startUtc) <= now || b.status === 'cancelled')
        .reverse()
        .map(view),
    });
  });

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
      const ics = await deps.calendar.bookingInvite(
        request.params.id,
        caller(request, token),
        pageLanguage(request, deps.catalogues),
      );
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
        modeChange: null,
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
      const librarianId = posted.booking.librarian.id;
      const page = context(request);
      const days = await slotDays(page, librarianId, today(page), WEEKS_SHOWN * 7, Date.parse(booking.startUtc));
      const back = (errors: PageError[], status: number, modeChange: { start: string; when: string } | null = null) =>
        reply.code(status).view('student/reschedule', {
          ...page,
          title: page.t('reschedule.title'),
          ...bookingView(page, booking, token, null),
          days,
          errors,
          modeChange,
        });
      if (!form.start || !INSTANT.test(form.start)) {
        return back([{ field: 'slots', message: page.t('reschedule.chooseTime') }], 400);
      }
      // A time that cannot keep the session's way of meeting (in person, online) is said before the move.
      const chosen = days.flatMap((day) => day.slots).find((slot) => slot.startMs === Date.parse(form.start as string));
      if (chosen && !chosen.modes.includes(booking.mode) && form.confirmedStart !== chosen.start) {
        return back([], 200, { start: chosen.start, when: chosen.label });
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
}
