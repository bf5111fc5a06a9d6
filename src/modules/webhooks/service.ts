import { randomBytes } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { webhookDeliveries, webhookEndpoints } from '../../db/schema.js';
import { InvalidInput, NotFound } from '../../errors.js';
import type { Clock } from '../../time/clock.js';
import { type Lookup, systemLookup, webhookUrlProblem } from './address.js';
import type { WebhookEndpointInput, WebhookEndpointPatch } from './schemas.js';

/** How long the old secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** A signing secret as Standard Webhooks writes it: whsec_ and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

type EndpointRow = typeof webhookEndpoints.$inferSelect;

function view(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    previousSecretExpiresAt: row.previousSecretExpiresAt?.toISOString() ?? null,
    failingSince: row.failingSince?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function createWebhookService(deps: {
  db: Database;
  clock: Clock;
  config: Pick<Config, 'webhookAllowHosts'>;
  lookup?: Lookup;
}) {
  const { db, clock } = deps;
  const lookup = deps.lookup ?? systemLookup;

  async function checkUrl(url: string) {
    const problem = await webhookUrlProblem(url, deps.config.webhookAllowHosts, lookup);
    if (problem) {
      throw new InvalidInput(`url ${problem}.`, [{ pointer: '/url', in: 'body', message: problem }]);
    }
  }

  async function find(id: string): Promise<EndpointRow> {
    const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    if (!row) throw new NotFound('No such webhook endpoint.');
    return row;
  }

  return {
    async create(input: WebhookEndpointInput) {
      await checkUrl(input.url);
      const now = clock.now();
      const secret = newSecret();
      const [row] = await db
        .insert(webhookEndpoints)
        .values({
          url: input.url,
          description: input.description ?? null,
          events: [...new Set(input.events)],
          secret,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      return { ...view(row as EndpointRow), secret };
    },

    async list() {
      const rows = await db.select().from(webhookEndpoints).orderBy(webhookEndpoints.createdAt);
      return rows.map(view);
    },

    async get(id: string) {
      return view(await find(id));
    },

    async update(id: string, patch: WebhookEndpointPatch) {
      await find(id);
      if (patch.url !== undefined) await checkUrl(patch.url);
      const [row] = await db
        .update(webhookEndpoints)
        .set({
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.events !== undefined ? { events: [...new Set(patch.events)] } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.enabled !== undefined
            ? { enabled: patch.enabled, disabledReason: patch.enabled ? null : 'admin', failingSince: null }
            : {}),
          updatedAt: clock.now(),
        })
        .where(eq(webhookEndpoints.id, id))
        .returning();
      return view(row as EndpointRow);
    },

    async remove(id: string) {
      await find(id);
      await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    },

    /** A new secret; the old one also signs for the next 24 hours, so receivers can switch over. */
    async rotateSecret(id: string) {
      const current = await find(id);
      const now = clock.now();
      const secret = newSecret();
      const [row] = await db
        .update(webhookEndpoints)
        .set({
          secret,
          previousSecret: current.secret,
          previousSecretExpiresAt: new Date(now.getTime() + ROTATION_OVERLAP_MS),
          updatedAt: now,
        })
        .where(eq(webhookEndpoints.id, id))
        .returning();
      return { ...view(row as EndpointRow), secret };
    },

    async deliveries(id: string, limit: number) {
      await find(id);
      const rows = await db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, id))
        .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.eventId))
        .limit(limit);
      return rows.map((row) => ({
        id: row.id,
        eventId: row.eventId,
        type: row.type,
        status: row.status,
        attempts: row.attempts,
        nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
        lastStatusCode: row.lastStatusCode,
        lastError: row.lastError,
        lastDurationMs: row.lastDurationMs,
        lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
        deliveredAt: row.deliveredAt?.toISOString() ?? null,
        createdAt: row.createdAt.toISOString(),
      }));
    },

    /** Sends a delivery again now (a dead one too), keeping its webhook-id. */
    async retry(id: string, deliveryId: string) {
      await find(id);
      const [row] = await db
        .update(webhookDeliveries)
        .set({ status: 'pending', nextAttemptAt: clock.now(), lockedUntil: null })
        .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, id)))
        .returning({ id: webhookDeliveries.id });
      if (!row) throw new NotFound('No such delivery for this endpoint.');
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
