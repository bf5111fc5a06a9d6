import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { and, count, eq, inArray, lte, min, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { Type } from 'typebox';
import type { Database } from '../db/client.js';
import { rowsOf } from '../db/rows.js';
import { bookings, notifications, webhookDeliveries } from '../db/schema.js';
import type { Clock } from '../time/clock.js';
import { problemResponse, sendProblem } from './errors.js';

export interface MetricsOptions {
  db: Database;
  clock: Clock;
  /** METRICS_TOKEN: when set, every scrape must carry it as a bearer token, loopback included. */
  token: string | undefined;
  /** The connection pool's use, where there is a pool (PostgreSQL); absent for the embedded database. */
  poolUse?: () => { total: number; idle: number; waiting: number };
}

/** Label values are route patterns, methods and statuses only: never an id, an email or a token. */
const ROUTE_LABELS = ['method', 'route', 'status'] as const;

/** Whether two secrets are equal, in time that does not depend on where they differ. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * `/metrics` in Prometheus' text format (prom-client): requests and their latency by route pattern
 * and status, the process's own figures (event-loop delay, memory), the database pool's use, the
 * outbox's due messages and the age of the oldest, the webhook backlog, and bookings by status.
 * Figures kept in the database are read when scraped, so every process reports the same.
 */
export function metricsPlugin(
  app: FastifyInstance,
  options: MetricsOptions,
): { serve(): void; scrape(): Promise<{ contentType: string; body: string }> } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'liaison_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ROUTE_LABELS,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'liaison_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status',
    labelNames: ROUTE_LABELS,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const { db, clock, poolUse } = options;
  const oldestDue = new Gauge({
    name: 'liaison_outbox_oldest_due_seconds',
    help: 'How long the oldest email due has waited (0 when none waits): alert when it grows',
    registers: [registry],
  });
  new Gauge({
    name: 'liaison_outbox_due_messages',
    help: 'Emails due to be sent and not yet sent (pending or to be retried)',
    registers: [registry],
    async collect() {
      const now = clock.now();
      const [row] = await db
        .select({ due: count(), oldest: min(notifications.sendAfter) })
        .from(notifications)
        .where(and(inArray(notifications.status, ['pending', 'failed']), lte(notifications.sendAfter, now)));
      this.set(row?.due ?? 0);
      oldestDue.set(row?.oldest ? Math.max(0, (now.getTime() - new Date(row.oldest).getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'liaison_webhook_backlog',
    help: 'Webhook deliveries not yet made (pending, including retries)',
    registers: [registry],
    async collect() {
      const [row] = await db
        .select({ pending: count() })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.status, 'pending'));
      this.set(row?.pending ?? 0);
    },
  });
  new Gauge({
    name: 'liaison_bookings',
    help: 'Bookings made through Liaison, by status (a booking moves this by one)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await rowsOf<{ status: string; total: number }>(
        db,
        sql`select ${bookings.status} as status, count(*)::int as total from ${bookings}
            where ${bookings.source} = 'booked' group by ${bookings.status}`,
      );
      this.reset();
      for (const status of ['confirmed', 'cancelled']) {
        this.set({ status }, rows.find((row) => row.status === status)?.total ?? 0);
      }
    },
  });
  if (poolUse) {
    new Gauge({
      name: 'liaison_db_pool_connections',
      help: 'Database pool connections: open in all, idle, and requests waiting for one',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const use = poolUse();
        this.set({ state: 'total' }, use.total);
        this.set({ state: 'idle' }, use.idle);
        this.set({ state: 'waiting' }, use.waiting);
      },
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });

  /**
   * With METRICS_TOKEN only. A loopback peer proves nothing on the main port: every proxy on this
   * host is one. Without a token, metrics are served on their own listener (METRICS_PORT).
   */
  function allowed(request: FastifyRequest): boolean {
    if (!options.token) return false;
    const header = request.headers.authorization ?? '';
    return header.startsWith('Bearer ') && sameSecret(header.slice('Bearer '.length), options.token);
  }

  // The route itself is declared once the contract's plugin is there to see it (serve()).
  const serve = () =>
    app.get(
      '/metrics',
      {
        schema: {
          operationId: 'metrics',
          summary: 'Metrics for Prometheus',
          tags: ['platform'],
          description:
            'Prometheus text format: requests and latency by route pattern and status, event-loop delay and memory, database pool use, outbox depth and its oldest due message, webhook backlog, bookings by status. On this port only with METRICS_TOKEN as a bearer token; without a token, scrape the separate loopback listener METRICS_PORT.',
          produces: ['text/plain'],
          response: {
            200: {
              description: 'The metrics',
              content: { 'text/plain': { schema: Type.String({ description: 'Prometheus text format 0.0.4' }) } },
            },
            401: problemResponse('METRICS_TOKEN is set and the request did not carry it'),
            403: problemResponse('No METRICS_TOKEN is set: metrics are on the METRICS_PORT listener only'),
            500: problemResponse('Unexpected server error (details are logged, never returned)'),
          },
        },
      },
      async (request, reply) => {
        if (!allowed(request)) {
          return options.token
            ? sendProblem(request, reply, {
                status: 401,
                code: 'unauthenticated',
                title: 'Unauthorized',
                detail: 'Send the metrics token as a bearer token.',
                headers: { 'www-authenticate': 'Bearer realm="metrics"' },
              })
            : sendProblem(request, reply, {
                status: 403,
                code: 'forbidden',
                title: 'Forbidden',
                detail: 'Set METRICS_TOKEN to scrape this port, or scrape the METRICS_PORT listener on this machine.',
              });
        }
        const body = await registry.metrics();
        return reply.type(registry.contentType).header('cache-control', 'no-store').send(body);
      },
    );
  /** The scrape itself, for the METRICS_PORT listener (listenForMetrics). */
  const scrape = async () => ({ contentType: registry.contentType, body: await registry.metrics() });
  return { serve: () => void serve(), scrape };
}

export type ScrapeMetrics = ReturnType<typeof metricsPlugin>['scrape'];

/**
 * Metrics without a token, on a listener of their own bound to loopback (METRICS_PORT): what
 * reaches it is this machine's scraper, never a request a proxy forwarded to the main port.
 */
export async function listenForMetrics(scrape: ScrapeMetrics, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: GET /metrics\n');
      return;
    }
    scrape().then(
      ({ contentType, body }) =>
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('Metrics could not be read\n'),
    );
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  server.unref();
  return server;
}
