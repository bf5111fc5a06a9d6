import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import type { CalendarConnections } from '../../modules/calendars/service.js';
import { UUID } from '../layout/forms.js';
import { areaAccess, type PageContext, type PageError, pageContext, pageLibrarian } from '../layout/page.js';
import type { Form, StaffPageDeps } from './shared.js';

const MINUTE = 60_000;

type ConnectionView = Awaited<ReturnType<CalendarConnections['list']>>[number];

/** "3 minutes ago", "2 hours ago", "4 days ago", or "just now". */
export function agoText(page: PageContext, thenMs: number, nowMs: number): string {
  const minutes = Math.floor((nowMs - thenMs) / MINUTE);
  if (minutes < 1) return page.t('staff.calendars.justNow');
  if (minutes < 60) return page.t('staff.calendars.minutesAgo', { n: minutes });
  if (minutes < 48 * 60) return page.t('staff.calendars.hoursAgo', { n: Math.floor(minutes / 60) });
  return page.t('staff.calendars.daysAgo', { n: Math.floor(minutes / (24 * 60)) });
}

/** A connection's state in words: when it was last read and, if it is failing, why and what that means. */
export function connectionLines(page: PageContext, connection: ConnectionView, nowMs: number, staleHours: number) {
  const read = connection.lastReadAt
    ? page.t('staff.calendars.lastRead', {
        ago: agoText(page, Date.parse(connection.lastReadAt), nowMs),
        busy: connection.busyBlocks,
      })
    : page.t('staff.calendars.neverRead');
  const error = connection.error
    ? page.t('staff.calendars.failing', {
        since: agoText(page, Date.parse(connection.failingSince ?? connection.lastAttemptAt ?? ''), nowMs),
        reason: page.t(`staff.calendars.error.${connection.error}`),
      })
    : null;
  const consequence =
    connection.state === 'withheld'
      ? page.t('staff.calendars.withheld')
      : connection.state === 'failing'
        ? page.t('staff.calendars.stillHolds', { hours: staleHours })
        : null;
  const writes =
    connection.writesWaiting > 0
      ? page.t('staff.calendars.writesWaiting', {
          count: connection.writesWaiting,
          reason: page.t(`staff.calendars.error.${connection.writeError ?? 'server_error'}`),
        })
      : null;
  return { read, error, consequence, writes, setOn: page.fmt.day(Date.parse(connection.secretSetAt)) };
}

/** A librarian's own calendars: connect one by its address, see each one's state, check it now, remove it. */
export async function staffCalendarRoutes(
  app: FastifyInstance,
  deps: StaffPageDeps & { calendars: CalendarConnections },
) {
  areaAccess(app, deps, 'librarian');
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    librarianId: string,
    form: Form,
    errors: PageError[],
    status = 200,
    notice: string | null = null,
  ) {
    const page = context(request);
    const nowMs = clock.now().getTime();
    const connections = await deps.calendars.list(librarianId);
    return reply.code(status).view('staff/calendars', {
      ...page,
      title: page.t('staff.calendars.title'),
      connections: connections.map((connection) => ({
        ...connection,
        lines: connectionLines(page, connection, nowMs, config.calendarStaleHours),
      })),
      form,
      errors,
      notice,
      minutes: config.calendarSyncMinutes,
    });
  }

  app.get(
    '/staff/calendars',
    { config: { page: true } },
    async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
      const user = pageLibrarian(request);
      const page = context(request);
      const notice = request.query.notice;
      const known = ['connected', 'removed', 'checked', 'chosen'].includes(notice ?? '');
      return render(
        request,
        reply,
        user.librarianId,
        {},
        [],
        200,
        known ? page.t(`staff.calendars.notice.${notice}`) : null,
      );
    },
  );

  /** A refusal from connecting or changing a calendar, in words for the field it names. */
  function refusal(page: PageContext, error: DomainError): PageError {
    const first = error.extra.errors?.[0];
    const field = (first?.pointer ?? '/url').slice(1);
    const message =
      error.code === 'calendar_address'
        ? page.t('staff.calendars.urlRefused', { problem: first?.message ?? '' })
        : error.code === 'calendar_unreadable'
          ? page.t(field === 'password' ? 'staff.calendars.passwordRefused' : 'staff.calendars.urlUnreadable', {
              reason: page.t(`staff.calendars.error.${(first?.message ?? '').split(': ')[1] ?? 'server_error'}`),
            })
          : error.code === 'too_many_calendars'
            ? page.t('staff.calendars.tooMany')
            : error.code === 'validation_failed'
              ? page.t('staff.calendars.required')
              : page.t('staff.calendars.noKey');
    return { field: field === 'serverUrl' ? 'serverUrl' : field, message };
  }

  app.post(
    '/staff/calendars/caldav',
    { config: { page: true } },
    async (request: FastifyRequest<{ Body: Form }>, reply) => {
      const user = pageLibrarian(request);
      const page = context(request);
      const form = request.body ?? {};
      const input = {
        kind: 'caldav' as const,
        label: (form.caldavLabel ?? '').trim(),
        serverUrl: (form.serverUrl ?? '').trim(),
        username: (form.username ?? '').trim(),
        password: form.password ?? '',
      };
      const errors: PageError[] = [];
      if (!input.label || input.label.length > 80)
        errors.push({ field: 'caldavLabel', message: page.t('staff.calendars.labelInvalid') });
      if (input.serverUrl.length < 8 || input.serverUrl.length > 2000)
        errors.push({ field: 'serverUrl', message: page.t('staff.calendars.serverMissing') });
      if (!input.username || input.username.length > 200)
        errors.push({ field: 'username', message: page.t('staff.calendars.usernameMissing') });
      if (!input.password || input.password.length > 500)
        errors.push({ field: 'password', message: page.t('staff.calendars.passwordMissing') });
      if (errors.length > 0) return render(request, reply, user.librarianId, form, errors, 400);
      try {
        await deps.calendars.create(user, user.librarianId, input);
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return render(request, reply, user.librarianId, form, [refusal(page, error)], error.status);
      }
      return reply.redirect('/staff/calendars?notice=connected', 303);
    },
  );

  app.post(
    '/staff/calendars/:connectionId/choose',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { connectionId: string }; Body: Form }>, reply) => {
      const user = pageLibrarian(request);
      if (!UUID.test(request.params.connectionId)) return reply.callNotFound();
      const page = context(request);
      const form = (request.body ?? {}) as Record<string, string | string[] | undefined>;
      const connection = await deps.calendars.get(user.librarianId, request.params.connectionId);
      // Checkboxes and the radio name calendars by their place in the list shown.
      const at = (value: string | undefined) => connection.calendars[Number(value)]?.url;
      const busy = connection.calendars
        .map((calendar, index) => (form[`busy${index}`] === 'on' ? calendar.url : null))
        .filter((url): url is string => url !== null);
      const target = typeof form.bookings === 'string' && form.bookings !== 'none' ? at(form.bookings) : null;
      try {
        await deps.calendars.change(user, user.librarianId, connection.id, {
          busyCalendars: busy,
          bookingsCalendar: target ?? null,
        });
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return render(request, reply, user.librarianId, {}, [refusal(page, error)], error.status);
      }
      return reply.redirect('/staff/calendars?notice=chosen', 303);
    },
  );

  app.post('/staff/calendars', { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const user = pageLibrarian(request);
    const page = context(request);
    const form = request.body ?? {};
    const label = (form.label ?? '').trim();
    const url = (form.url ?? '').trim();
    const errors: PageError[] = [];
    if (!label || label.length > 80) errors.push({ field: 'label', message: page.t('staff.calendars.labelInvalid') });
    if (url.length < 8 || url.length > 2000)
      errors.push({ field: 'url', message: page.t('staff.calendars.urlMissing') });
    if (errors.length > 0) return render(request, reply, user.librarianId, form, errors, 400);
    try {
      await deps.calendars.create(user, user.librarianId, { label, url });
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return render(request, reply, user.librarianId, form, [refusal(page, error)], error.status);
    }
    return reply.redirect('/staff/calendars?notice=connected', 303);
  });

  app.post(
    '/staff/calendars/:connectionId/check',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { connectionId: string } }>, reply) => {
      const user = pageLibrarian(request);
      if (!UUID.test(request.params.connectionId)) return reply.callNotFound();
      await deps.calendars.checkNow(user.librarianId, request.params.connectionId);
      return reply.redirect('/staff/calendars?notice=checked', 303);
    },
  );

  app.post(
    '/staff/calendars/:connectionId/remove',
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { connectionId: string } }>, reply) => {
      const user = pageLibrarian(request);
      if (!UUID.test(request.params.connectionId)) return reply.callNotFound();
      await deps.calendars.remove(user, user.librarianId, request.params.connectionId);
      return reply.redirect('/staff/calendars?notice=removed', 303);
    },
  );
}
