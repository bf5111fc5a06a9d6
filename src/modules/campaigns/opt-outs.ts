import { createHash, createHmac } from 'node:crypto';
import { appSecret } from '../../db/app-secrets.js';
import type { Database, Executor } from '../../db/client.js';
import type { Clock } from '../../time/clock.js';

/**
 * How an address is kept in invitation_opt_outs: HMAC-SHA-256 of it in lower case, with a key the
 * deployment keeps (app_secrets "opt_outs"), so a copy of the table cannot be read back by hashing
 * a list of likely addresses. Rows written before the key (plain SHA-256) still count.
 */
export function createOptOutKeys(db: Database, clock: Clock) {
  let cached: Promise<Buffer> | null = null;
  /**
   * The key. Inside a transaction it is read on that transaction's connection (PGlite has only
   * one) and not kept, since the transaction may yet roll its creation back.
   */
  const loadKey = (executor?: Executor): Promise<Buffer> => {
    if (executor && executor !== db) return appSecret(executor, clock, 'opt_outs');
    cached ??= appSecret(db, clock, 'opt_outs').catch((error: unknown) => {
      cached = null;
      throw error;
    });
    return cached;
  };
  const normal = (email: string) => email.trim().toLowerCase();
  const hmac = (key: Buffer, email: string) => createHmac('sha256', key).update(normal(email)).digest('hex');
  const plain = (email: string) => createHash('sha256').update(normal(email)).digest('hex');
  return {
    /** The key a new opt-out is stored under. */
    async keyOf(email: string, executor?: Executor): Promise<string> {
      return hmac(await loadKey(executor), email);
    },
    /** Every key an opt-out of each address may be stored under (today's, and the older plain hash), to its address. */
    async keysOf(emails: readonly string[], executor?: Executor): Promise<Map<string, string>> {
      const key = await loadKey(executor);
      return new Map(emails.flatMap((email) => [[hmac(key, email), email] as const, [plain(email), email] as const]));
    },
  };
}

export type OptOutKeys = ReturnType<typeof createOptOutKeys>;
