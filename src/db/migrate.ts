import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migrateWithPg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migrateWithPglite } from 'drizzle-orm/pglite/migrator';
import type { DatabaseHandle } from './client.js';

/** migrations/ at the repository root, whether running from src/ (tsx) or dist/src/ (built). */
export const migrationsFolder = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? '../../../migrations' : '../../migrations',
);

/** Applies pending migrations; on PostgreSQL under an advisory lock so concurrent starts are safe. */
export async function runMigrations(handle: DatabaseHandle): Promise<void> {
  await handle.withMigrationLock(async (db) => {
    if (handle.kind === 'postgres') {
      await migrateWithPg(db as unknown as NodePgDatabase, { migrationsFolder });
    } else {
      await migrateWithPglite(db as unknown as PgliteDatabase, { migrationsFolder });
    }
  });
}
