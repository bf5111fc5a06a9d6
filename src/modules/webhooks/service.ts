import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import { webhookDeliveries, webhookEndpoints } from '../../db/schema.js';
import { transaction } from '../../db/transaction.js';
import { InvalidInput, NotFound } from '../../errors.js';
import { type Lookup, systemLookup, webhookUrlProblem } from '../../http/outbound.js';
import type { Clock } from '../../time/clock.js';
import { changedFields, recordStaffAction, type StaffActor } from '../staff-record/service.js';
import type { WebhookEndpointInput, WebhookEndpointPatch } from './schemas.js';

/** How long the old secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** A signing secret as Standard Webhooks writes it: whsec_ and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

type EndpointRow = typeof webhookEndpoints.$inferSelect;

/**
 * What the staff record keeps of an endpoint: never its secrets, nor its full address, which can
 * carry one (a chat service's hook path, a token in the query). The host, and a short digest that
 * shows whether the address changed.
 */
function recorded(row: EndpointRow) {
  return {
    host: new URL(row.url).host,
    address: createHash('sha256').update(row.url).digest('hex').slice(0, 12),
    description: row.description,
    events: row.events,
    enabled: row.enabled,
  };
}

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
    async create(input: WebhookEndpointInput, actor: StaffActor) {
      await checkUrl(input.url);
      const now = clock.now();
      const secret = newSecret();
      const row = await transaction(db, async (tx) => {
        const [created] = await tx
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
        const endpoint = created as EndpointRow;
        await recordStaffAction(tx, now, {
          actor,
          action: 'webhook.created',
          subject: endpoint.id,
          after: recorded(endpoint),
        });
        return endpoint;
      });
      return { ...view(row), secret };
    },

    async list() {
      const rows = await db.select().from(webhookEndpoints).orderBy(webhookEndpoints.createdAt);
      return rows.map(view);
    },

    async get(id: string) {
      return view(await find(id));
    },

    async update(id: string, patch: WebhookEndpointPatch, actor: StaffActor) {
      const current = await find(id);
      if (patch.url !== undefined) await checkUrl(patch.url);
      const now = clock.now();
      const row = await transaction(db, async (tx) => {
        const [updated] = await tx
          .update(webhookEndpoints)
          .set({
            ...(patch.url !== undefined ? { url: patch.url } : {}),
            ...(patch.events !== undefined ? { events: [...new Set(patch.events)] } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            ...(patch.enabled !== undefined
              ? { enabled: patch.enabled, disabledReason: patch.enabled ? null : 'admin', failingSince: null }
              : {}),
            updatedAt: now,
          })
          .where(eq(webhookEndpoints.id, id))
          .returning();
        if (!updated) throw new NotFound('No such webhook endpoint.');
        const change = changedFields(recorded(current), recorded(updated));
        if (Object.keys(change.after).length > 0) {
          await recordStaffAction(tx, now, { actor, action: 'webhook.changed', subject: updated.id, ...change });
        }
        return updated;
      });
      return view(row);
    },

    async remove(id: string, actor: StaffActor) {
      const current = await find(id);
      await transaction(db, async (tx) => {
        await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
        await recordStaffAction(tx, clock.now(), {
          actor,
          action: 'webhook.removed',
          subject: current.id,
          before: recorded(current),
        });
      });
    },

    /** A new secret; the old one also signs for the next 24 hours, so receivers can switch over. */
    async rotateSecret(id: string, actor: StaffActor) {
      const current = await find(id);
      const now = clock.now();
      const secret = newSecret();
      const row = await transaction(db, async (tx) => {
        const [updated] = await tx
          .update(webhookEndpoints)
          .set({
            secret,
            previousSecret: current.secret,
            previousSecretExpiresAt: new Date(now.getTime() + ROTATION_OVERLAP_MS),
            updatedAt: now,
          })
          .where(eq(webhookEndpoints.id, id))
          .returning();
        if (!updated) throw new NotFound('No such webhook endpoint.');
        // That it happened and when the old secret stops signing; neither secret.
        await recordStaffAction(tx, now, {
          actor,
          action: 'webhook.secret_rotated',
          subject: updated.id,
          after: { previousSecretExpiresAt: updated.previousSecretExpiresAt?.toISOString() ?? null },
        });
        return updated;
      });
      return { ...view(row), secret };
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
    async retry(id: string, deliveryId: string, actor: StaffActor) {
      const endpoint = await find(id);
      const now = clock.now();
      await transaction(db, async (tx) => {
        const [row] = await tx
          .update(webhookDeliveries)
          .set({ status: 'pending', nextAttemptAt: now, lockedUntil: null })
          .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, id)))
          .returning({ id: webhookDeliveries.id, type: webhookDeliveries.type, eventId: webhookDeliveries.eventId });
        if (!row) throw new NotFound('No such delivery for this endpoint.');
        await recordStaffAction(tx, now, {
          actor,
          action: 'webhook.delivery_retried',
          subject: endpoint.id,
          after: { delivery: row.id, event: row.eventId, type: row.type },
        });
      });
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
