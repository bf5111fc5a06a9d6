import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Clock } from '../time/clock.js';
import type { Executor } from './client.js';
import { appSecrets } from './schema.js';

/**
 * A key the deployment keeps in its database (app_secrets), made once by whichever process first
 * asks, so every process behind a load balancer uses the same one; backups carry it.
 */
export async function appSecret(db: Executor, clock: Clock, name: string): Promise<Buffer> {
  await db
    .insert(appSecrets)
    .values({ name, value: randomBytes(32).toString('base64url'), createdAt: clock.now() })
    .onConflictDoNothing();
  const [row] = await db.select({ value: appSecrets.value }).from(appSecrets).where(eq(appSecrets.name, name));
  if (!row) throw new Error(`the key ${name} could not be stored`);
  return Buffer.from(row.value, 'base64url');
}
