import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import compress from '@fastify/compress';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/reachability.js';
import { DomainError } from '../errors.js';
import { loggableError } from '../http/logging.js';
import { currentZoneName } from '../time/zone.js';
import { adminRoutes, adminTaxonomyRoutes } from './admin/routes.js';
import { analyticsRoutes } from './analytics/routes.js';
import { campaignPageRoutes } from './campaigns/routes.js';
import type { WebDeps } from './deps.js';
import { feedbackPageRoutes } from './feedback/routes.js';
import { aboutRoutes } from './layout/about-routes.js';
import { languageRoutes } from './layout/language-routes.js';
import { pageContext } from './layout/page.js';
import { refusalText } from './layout/refusals.js';
import { ZONE_FIELDS, zoneRoutes } from './layout/zone-routes.js';
import { sameToken } from './session.js';
import { signInRoutes } from './sign-in/routes.js';
import { attendanceFormRoutes } from './staff/attendance.js';
import { staffAvailabilityRoutes } from './staff/availability.js';
import { staffCalendarRoutes } from './staff/calendars.js';
import { staffRoutes } from './staff/routes.js';
import { studentRoutes } from './student/routes.js';

export type { WebDeps } from './deps.js';

export const ASSETS_DIR = fileURLToPath(new URL('./assets', import.meta.url));
export const VIEWS_DIR = path.dirname(fileURLToPath(import.meta.url));

/** Page fields that are lists (checkbox groups): every value is kept. */
const LIST_FIELDS = new Set(['group']);

/** Replaces each repeated field of a parsed query or form by its first value. */
function keepFirstValues(fields: unknown): void {
  if (!fields || typeof fields !== 'object' || Array.isArray(fields)) return;
  const record = fields as Record<string, unknown>;
  for (const [name, value] of Object.entries(record)) {
    if (Array.isArray(value) && !LIST_FIELDS.has(name)) record[name] = value[0];
  }
}

/** Who is asking for a page: their session (if any), the zone they chose, and the time it is. */
export async function identifyVisitor(
  request: FastifyRequest,
  deps: Pick<WebDeps, 'sessions' | 'pageCookies' | 'clock' | 'catalogues'>,
): Promise<void> {
  request.pageTime = deps.clock.now().getTime();
  request.chosenLanguage = deps.catalogues.known(deps.pageCookies.language(request));
  request.session = await deps.sessions.read(request);
  const chosen = request.session ? request.session.timeZone : deps.pageCookies.timeZone(request);
  request.chosenTimeZone = chosen ? currentZoneName(chosen) : null;
}

/** Renders a readable error page (never a stack, never JSON) with the request id to quote. */
export async function renderErrorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<WebDeps, 'catalogues' | 'config'>,
  status: number,
  detail?: string,
) {
  const context = pageContext(request, deps.catalogues, deps.config.libraryTimeZone);
  const kind =
    status === 404
      ? 'notFound'
      : status === 403
        ? 'forbidden'
        : status === 503
          ? 'unavailable'
          : status >= 500
            ? 'server'
            : 'request';
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .view('layout/error', {
      ...context,
      title: context.t(`error.${kind}.title`),
      message: detail ?? context.t(`error.${kind}.body`),
      requestId: String(request.id),
    });
}

/**
 * The web front: server-rendered pages on the same services as the API. Helmet's strict CSP, the
 * session cookie and CSRF checks apply to the pages only, inside this plugin's scope.
 */
export async function webPlugin(app: FastifyInstance, deps: WebDeps) {
  // Pages are not part of the API contract: keep them out of the OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  // Brotli at quality 4: nearly the size of 11 at a small part of the time (pages are made per request).
  await app.register(compress, {
    global: true,
    threshold: 1024,
    brotliOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } },
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        // Signing on with the institution's provider is a form whose answer redirects there.
        formAction: ["'self'", ...(deps.config.web.oidc ? [new URL(deps.config.web.oidc.issuer).origin] : [])],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        objectSrc: ["'none'"],
      },
    },
    // Same-origin pages only; the API keeps its own headers.
    crossOriginEmbedderPolicy: false,
  });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(fastifyStatic, {
    root: ASSETS_DIR,
    prefix: '/assets/',
    maxAge: '1h',
    decorateReply: false,
  });

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.page !== true) return;
    await identifyVisitor(request, deps);
  });
  // A page reads each query or form field once: a repeated one counts by its first value (but for
  // the few fields that are lists, such as analytics' `group` checkboxes).
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config?.page !== true) return;
    keepFirstValues(request.query);
    keepFirstValues(request.body);
    // A form sent again after a time zone change arrives with the change's own fields: not the page's.
    const body = request.body as Record<string, unknown> | undefined;
    if (body?.zoneRedraw === '1' && !request.url.startsWith('/time-zone') && !request.url.startsWith('/language')) {
      for (const name of ZONE_FIELDS) delete body[name];
    }
  });
  // A visitor without a session gets a CSRF token in a signed cookie: viewing a page writes no row.
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.config?.page !== true) return;
    request.csrfToken = request.session?.csrfToken ?? (await deps.pageCookies.csrfToken(request, reply));
    // A multipart form (a file upload) is read by its handler, which checks the token itself.
    if (request.method === 'POST' && request.routeOptions.config?.csrfInHandler !== true) {
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (!sameToken(request.csrfToken, body._csrf)) {
        // A fresh token is one the form could not have carried: the form was stale or forged.
        return renderErrorPage(
          request,
          reply,
          deps,
          403,
          pageContext(request, deps.catalogues, deps.config.libraryTimeZone).t('error.csrf'),
        );
      }
    }
    reply.header('cache-control', 'no-store');
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ code: loggableError(error).code }, 'page: database unavailable');
      reply.header('retry-after', '5');
      return renderErrorPage(request, reply, deps, 503);
    }
    const status = error instanceof DomainError ? error.status : error.validation ? 400 : (error.statusCode ?? 500);
    if (status >= 500) request.log.error({ err: error }, 'page error');
    // A service's refusal, worded from the catalogue (its own detail is English, for the API).
    const detail =
      error instanceof DomainError && status < 500
        ? refusalText(pageContext(request, deps.catalogues, deps.config.libraryTimeZone), error)
        : undefined;
    return renderErrorPage(request, reply, deps, status, detail);
  });

  // Expired sessions are useless and hold CSRF secrets: sweep them hourly (idempotent in any process).
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    sweeper = setInterval(() => {
      deps.sessions.purgeExpired().catch((error: unknown) => app.log.warn({ err: error }, 'session sweep failed'));
    }, 3_600_000);
    sweeper.unref();
  });
  app.addHook('onClose', async () => {
    if (sweeper) clearInterval(sweeper);
  });

  await app.register(zoneRoutes, deps);
  await app.register(languageRoutes, deps);
  await app.register(aboutRoutes, deps);
  await app.register(signInRoutes, deps);
  await app.register(studentRoutes, deps);
  await app.register(staffRoutes, deps);
  await app.register(staffAvailabilityRoutes, deps);
  await app.register(staffCalendarRoutes, deps);
  await app.register(attendanceFormRoutes, deps);
  await app.register(adminRoutes, deps);
  await app.register(adminTaxonomyRoutes, deps);
  await app.register(analyticsRoutes, deps);
  await app.register(feedbackPageRoutes, deps);
  await app.register(campaignPageRoutes, deps);
}
