import type { IncomingMessage } from 'node:http';
import { and, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../../config.js';
import { writeTogether } from '../../db/batch.js';
import type { Database } from '../../db/client.js';
import { webhookDeliveries, webhookEndpoints } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { openOutbound } from '../../http/outbound.js';
import type { Clock } from '../../time/clock.js';
import { newMessageId, queueMessages } from '../notifications/queue.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Standard Webhooks' schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then daily. */
export const RETRY_DELAYS_MS = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR];
const DAILY = 24 * HOUR;
/** A delivery is given up (dead) after this long; an endpoint failing this long is disabled. */
export const GIVE_UP_MS = 3 * DAILY;
const TIMEOUT_MS = 10 * SECOND;
const MAX_BODY_BYTES = 64 * 1024;
const CLAIM_MS = 2 * MINUTE;

type DeliveryRow = typeof webhookDeliveries.$inferSelect;
type EndpointRow = typeof webhookEndpoints.$inferSelect;

interface Attempt {
  status: number | null;
  error: string | null;
  retryAfterMs: number | null;
  durationMs: number;
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now; null when absent or unreadable. */
export function retryAfterMs(value: string | undefined, nowMs: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * SECOND;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** When to try again after `attempts` failed attempts, or null to give up. */
export function nextAttemptAt(createdMs: number, nowMs: number, attempts: number, retryAfter: number | null) {
  const scheduled = RETRY_DELAYS_MS[attempts - 1] ?? DAILY;
  const next = nowMs + Math.max(scheduled, retryAfter ?? 0);
  return next - createdMs > GIVE_UP_MS ? null : new Date(next);
}

/** One POST: no redirects followed, 10 s in all, at most 64 KB of the answer read. */
function post(url: URL, headers: Record<string, string>, body: string, allowed: boolean): Promise<Attempt> {
  const started = performance.now();
  return new Promise((resolve) => {
    const finish = (status: number | null, error: string | null, retryAfter: number | null) =>
      resolve({ status, error, retryAfterMs: retryAfter, durationMs: Math.round(performance.now() - started) });
    let request: ReturnType<typeof openOutbound>;
    try {
      request = openOutbound(
        url,
        {
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          },
          timeout: TIMEOUT_MS,
        },
        allowed,
        respond,
      );
    } catch (error) {
      return finish(null, (error as Error).message, null);
    }
    function respond(response: IncomingMessage) {
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_BODY_BYTES) response.destroy();
      });
      const done = () =>
        finish(response.statusCode ?? null, null, retryAfterMs(response.headers['retry-after'], Date.now()));
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    }
    const deadline = setTimeout(() => request.destroy(new Error('timed out after 10 s')), TIMEOUT_MS);
    request.on('timeout', () => request.destroy(new Error('timed out after 10 s')));
    request.on('error', (error) => finish(null, error.message.slice(0, 300), null));
    request.on('close', () => clearTimeout(deadline));
    request.end(body);
  });
}

export interface WebhookRun {
  succeeded: number;
  failed: number;
  dead: number;
}

/**
 * The webhook channel: claims due deliveries (FOR UPDATE SKIP LOCKED, so several workers share
 * the work), signs each attempt afresh with the endpoint's secret (and the previous one during a
 * rotation), and records the outcome. It never touches the email outbox's rows except to queue an
 * alert to admins when it disables a failing endpoint.
 */
export function createWebhookWorker(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'webhookAllowHosts' | 'adminAlertEmails' | 'publicUrl'>;
  batchSize?: number;
  concurrency?: number;
}) {
  const { db, clock } = deps;
  const batchSize = deps.batchSize ?? 50;
  const concurrency = deps.concurrency ?? 16;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopTicks = () => {};

  async function claim(now: Date): Promise<{ delivery: DeliveryRow; endpoint: EndpointRow }[]> {
    return transaction(db, async (tx) => {
      const due = await tx
        .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
        .from(webhookDeliveries)
        .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
        .where(
          and(
            eq(webhookDeliveries.status, 'pending'),
            eq(webhookEndpoints.enabled, true),
            lte(webhookDeliveries.nextAttemptAt, now),
            or(isNull(webhookDeliveries.lockedUntil), lt(webhookDeliveries.lockedUntil, now)),
          ),
        )
        .orderBy(webhookDeliveries.nextAttemptAt, webhookDeliveries.eventId)
        .limit(batchSize)
        .for('update', { of: webhookDeliveries, skipLocked: true });
      if (due.length === 0) return [];
      await tx
        .update(webhookDeliveries)
        .set({ lockedUntil: new Date(now.getTime() + CLAIM_MS) })
        .where(
          inArray(
            webhookDeliveries.id,
            due.map((row) => row.delivery.id),
          ),
        );
      return due;
    });
  }

  function signature(endpoint: EndpointRow, id: string, at: Date, body: string, now: Date): string {
    const signatures = [new Webhook(endpoint.secret).sign(id, at, body)];
    if (endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
      signatures.push(new Webhook(endpoint.previousSecret).sign(id, at, body));
    }
    return signatures.join(' ');
  }

  async function disable(endpoint: EndpointRow, reason: 'gone' | 'failing', now: Date) {
    await transaction(db, async (tx) => {
      await tx
        .update(webhookEndpoints)
        .set({ enabled: false, disabledReason: reason, updatedAt: now })
        .where(eq(webhookEndpoints.id, endpoint.id));
      if (reason === 'failing' && deps.config.adminAlertEmails.length > 0) {
        const domain = new URL(deps.config.publicUrl).hostname;
        await writeTogether(tx, {
          alerts: queueMessages(
            tx,
            deps.config.adminAlertEmails.map((address) => ({
              kind: 'webhook_disabled' as const,
              recipientRole: 'librarian' as const,
              recipientEmail: address,
              sendAfter: now,
              createdAt: now,
              messageId: newMessageId(domain),
              payload: {
                url: endpoint.url,
                endpointId: endpoint.id,
                failingSince: endpoint.failingSince?.toISOString(),
              },
            })),
          ),
        });
      }
    });
  }

  /** One attempt; the endpoint was read with the claim (enabled then). */
  async function deliver(
    { delivery: row, endpoint }: { delivery: DeliveryRow; endpoint: EndpointRow },
    run: WebhookRun,
  ) {
    const now = clock.now();
    const url = new URL(endpoint.url);
    const allowed = deps.config.webhookAllowHosts.includes(url.hostname.replace(/^\[|\]$/g, '').toLowerCase());
    const body = JSON.stringify(row.payload);
    const attempt =
      url.protocol === 'https:' || allowed
        ? await post(
            url,
            {
              'webhook-id': row.id,
              'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
              'webhook-signature': signature(endpoint, row.id, now, body, now),
              'user-agent': 'Liaison-Webhooks/1',
            },
            body,
            allowed,
          )
        : { status: null, error: 'http:// is allowed only for WEBHOOK_ALLOW_HOSTS', retryAfterMs: null, durationMs: 0 };
    const attempts = row.attempts + 1;
    const record = {
      attempts,
      lockedUntil: null,
      lastStatusCode: attempt.status,
      lastError: attempt.error ?? (attempt.status && attempt.status >= 300 ? `HTTP ${attempt.status}` : null),
      lastDurationMs: attempt.durationMs,
      lastAttemptAt: now,
    };
    if (attempt.status !== null && attempt.status >= 200 && attempt.status < 300) {
      await db
        .update(webhookDeliveries)
        .set({ ...record, status: 'succeeded', deliveredAt: now, lastError: null })
        .where(eq(webhookDeliveries.id, row.id));
      if (endpoint.failingSince) {
        await db.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpoint.id));
      }
      run.succeeded++;
      return;
    }
    if (attempt.status === 410) {
      await db
        .update(webhookDeliveries)
        .set({ ...record, status: 'dead' })
        .where(eq(webhookDeliveries.id, row.id));
      await disable(endpoint, 'gone', now);
      run.dead++;
      return;
    }
    const honoured = attempt.status === 429 || attempt.status === 503 ? attempt.retryAfterMs : null;
    const next = nextAttemptAt(row.createdAt.getTime(), now.getTime(), attempts, honoured);
    await db
      .update(webhookDeliveries)
      .set({ ...record, ...(next ? { nextAttemptAt: next } : { status: 'dead' }) })
      .where(eq(webhookDeliveries.id, row.id));
    if (next) run.failed++;
    else run.dead++;
    const failingSince = endpoint.failingSince ?? now;
    if (!endpoint.failingSince) {
      await db
        .update(webhookEndpoints)
        .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${now})` })
        .where(eq(webhookEndpoints.id, endpoint.id));
    }
    if (now.getTime() - failingSince.getTime() >= GIVE_UP_MS)
      await disable({ ...endpoint, failingSince }, 'failing', now);
  }

  let stopping = false;

  async function runOnce(): Promise<WebhookRun> {
    const run: WebhookRun = { succeeded: 0, failed: 0, dead: 0 };
    while (!stopping) {
      const claimed = await claim(clock.now());
      if (claimed.length === 0) return run;
      let index = 0;
      for (; index < claimed.length && !stopping; index += concurrency) {
        await Promise.all(claimed.slice(index, index + concurrency).map((row) => deliver(row, run)));
      }
      // Stopping: deliveries claimed but not started go back at once.
      const unstarted = claimed.slice(index);
      if (unstarted.length > 0) {
        await db
          .update(webhookDeliveries)
          .set({ lockedUntil: null })
          .where(
            inArray(
              webhookDeliveries.id,
              unstarted.map((row) => row.delivery.id),
            ),
          );
      }
      if (claimed.length < batchSize) return run;
    }
    return run;
  }

  return {
    runOnce,
    start(intervalMs = 1000) {
      let active = true;
      const tick = async () => {
        running = runOnce().catch(() => undefined);
        await running;
        running = null;
        if (!active || stopping) return;
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      };
      stopTicks = () => {
        active = false;
      };
      timer = setTimeout(tick, 0);
      timer.unref();
    },
    /** Stops claiming; requests in flight finish, claimed deliveries not yet started are released. */
    async stop() {
      stopping = true;
      stopTicks();
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
      stopping = false;
    },
  };
}

export type WebhookWorker = ReturnType<typeof createWebhookWorker>;
