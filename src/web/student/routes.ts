import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { DomainError } from '../../errors.js';
import type { Caller } from '../../modules/bookings/access.js';
import type { Booking, CompanionInput } from '../../modules/bookings/schemas.js';
import type { Dimension } from '../../modules/categories/schemas.js';
import type { Librarian } from '../../modules/librarians/schemas.js';
import type { WebDeps } from '../deps.js';
import { EMAIL, INSTANT, ISO_DATE, UUID } from '../layout/forms.js';
import { knownValue, type PageContext, type PageError, pageContext, requireSignIn } from '../layout/page.js';

/** What the student pages use of the web front's services. */
type StudentPageDeps = Pick<
  WebDeps,
  | 'availability'
  | 'bookings'
  | 'calendar'
  | 'catalogues'
  | 'categories'
  | 'clock'
  | 'companions'
  | 'config'
  | 'feedback'
  | 'librarians'
>;

/** Notices a booking page shows after a change redirected to it (?notice=…). */
const BOOKING_NOTICES = [
  'moved',
  'cancelled',
  'friendSaved',
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

type Form = Record<string, string | undefined>;
type Reply = FastifyReply;

const WEEKS_SHOWN = 3;
const DAY = 86_400_000;

/** The offered slots of a librarian, for the viewer's zone, grouped by local day. */
interface SlotDay {
  key: string;
  heading: string;
  slots: { start: string; startMs: number; label: string; time: string; modes: string[]; location: string | null }[];
}

function isoDate(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone }).toISODate() as string;
}

/** The student's journey: find a librarian, choose a time, book with a friend, manage it. */
export async function studentRoutes(app: FastifyInstance, deps: StudentPageDeps) {
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
    const byDay = new Map<string, SlotDay>();
    for (const slot of list.slots) {
      const startMs = Date.parse(slot.start);
      if (startMs === excludeStartMs) continue;
      const key = page.fmt.dateKey(startMs);
      const day = byDay.get(key) ?? { key, heading: page.fmt.day(startMs), slots: [] };
      day.slots.push({
        start: new Date(startMs).toISOString(),
        startMs,
        label: page.fmt.full(startMs),
        time: page.fmt.time(startMs),
        modes: slot.modes,
        location: slot.location,
      });
      byDay.set(key, day);
    }
    return [...byDay.values()];
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

  // 1. Find a librarian.
  app.get('/', { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
    const page = context(request);
    const filter = (request.query.q ?? '').trim().slice(0, 100);
    const all = await deps.librarians.list(null, {});
    const matching = filter
      ? all.filter((librarian) =>
          [librarian.name, librarian.faculty ?? '', ...librarian.subjects].some((text) =>
            text.toLowerCase().includes(filter.toLowerCase()),
          ),
        )
      : all;
    const cards = await Promise.all(
      matching.map(async (librarian) => ({ librarian, next: await nextAvailable(page, librarian.id) })),
    );
    return reply.view('student/home', { ...page, title: page.t('home.title'), cards, filter });
  });

  // 2. Choose a time.
  app.get(
    '/librarians/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) => {
      const page = context(request);
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      const librarian = await deps.librarians.get(null, request.params.id);
      const first = today(page);
      const from =
        ISO_DATE.test(request.query.from ?? '') && (request.query.from as string) > first
          ? (request.query.from as string)
          : first;
      const days = await slotDays(page, librarian.id, from, WEEKS_SHOWN * 7);
      const later = DateTime.fromISO(from)
        .plus({ days: WEEKS_SHOWN * 7 })
        .toISODate();
      const earlier =
        from > first
          ? DateTime.fromISO(from)
              .minus({ days: WEEKS_SHOWN * 7 })
              .toISODate()
          : null;
      return reply.view('student/librarian', {
        ...page,
        title: page.t('librarian.title', { name: librarian.name }),
        librarian,
        days,
        nowMs: clock.now().getTime(),
        later,
        earlier: earlier && earlier < first ? first : earlier,
      });
    },
  );

  // 3. Book: the form, then "Check your booking", then confirm.
  interface BookingDraft {
    librarian: Librarian;
    start: string;
    startMs: number;
    endMs: number;
    modes: string[];
    location: string | null;
  }

  async function draftFor(page: PageContext, librarianId: string | undefined, start: string | undefined) {
    if (!librarianId || !UUID.test(librarianId) || !start || !INSTANT.test(start)) return null;
    const librarian = await deps.librarians.get(null, librarianId);
    const startMs = Date.parse(start);
    const days = await slotDays(page, librarianId, isoDate(startMs, page.timeZone), 1);
    const slot = days.flatMap((day) => day.slots).find((candidate) => candidate.startMs === startMs);
    return {
      librarian,
      start: new Date(startMs).toISOString(),
      startMs,
      endMs: startMs + librarian.slotMinutes * 60_000,
      modes: slot?.modes ?? librarian.modes,
      location: slot?.location ?? librarian.location,
      available: Boolean(slot),
    };
  }

  async function dimensionsToAsk(request: FastifyRequest): Promise<Dimension[]> {
    const user = request.session?.user;
    if (!user) return [];
    const answered = await deps.categories.hasAnsweredCategories(user);
    return answered ? [] : deps.categories.listDimensions();
  }

  /** The friends typed on the form (friendName0, friendEmail0, …), keeping empty rows out. */
  function friendsOf(form: Form, max: number): { name: string; email: string }[] {
    return Array.from({ length: Math.max(max, 0) }, (_, index) => ({
      name: (form[`friendName${index}`] ?? '').trim(),
      email: (form[`friendEmail${index}`] ?? '').trim(),
    })).filter((friend) => friend.name || friend.email);
  }

  function checkForm(page: PageContext, draft: BookingDraft, form: Form, dimensions: Dimension[]): PageError[] {
    const errors: PageError[] = [];
    if ((form.topic ?? '').length > 2000) errors.push({ field: 'topic', message: page.t('book.topic.tooLong') });
    if (draft.modes.length > 1 && !draft.modes.includes(form.mode ?? '')) {
      errors.push({ field: `mode-${draft.modes[0]}`, message: page.t('book.mode.required') });
    }
    friendsOf(form, draft.librarian.maxCompanions).forEach((friend, index) => {
      if (!friend.name) errors.push({ field: `friendName${index}`, message: page.t('book.friend.nameRequired') });
      else if (friend.name.length > 200)
        errors.push({ field: `friendName${index}`, message: page.t('book.friend.nameTooLong') });
      if (friend.email && !EMAIL.test(friend.email)) {
        errors.push({ field: `friendEmail${index}`, message: page.t('book.friend.emailInvalid') });
      }
    });
    for (const dimension of dimensions) {
      const value = form[`category_${dimension.key}`];
      const known = value === '' || dimension.values.some((option) => option.value === value);
      if (value === undefined || !known) {
        errors.push({
          field: `category_${dimension.key}-${dimension.values[0]?.value ?? 'none'}`,
          message: page.t('book.categories.required', { label: dimension.label }),
        });
      }
    }
    return errors;
  }

  async function renderForm(
    request: FastifyRequest,
    reply: Reply,
    draft: BookingDraft,
    options: { form?: Form; errors?: PageError[]; taken?: boolean; status?: number } = {},
  ) {
    const page = context(request);
    const dimensions = await dimensionsToAsk(request);
    const nearby = options.taken
      ? (await slotDays(page, draft.librarian.id, isoDate(draft.startMs - DAY, page.timeZone), 7))
          .flatMap((day) => day.slots)
          .sort((a, b) => Math.abs(a.startMs - draft.startMs) - Math.abs(b.startMs - draft.startMs))
          .slice(0, 5)
          .sort((a, b) => a.startMs - b.startMs)
      : [];
    return reply.code(options.status ?? 200).view('student/book', {
      ...page,
      title: page.t('book.title'),
      draft,
      when: page.fmt.span(draft.startMs, draft.endMs),
      libraryWhen:
        draft.librarian.timeZone !== page.timeZone
          ? page.fmt.span(draft.startMs, draft.endMs, draft.librarian.timeZone)
          : null,
      dimensions,
      form: options.form ?? {},
      errors: options.errors ?? [],
      taken: options.taken ?? false,
      nearby,
      friendSlots: Array.from({ length: draft.librarian.maxCompanions }, (_, index) => index),
    });
  }

  app.get('/book', { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
    if (!requireSignIn(request, reply)) return reply;
    const page = context(request);
    const draft = await draftFor(page, request.query.librarian, request.query.start);
    if (!draft) {
      return reply.code(400).view('layout/message', {
        ...page,
        title: page.t('book.chooseFirst.title'),
        message: page.t('book.chooseFirst.body'),
        link: { href: '/', text: page.t('home.title') },
      });
    }
    return renderForm(request, reply, draft, { taken: !draft.available, form: { mode: draft.modes[0] } });
  });

  app.post('/book/check', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    if (!requireSignIn(request, reply)) return reply;
    const page = context(request);
    const form = request.body ?? {};
    const draft = await draftFor(page, form.librarian, form.start ?? form.wanted);
    if (!draft) return reply.redirect('/', 303);
    if (!form.start) {
      return renderForm(request, reply, draft, {
        form,
        taken: true,
        status: 400,
        errors: [{ field: 'start', message: page.t('reschedule.chooseTime') }],
      });
    }
    if (!draft.available) return renderForm(request, reply, draft, { form, taken: true, status: 409 });
    if (form.edit === '1') return renderForm(request, reply, draft, { form });
    const dimensions = await dimensionsToAsk(request);
    const errors = checkForm(page, draft, form, dimensions);
    if (errors.length > 0) return renderForm(request, reply, draft, { form, errors, status: 400 });
    const friends = friendsOf(form, draft.librarian.maxCompanions);
    return reply.view('student/check', {
      ...page,
      title: page.t('check.title'),
      draft,
      when: page.fmt.span(draft.startMs, draft.endMs),
      mode: draft.modes.length > 1 ? form.mode : draft.modes[0],
      form,
      friends,
      categories: dimensions.map((dimension) => ({
        key: dimension.key,
        label: dimension.label,
        value: form[`category_${dimension.key}`] ?? '',
        valueLabel:
          dimension.values.find((option) => option.value === form[`category_${dimension.key}`])?.label ??
          page.t('book.categories.preferNot'),
      })),
      idempotencyKey: randomBytes(16).toString('hex'),
    });
  });

  app.post('/book/confirm', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const user = requireSignIn(request, reply, ['student']);
    if (!user) return request.session?.user ? reply.code(403).view('layout/message', forbidden(request)) : reply;
    const page = context(request);
    const form = request.body ?? {};
    const draft = await draftFor(page, form.librarian, form.start);
    if (!draft) return reply.redirect('/', 303);
    const dimensions = await dimensionsToAsk(request);
    const errors = checkForm(page, draft, form, dimensions);
    if (errors.length > 0) return renderForm(request, reply, draft, { form, errors, status: 400 });
    if (dimensions.length > 0) {
      const chosen = Object.fromEntries(
        dimensions.flatMap((dimension) => {
          const value = form[`category_${dimension.key}`];
          return value ? [[dimension.key, value]] : [];
        }),
      );
      await deps.categories.answerCategories(user, chosen);
    }
    const friends: CompanionInput[] = friendsOf(form, draft.librarian.maxCompanions).map((friend) => ({
      name: friend.name,
      ...(friend.email ? { email: friend.email } : {}),
    }));
    try {
      const { booking } = await deps.bookings.create(
        user,
        {
          librarianId: draft.librarian.id,
          start: draft.start,
          ...(form.mode === 'in_person' || form.mode === 'online' ? { mode: form.mode } : {}),
          ...(form.topic?.trim() ? { topic: form.topic.trim() } : {}),
          ...(friends.length > 0 ? { companions: friends } : {}),
          timeZone: page.timeZone,
        },
        form.idempotencyKey && /^[0-9a-f]{32}$/.test(form.idempotencyKey)
          ? { idempotencyKey: `web:${form.idempotencyKey}` }
          : {},
      );
      return reply.redirect(`/bookings/${booking.id}?booked=1`, 303);
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      if (error.code === 'slot_unavailable' || error.code === 'outside_availability') {
        return renderForm(request, reply, draft, { form, taken: true, status: 409 });
      }
      return renderForm(request, reply, draft, {
        form,
        status: error.status,
        errors: [{ field: 'submit', message: ruleMessage(page, error) }],
      });
    }
  });

  function ruleMessage(page: PageContext, error: DomainError): string {
    const known = [
      'booking_limit_reached',
      'overlapping_booking',
      'too_many_companions',
      'session_started',
      'booking_cancelled',
    ];
    return known.includes(error.code)
      ? page.t(`rule.${error.code}`, { limit: config.bookingLimitPerStudent })
      : error.message;
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
    };
  }

  app.get(
    '/bookings/:id',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Form }>, reply) => {
      const token = request.query.token;
      if (!UUID.test(request.params.id)) return reply.callNotFound();
      if (!token && !request.session?.user) return requireSignIn(request, reply) ?? reply;
      const { booking, companionId } = await deps.bookings.getWithParty(request.params.id, caller(request, token));
      const page = context(request);
      const user = request.session?.user ?? null;
      const isStaffView =
        !token &&
        Boolean(user?.roles.includes('admin') || (user?.librarianId && user.librarianId === booking.librarian?.id));
      return reply.view('student/booking', {
        ...page,
        title: page.t('booking.title'),
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
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { id: string }; Body: Form }>, reply) => {
      const posted = await postedBooking(request, reply);
      if (!posted) return reply;
      const { form, token, booking } = posted;
      const page = context(request);
      const name = (form.name ?? '').trim();
      const email = (form.email ?? '').trim();
      const errors: PageError[] = [];
      if (!name || name.length > 200)
        errors.push({ field: 'friend-name', message: page.t('book.friend.nameRequired') });
      if (email && !EMAIL.test(email))
        errors.push({ field: 'friend-email', message: page.t('book.friend.emailInvalid') });
      const again = async (status: number, extraErrors: PageError[]) =>
        reply.code(status).view('student/booking', {
          ...page,
          title: page.t('booking.title'),
          ...bookingView(page, booking, token, null),
          justBooked: false,
          notice: null,
          friendErrors: extraErrors,
          friendForm: { name, email },
          maxFriends: await maxFriendsOf(booking),
        });
      if (errors.length > 0) return again(400, errors);
      try {
        await deps.companions.putCompanion(booking.id, caller(request, token), { name, ...(email ? { email } : {}) });
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return again(error.status, [{ field: 'friend-name', message: ruleMessage(page, error) }]);
      }
      return reply.redirect(bookingUrl(booking.id, token, 'friendSaved'), 303);
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
