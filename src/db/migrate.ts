import { fileURLToPath } from 'node:url';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migrateWithPg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import type { DatabaseHandle } from './client.js';

/** migrations/ at the repository root. */
export const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Applies pending migrations; on PostgreSQL under an advisory lock so concurrent starts are safe. */
export async function runMigrations(handle: DatabaseHandle): Promise<void> {
  await handle.withMigrationLock(async (db) => {
    if (handle.kind === 'postgres') {
      await migrateWithPg(db as unknown as NodePgDatabase, { migrationsFolder });
    } else {
      const { migrate } = await import('drizzle-orm/pglite/migrator');
      await migrate(db as unknown as PgliteDatabase, { migrationsFolder });
    }
  });
}
