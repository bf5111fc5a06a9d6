import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import type { Booking } from '../../modules/bookings/schemas.js';
import { ISO_DATE } from '../layout/forms.js';
import { areaAccess, type PageContext, type PageError, pageContext, pageLibrarian } from '../layout/page.js';
import type { Form, StaffPageDeps } from './shared.js';

const DAY = 86_400_000;
const ATTENDANCE_LOOKBACK_DAYS = 30;
const WEEK_AHEAD_DAYS = 8;

/** A librarian's own day: sessions, attendance, walk-ins and the calendar feed. */
export async function staffRoutes(app: FastifyInstance, deps: StaffPageDeps) {
  areaAccess(app, deps, 'librarian');
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);

  function sessionLine(page: PageContext, booking: Booking) {
    const startMs = Date.parse(booking.startUtc);
    return {
      booking,
      when: page.fmt.span(startMs, Date.parse(booking.endUtc)),
      time: `${page.fmt.time(startMs)}–${page.fmt.time(Date.parse(booking.endUtc))}`,
      friends: booking.companions.filter((companion) => companion.status !== 'removed'),
    };
  }

  app.get('/staff', { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
    const user = pageLibrarian(request);
    const page = context(request);
    const nowMs = clock.now().getTime();
    const todayStart = DateTime.fromMillis(nowMs, { zone: page.timeZone }).startOf('day');
    const upcoming = await deps.bookings.list(user, {
      from: todayStart.toISO() as string,
      to: todayStart.plus({ days: WEEK_AHEAD_DAYS }).toISO() as string,
      status: 'confirmed',
      limit: 200,
      offset: 0,
    });
    const past = await deps.bookings.list(user, {
      from: new Date(nowMs - ATTENDANCE_LOOKBACK_DAYS * DAY).toISOString(),
      to: new Date(nowMs).toISOString(),
      status: 'confirmed',
      limit: 200,
      offset: 0,
    });
    const needsAttendance = past.bookings
      .filter((booking) => booking.source === 'booked' && booking.attendance === null)
      .map((booking) => sessionLine(page, booking));
    const days = new Map<string, { heading: string; sessions: ReturnType<typeof sessionLine>[] }>();
    for (const booking of upcoming.bookings.filter((b) => b.source === 'booked')) {
      const startMs = Date.parse(booking.startUtc);
      const key = page.fmt.dateKey(startMs);
      const day = days.get(key) ?? { heading: page.fmt.day(startMs), sessions: [] };
      day.sessions.push(sessionLine(page, booking));
      days.set(key, day);
    }
    const waiting = await deps.waitlist.waitingFor(user.librarianId);
    return reply.view('staff/day', {
      ...page,
      title: page.t('staff.title'),
      waiting,
      days: [...days.values()],
      needsAttendance,
      nowMs,
      notice: request.query.notice === 'recorded' ? page.t('staff.notice.recorded') : null,
    });
  });

  app.get('/staff/calendar', { config: { page: true } }, async (request, reply) => {
    const _user = pageLibrarian(request);
    const page = context(request);
    return reply.view('staff/calendar', { ...page, title: page.t('staff.calendar.title'), feedUrl: null });
  });

  app.post('/staff/calendar', { config: { page: true } }, async (request, reply) => {
    const user = pageLibrarian(request);
    const page = context(request);
    const { url } = await deps.calendar.rotateFeedToken(user.librarianId);
    // Shown once: only its hash is kept.
    return reply.view('staff/calendar', { ...page, title: page.t('staff.calendar.title'), feedUrl: url });
  });

  async function renderRecord(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form,
    errors: PageError[],
    status = 200,
  ) {
    const page = context(request);
    return reply.code(status).view('staff/record', {
      ...page,
      title: page.t('staff.record.title'),
      form,
      errors,
      dimensions: await deps.categories.listDimensions(),
      today: DateTime.fromMillis(clock.now().getTime(), { zone: page.timeZone }).toISODate(),
    });
  }

  app.get('/staff/record', { config: { page: true } }, async (request, reply) => {
    return renderRecord(request, reply, { minutes: '30', mode: 'in_person', friend: 'no', attendance: 'attended' }, []);
  });

  app.post('/staff/record', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const user = pageLibrarian(request);
    const page = context(request);
    const form = request.body ?? {};
    const errors: PageError[] = [];
    const start = DateTime.fromISO(`${form.date ?? ''}T${form.time ?? ''}`, { zone: page.timeZone });
    if (!ISO_DATE.test(form.date ?? '')) errors.push({ field: 'date', message: page.t('staff.record.dateInvalid') });
    if (!/^\d{2}:\d{2}$/.test(form.time ?? '') || !start.isValid) {
      errors.push({ field: 'time', message: page.t('staff.record.timeInvalid') });
    } else if (start.toMillis() > clock.now().getTime()) {
      errors.push({ field: 'date', message: page.t('staff.record.future') });
    }
    const minutes = Number(form.minutes);
    if (!Number.isInteger(minutes) || minutes < 5 || minutes > 480) {
      errors.push({ field: 'minutes', message: page.t('staff.record.minutesInvalid') });
    }
    if (errors.length > 0) return renderRecord(request, reply, form, errors, 400);
    const dimensions = await deps.categories.listDimensions();
    const studentCategories = Object.fromEntries(
      dimensions.flatMap((dimension) => {
        const value = form[`category_${dimension.key}`];
        return value && dimension.values.some((option) => option.value === value) ? [[dimension.key, value]] : [];
      }),
    );
    await deps.bookings.recordSession(user, {
      start: start.toUTC().toISO() as string,
      minutes,
      mode: form.mode === 'online' ? 'online' : 'in_person',
      studentCategories,
      companion: form.friend === 'yes',
      attendance: form.attendance === 'no_show' ? 'no_show' : 'attended',
    });
    return reply.redirect('/staff?notice=recorded', 303);
  });
}
