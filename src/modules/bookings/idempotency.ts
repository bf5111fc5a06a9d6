import { createHash } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { idempotencyKeys } from '../../db/schema.js';
import { Conflict, RuleViolation } from '../../errors.js';

/** Canonical hash of a request body: same fields in any order give the same hash. */
export function requestHash(body: unknown): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([key, inner]) => [key, canonical(inner)]),
          )
        : value;
  return createHash('sha256')
    .update(JSON.stringify(canonical(body)))
    .digest('hex');
}

/**
 * Claims (caller, key) inside the operation's transaction. A concurrent request with the same key
 * waits on the row until the first commits, then replays its response; if the first rolled back,
 * the claim is free again. Keys older than 24 hours are reclaimed.
 */
export async function claimIdempotencyKey(
  executor: Executor,
  caller: string,
  key: string,
  hash: string,
  now: Date,
): Promise<{ replay: unknown } | null> {
  const expired = new Date(now.getTime() - 24 * 3_600_000);
  const claimed = await executor
    .insert(idempotencyKeys)
    .values({ caller, key, requestHash: hash, createdAt: now })
    .onConflictDoUpdate({
      target: [idempotencyKeys.caller, idempotencyKeys.key],
      set: { requestHash: hash, statusCode: null, response: null, createdAt: now },
      setWhere: lt(idempotencyKeys.createdAt, expired),
    })
    .returning({ key: idempotencyKeys.key });
  if (claimed.length > 0) return null;
  const [existing] = await executor
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.caller, caller), eq(idempotencyKeys.key, key)));
  if (!existing || existing.requestHash !== hash) {
    throw new RuleViolation(
      'idempotency_key_reused',
      'This Idempotency-Key was used with a different request in the last 24 hours; use a new key.',
    );
  }
  if (existing.response === null)
    throw new Conflict('idempotency_in_progress', 'A request with this key is in progress.');
  return { replay: existing.response };
}

/** The response to replay, as a write to send with the request's own (writeTogether). */
export function idempotentResponseWrite(
  executor: Executor,
  caller: string,
  key: string,
  statusCode: number,
  response: unknown,
) {
  return executor
    .update(idempotencyKeys)
    .set({ statusCode, response })
    .where(and(eq(idempotencyKeys.caller, caller), eq(idempotencyKeys.key, key)));
}
