import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { currentZoneName, isCanonicalTimeZone } from '../../time/zone.js';
import type { WebDeps } from '../deps.js';
import { pageContext, safeNext, type ZoneReturn } from './page.js';
import { zoneGroups } from './zones.js';

type ZoneDeps = Pick<WebDeps, 'catalogues' | 'config' | 'sessions' | 'pageCookies'>;
type Fields = Record<string, string | undefined>;

/** The fields a time zone or language change adds to the form it sends back to a page (removed on arrival). */
export const ZONE_FIELDS = ['timeZone', 'next', 'zoneRedraw', 'uiLanguage'] as const;

/**
 * POST pages a zone change may send their form to again: they only draw a page ("Check your
 * booking"), never change anything, so sending the form twice is safe.
 */
export const REDRAWN_BY_POST = new Set(['/book/check']);

/** A form's own fields, for a page to send again after a zone change (not its CSRF token). */
export function formFields(body: unknown, leaveOut: readonly string[] = []): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!body || typeof body !== 'object') return fields;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value === 'string' && name !== '_csrf' && !leaveOut.includes(name)) fields[name] = value;
  }
  return fields;
}

/**
 * Choosing the zone times are shown in: a page of every zone (current names, their names and
 * offsets, searchable where JavaScript runs), reached from every page's footer, returning to the
 * same page in the same state: its address, or its form sent again.
 */
export async function zoneRoutes(app: FastifyInstance, deps: ZoneDeps) {
  function renderChoice(request: FastifyRequest, reply: FastifyReply, back: ZoneReturn) {
    const page = pageContext(request, deps.catalogues, deps.config.libraryTimeZone);
    return reply.view('layout/zone', {
      ...page,
      title: page.t('zone.title'),
      back,
      groups: zoneGroups(page.t, page.fmt, request.pageTime),
      hideZoneForm: true,
    });
  }

  app.get('/time-zone', { config: { page: true } }, async (request: FastifyRequest<{ Querystring: Fields }>, reply) =>
    renderChoice(request, reply, { next: safeNext(request.query?.next) }),
  );

  app.post(
    '/time-zone/choose',
    { config: { page: true } },
    async (request: FastifyRequest<{ Body: Fields }>, reply) => {
      const body = request.body ?? {};
      const next = safeNext(body.next);
      const redrawn = body.zoneRedraw === '1' && REDRAWN_BY_POST.has(pathOf(next));
      return renderChoice(request, reply, redrawn ? { next, fields: formFields(body, ZONE_FIELDS) } : { next });
    },
  );

  app.post('/time-zone', { config: { page: true } }, async (request: FastifyRequest<{ Body: Fields }>, reply) => {
    const body = request.body ?? {};
    const zone = typeof body.timeZone === 'string' ? currentZoneName(body.timeZone) : '';
    if (isCanonicalTimeZone(zone)) {
      if (request.session) await deps.sessions.setTimeZone(request.session, zone);
      else deps.pageCookies.setTimeZone(reply, zone);
    }
    const next = safeNext(body.next);
    // 307 has the browser send this same form (the page's own fields with it) to the page again.
    if (body.zoneRedraw === '1' && REDRAWN_BY_POST.has(pathOf(next))) return reply.redirect(next, 307);
    return reply.redirect(next, 303);
  });
}

export function pathOf(next: string): string {
  return next.split(/[?#]/)[0] ?? next;
}
