import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../errors.js';
import type { CalendarConnections } from '../../modules/calendars/service.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { WebDeps } from '../deps.js';
import { UUID } from '../layout/forms.js';
import { areaAccess, type PageContext, type PageError, pageContext, pageLibrarian } from '../layout/page.js';
import type { Form, StaffPageDeps } from './shared.js';

const MINUTE = 60_000;

/** The notices a calendars page shows after a change (`?notice=`), each a catalogue key. */
export const CALENDAR_NOTICES = ['connected', 'removed', 'checked', 'chosen'] as const;

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

/** Whose calendars a page manages, who acts, and where the page is. */
interface CalendarOwner {
  librarianId: string;
  actor: AuthUser;
  /** The page's path: /staff/calendars, or /admin/librarians/{id}/calendars. */
  base: string;
  /** Heading, title and the link back, in the page's words. */
  heading: (page: PageContext) => string;
  back: (page: PageContext) => { href: string; text: string };
  /** The catalogue's prefix for the notices after a change (they say "your" to a librarian). */
  notices: 'staff.calendars.notice' | 'admin.calendars.notice';
}

type CalendarDeps = Pick<WebDeps, 'catalogues' | 'clock' | 'config'> & { calendars: CalendarConnections };

/** A librarian's own calendars: connect one by its address, see each one's state, check it now, remove it. */
export async function staffCalendarRoutes(
  app: FastifyInstance,
  deps: StaffPageDeps & { calendars: CalendarConnections },
) {
  areaAccess(app, deps, 'librarian');
  calendarPages(app, deps, '/staff/calendars', async (request) => {
    const user = pageLibrarian(request);
    return {
      librarianId: user.librarianId,
      actor: user,
      base: '/staff/calendars',
      heading: (page) => page.t('staff.calendars.title'),
      back: (page) => ({ href: '/staff', text: page.t('staff.back') }),
      notices: 'staff.calendars.notice',
    };
  });
}

/**
 * The calendar pages at `route` (a path, perhaps with a :librarianId parameter), for the librarian
 * `owner` names, or undefined when the page is not found. The librarian's own page and an admin's
 * page for any librarian are the same page, as the API's routes are the same for both.
 */
export function calendarPages(
  app: FastifyInstance,
  deps: CalendarDeps,
  route: string,
  owner: (request: FastifyRequest) => Promise<CalendarOwner | undefined>,
) {
  const { config, clock } = deps;
  const context = (request: FastifyRequest) => pageContext(request, deps.catalogues, config.libraryTimeZone);

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    who: CalendarOwner,
    form: Form,
    errors: PageError[],
    status = 200,
    notice: string | null = null,
  ) {
    const page = context(request);
    const nowMs = clock.now().getTime();
    const connections = await deps.calendars.list(who.librarianId);
    return reply.code(status).view('staff/calendars', {
      ...page,
      title: who.heading(page),
      heading: who.heading(page),
      back: who.back(page),
      base: who.base,
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

  app.get(route, { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Form }>, reply) => {
    const who = await owner(request);
    if (!who) return reply.callNotFound();
    const page = context(request);
    const notice = request.query.notice;
    const known = (CALENDAR_NOTICES as readonly string[]).includes(notice ?? '');
    return render(request, reply, who, {}, [], 200, known ? page.t(`${who.notices}.${notice}`) : null);
  });

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

  app.post(`${route}/caldav`, { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const who = await owner(request);
    if (!who) return reply.callNotFound();
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
    if (errors.length > 0) return render(request, reply, who, form, errors, 400);
    try {
      await deps.calendars.create(who.actor, who.librarianId, input);
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return render(request, reply, who, form, [refusal(page, error)], error.status);
    }
    return reply.redirect(`${who.base}?notice=connected`, 303);
  });

  app.post(
    `${route}/:connectionId/choose`,
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { connectionId: string }; Body: Form }>, reply) => {
      const who = await owner(request);
      if (!who || !UUID.test(request.params.connectionId)) return reply.callNotFound();
      const page = context(request);
      const form = (request.body ?? {}) as Record<string, string | string[] | undefined>;
      const connection = await deps.calendars.get(who.librarianId, request.params.connectionId);
      // Checkboxes and the radio name calendars by their place in the list shown.
      const at = (value: string | undefined) => connection.calendars[Number(value)]?.url;
      const busy = connection.calendars
        .map((calendar, index) => (form[`busy${index}`] === 'on' ? calendar.url : null))
        .filter((url): url is string => url !== null);
      const target = typeof form.bookings === 'string' && form.bookings !== 'none' ? at(form.bookings) : null;
      try {
        await deps.calendars.change(who.actor, who.librarianId, connection.id, {
          busyCalendars: busy,
          bookingsCalendar: target ?? null,
        });
      } catch (error) {
        if (!(error instanceof DomainError) || error.status >= 500) throw error;
        return render(request, reply, who, {}, [refusal(page, error)], error.status);
      }
      return reply.redirect(`${who.base}?notice=chosen`, 303);
    },
  );

  app.post(route, { config: { page: true } }, async (request: FastifyRequest<{ Body: Form }>, reply) => {
    const who = await owner(request);
    if (!who) return reply.callNotFound();
    const page = context(request);
    const form = request.body ?? {};
    const label = (form.label ?? '').trim();
    const url = (form.url ?? '').trim();
    const errors: PageError[] = [];
    if (!label || label.length > 80) errors.push({ field: 'label', message: page.t('staff.calendars.labelInvalid') });
    if (url.length < 8 || url.length > 2000)
      errors.push({ field: 'url', message: page.t('staff.calendars.urlMissing') });
    if (errors.length > 0) return render(request, reply, who, form, errors, 400);
    try {
      await deps.calendars.create(who.actor, who.librarianId, { label, url });
    } catch (error) {
      if (!(error instanceof DomainError) || error.status >= 500) throw error;
      return render(request, reply, who, form, [refusal(page, error)], error.status);
    }
    return reply.redirect(`${who.base}?notice=connected`, 303);
  });

  app.post(
    `${route}/:connectionId/check`,
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { connectionId: string } }>, reply) => {
      const who = await owner(request);
      if (!who || !UUID.test(request.params.connectionId)) return reply.callNotFound();
      await deps.calendars.checkNow(who.librarianId, request.params.connectionId);
      return reply.redirect(`${who.base}?notice=checked`, 303);
    },
  );

  app.post(
    `${route}/:connectionId/remove`,
    { config: { page: true } },
    async (request: FastifyRequest<{ Params: { connectionId: string } }>, reply) => {
      const who = await owner(request);
      if (!who || !UUID.test(request.params.connectionId)) return reply.callNotFound();
      await deps.calendars.remove(who.actor, who.librarianId, request.params.connectionId);
      return reply.redirect(`${who.base}?notice=removed`, 303);
    },
  );
}
