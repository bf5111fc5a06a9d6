import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyView from '@fastify/view';
import { sql } from 'drizzle-orm';
import { Eta } from 'eta';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { Redis } from 'ioredis';
import { Type } from 'typebox';
import packageJson from '../package.json' with { type: 'json' };
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { type DatabaseHealth, singleConnectionHealth } from './db/reachability.js';
import { DomainError } from './errors.js';
import { limitConnectionsPerAddress } from './http/connections.js';
import { boundJsonBodies } from './http/json-body.js';
import { loggerOptions } from './http/logging.js';
import { redisRateLimitStore, SharedRateLimitStore } from './http/rate-limit-store.js';
import { isIsoDate, isIsoInstant, refuseControlCharacters } from './http/validation.js';
import { availabilityRoutes } from './modules/availability/routes.js';
import { bookingRoutes } from './modules/bookings/routes.js';
import { calendarRoutes } from './modules/calendar/routes.js';
import { calendarConnectionRoutes } from './modules/calendars/routes.js';
import { campaignRoutes } from './modules/campaigns/routes.js';
import { categoryRoutes } from './modules/categories/routes.js';
import { feedbackRoutes } from './modules/feedback/routes.js';
import { librarianRoutes } from './modules/librarians/routes.js';
import { notificationRoutes } from './modules/notifications/routes.js';
import { peopleRoutes } from './modules/people/routes.js';
import { poolRoutes } from './modules/pools/routes.js';
import { staffRecordRoutes } from './modules/staff-record/routes.js';
import { uptakeRoutes } from './modules/uptake/routes.js';
import { waitlistRoutes } from './modules/waitlist/routes.js';
import { webhookRoutes } from './modules/webhooks/routes.js';
import { authPlugin } from './plugins/auth.js';
import { type BackupSource, backupRoute } from './plugins/backup.js';
import {
  databaseUnavailable,
  type ErrorsOptions,
  errorsPlugin,
  problemResponse,
  rawClientError,
  sendProblem,
} from './plugins/errors.js';
import { metricsPlugin, type ScrapeMetrics } from './plugins/metrics.js';
import { openapiPlugin } from './plugins/openapi.js';
import { routeBudgets } from './plugins/route-budgets.js';
import { createServices } from './services.js';
import type { Clock } from './time/clock.js';
import { createPageCookies, loadPageCookieKey } from './web/page-cookies.js';
import { identifyVisitor, renderErrorPage, VIEWS_DIR, webPlugin } from './web/plugin.js';
import { createSessionStore } from './web/session.js';
import { createOidcSignOn } from './web/sign-in/oidc.js';
import { createSignInService } from './web/sign-in/service.js';

export interface AppDeps {
  db: Database;
  /** What the health probes ask of the database (DatabaseHandle.health); default: a query on `db`. */
  health?: DatabaseHealth;
  clock: Clock;
  config: Config;
  /** The message catalogues (tests add a language this way). */
  messagesDir?: string;
  /** Where logs go (default stdout); tests read them to check what is never logged. */
  logStream?: Writable;
  logger?: false;
  /** The embedded database's copy for `npm run backup` (main.ts); absent on PostgreSQL and in tests that need none. */
  backup?: BackupSource;
  /**
   * Called after a request freed a time (a cancellation or a move), so the waitlist's matching
   * runs at once rather than at its next tick (main.ts: the waitlist worker's nudge).
   */
  onTimeFreed?: () => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Marks the process as shutting down: /health/ready answers 503 from now on. */
    drain(): void;
    /** Every page's route (method and pattern): what the page fuzz tests must reach. */
    pageRoutes(): readonly { methods: string[]; url: string }[];
    /** The metrics as Prometheus text, for the METRICS_PORT listener (main.ts). */
    scrapeMetrics: ScrapeMetrics;
  }
}

/** The readiness probe answers within this long, whatever the database does. */
const READY_DEADLINE_MS = 2_000;

export async function buildApp({
  db,
  health,
  clock,
  config,
  logStream,
  logger,
  messagesDir,
  backup,
  onTimeFreed,
}: AppDeps) {
  const database: DatabaseHealth = health ?? singleConnectionHealth(() => db.execute(sql`select 1`));
  /** The routes (API and pages) whose success frees a time a waiting student may want. */
  const FREEING = /\/bookings\/[^/]+\/(cancel|reschedule)$/;
  const app = Fastify({
    logger: logger ?? loggerOptions(config.logLevel, logStream),
    genReqId: () => randomUUID(),
    // Behind a load balancer (TRUST_PROXY), the client's address comes from X-Forwarded-For.
    ...(config.trustProxy.length > 0 ? { trustProxy: config.trustProxy } : {}),
    ajv: {
      // allErrors off: validation stops at the first fault, so a body of 300,000 bad items costs
      // one error, not 300,000 (hardening round three, finding 1).
      customOptions: { removeAdditional: false, allErrors: false },
      // Stricter than ajv-formats: what passes must be readable by Date and by PostgreSQL.
      onCreate: (ajv: { addFormat(name: string, validate: (value: string) => boolean): void }) => {
        ajv.addFormat('date-time', isIsoInstant);
        ajv.addFormat('date', isIsoDate);
      },
    } as FastifyServerOptions['ajv'],
    bodyLimit: config.http.bodyLimitBytes,
    // Slow clients are cut: headers must arrive within HEADERS_TIMEOUT_SECONDS, the whole request
    // within REQUEST_TIMEOUT_SECONDS (checked every second, not Node's 30), idle kept-alive
    // connections close after KEEP_ALIVE_TIMEOUT_SECONDS, and a silent socket after four minutes.
    http: {
      connectionsCheckingInterval: 1_000,
      headersTimeout: Math.min(config.http.headersTimeoutSeconds, config.http.requestTimeoutSeconds) * 1000,
    },
    requestTimeout: config.http.requestTimeoutSeconds * 1000,
    keepAliveTimeout: config.http.keepAliveTimeoutSeconds * 1000,
    connectionTimeout: 240_000,
    frameworkErrors: (error, request, reply) =>
      sendProblem(request, reply, {
        status: error.statusCode ?? 400,
        code: error.statusCode === 414 ? 'uri_too_long' : 'bad_request',
        title: error.statusCode === 414 ? 'URI too long' : 'Bad request',
        detail: error.statusCode === 414 ? 'A part of the address is too long.' : 'The request could not be read.',
      }),
    clientErrorHandler: rawClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // More connections than this are closed as they arrive, before they can exhaust file descriptors.
  app.server.maxConnections = config.http.maxConnections;
  // And at most so many from one address, unless a proxy (TRUST_PROXY) stands in front: then
  // every connection is the proxy's, and the proxy must cap each client (docs/deployment.md).
  if (config.http.maxConnectionsPerAddress > 0 && config.trustProxy.length === 0)
    limitConnectionsPerAddress(app.server, config.http.maxConnectionsPerAddress);

  const services = createServices({ db, clock, config, messagesDir });

  const pages: ErrorsOptions['pages'] = {};
  const notFoundLimit: NonNullable<ErrorsOptions['notFoundLimit']> = {};
  await app.register(errorsPlugin, { pages, notFoundLimit });
  // Called, not registered: its onResponse hook must see every route's requests.
  const metrics = metricsPlugin(app, {
    db,
    clock,
    token: config.metricsToken,
    ...(database.poolUse ? { poolUse: () => database.poolUse?.() ?? { total: 0, idle: 0, waiting: 0 } } : {}),
  });

  await app.register(fastifyView, {
    engine: { eta: new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, useWith: false }) },
    root: VIEWS_DIR,
    viewExt: 'eta',
  });
  boundJsonBodies(app);
  app.addHook('preValidation', refuseControlCharacters);
  if (onTimeFreed) {
    app.addHook('onResponse', async (request, reply) => {
      if (request.method === 'POST' && reply.statusCode < 400 && FREEING.test(request.routeOptions.url ?? ''))
        onTimeFreed();
    });
  }
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });
  await app.register(authPlugin, {
    auth: config.auth,
    findLibrarianIdByEmail: services.librarians.findIdByEmail,
    now: () => clock.now(),
  });
  // Per-route budgets (bodies, public reads) as routes are added; the pages' routes, named.
  const pageRoutes = routeBudgets(app, config);
  app.decorate('pageRoutes', () => pageRoutes);
  // Counters in Redis when REDIS_URL is set (shared by every process), else in this process.
  // skipOnError: a limiter fault lets requests through, because the limits are a guard against
  // abuse, while the rules that matter live in the database.
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        // Fail at once while Redis is away (no queue, no request waits), reconnect in the background.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 2_000,
        retryStrategy: (times) => Math.min(times * 200, 2_000),
        lazyConnect: false,
      })
    : null;
  redis?.on('error', () => undefined);
  if (redis) app.addHook('onClose', async () => void redis.disconnect());
  await app.register(rateLimit, {
    global: false,
    skipOnError: true,
    store: (redis ? redisRateLimitStore(redis, (message) => app.log.warn(message)) : SharedRateLimitStore) as never,
    errorResponseBuilder: (_request, context) =>
      new DomainError(
        429,
        'rate_limited',
        'Too many requests',
        `Too many requests: at most ${context.max} per ${context.after}. Try again in ${Math.ceil(context.ttl / 1000)} s.`,
        { headers: { 'retry-after': String(Math.ceil(context.ttl / 1000)) } },
      ),
  });
  // A 404 costs what any public read does: one budget per address.
  const notFoundLimiter = app.rateLimit({
    max: config.rateLimit.publicReadsPerMinute,
    timeWindow: '1 minute',
    keyGenerator: (request) => `public-read:${request.ip}`,
  });
  notFoundLimit.check = async (request, reply) => {
    await notFoundLimiter.call(app, request, reply);
  };
  await app.register(openapiPlugin, { version: packageJson.version });
  metrics.serve();
  app.decorate('scrapeMetrics', metrics.scrape);
  backupRoute(app, backup);

  app.get(
    '/health',
    {
      schema: {
        operationId: 'health',
        summary: 'Health check',
        tags: ['platform'],
        description: 'Liveness and database reachability, for load balancers. Anyone may call it.',
        response: {
          200: Type.Object(
            { status: Type.Literal('ok'), database: Type.Literal('up'), version: Type.String() },
            { description: 'Serving, and the database answers' },
          ),
          503: problemResponse('The database cannot be reached'),
        },
      },
    },
    async (request, reply) => {
      if (!(await database.answers(READY_DEADLINE_MS))) return databaseUnavailable(request, reply);
      return { status: 'ok' as const, database: 'up' as const, version: packageJson.version };
    },
  );

  /** Set on SIGTERM: readiness turns 503 so the load balancer stops sending new requests here. */
  let draining = false;
  app.decorate('drain', () => {
    draining = true;
  });

  app.get(
    '/health/live',
    {
      schema: {
        operationId: 'healthLive',
        summary: 'Liveness probe',
        tags: ['platform'],
        description:
          'The process can still serve: 503 once requests have waited for a database connection longer than DATABASE_STUCK_SECONDS with none freed, so that an orchestrator restarts it (a database that is down is a readiness matter, not this). Anyone may call it.',
        response: {
          200: Type.Object({ status: Type.Literal('ok') }, { description: 'Alive' }),
          503: problemResponse('Stuck: the process can no longer serve'),
        },
      },
    },
    async (request, reply) => {
      if (database.isStuck()) {
        return sendProblem(request, reply, {
          status: 503,
          code: 'stuck',
          title: 'Service unavailable',
          detail: 'Requests have waited too long for a database connection; this process should be restarted.',
        });
      }
      return { status: 'ok' as const };
    },
  );

  app.get(
    '/health/ready',
    {
      schema: {
        operationId: 'healthReady',
        summary: 'Readiness probe',
        tags: ['platform'],
        description:
          'Ready for new requests: the database answers within 2 s (asked on a connection of its own, never queued behind requests) and the process is not shutting down (503 from the moment it receives SIGTERM). For load balancer health checks. Anyone may call it.',
        response: {
          200: Type.Object({ status: Type.Literal('ready') }, { description: 'Send requests here' }),
          503: problemResponse('Shutting down (draining), or the database cannot be reached'),
        },
      },
    },
    async (request, reply) => {
      if (draining) {
        return sendProblem(request, reply, {
          status: 503,
          code: 'draining',
          title: 'Service unavailable',
          detail: 'This process is shutting down.',
        });
      }
      if (!(await database.answers(READY_DEADLINE_MS))) return databaseUnavailable(request, reply);
      return { status: 'ready' as const };
    },
  );

  await app.register(
    async (api) => {
      await api.register(librarianRoutes, services);
      await api.register(availabilityRoutes, services);
      await api.register(categoryRoutes, services);
      await api.register(uptakeRoutes, services);
      await api.register(feedbackRoutes, services);
      await api.register(peopleRoutes, services);
      await api.register(staffRecordRoutes, { staffRecord: services.staffRecord, config });
      await api.register(campaignRoutes, { campaigns: services.campaigns, results: services.campaignResults });
      await api.register(webhookRoutes, services);
      await api.register(bookingRoutes, { ...services, rateLimit: config.rateLimit });
      await api.register(calendarRoutes, services);
      await api.register(calendarConnectionRoutes, services);
      await api.register(poolRoutes, { pools: services.pools, rateLimit: config.rateLimit });
      await api.register(waitlistRoutes, { waitlist: services.waitlist });
      await api.register(notificationRoutes, services);
    },
    { prefix: '/api/v1' },
  );

  app.decorateRequest('session', null);
  app.decorateRequest('csrfToken', '');
  app.decorateRequest('chosenTimeZone', null);
  app.decorateRequest('pageTime', 0);
  // The pages use the same services as the API, and the web front's own parts.
  const webDeps = {
    ...services,
    config,
    clock,
    sessions: createSessionStore({
      db,
      clock,
      sessionHours: config.web.sessionHours,
      secureCookies: config.publicUrl.startsWith('https:'),
      findLibrarianIdByEmail: services.librarians.findIdByEmail,
    }),
    pageCookies: createPageCookies({
      loadKey: () => loadPageCookieKey(db, clock),
      secure: config.publicUrl.startsWith('https:'),
      maxAgeSeconds: config.web.sessionHours * 3600,
    }),
    signIn: createSignInService({
      db,
      clock,
      config,
      messageIdDomain: services.outbox.messageIdDomain,
      findLibrarianIdByEmail: services.librarians.findIdByEmail,
    }),
    oidc: config.web.oidc ? createOidcSignOn(config.web.oidc, `${config.publicUrl}/sign-in/oidc/callback`) : null,
  };
  await app.register(webPlugin, webDeps);
  pages.notFound = async (request, reply) => {
    await identifyVisitor(request, webDeps);
    request.csrfToken = request.session?.csrfToken ?? (await webDeps.pageCookies.csrfToken(request, reply));
    return renderErrorPage(request, reply, webDeps, 404);
  };

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
