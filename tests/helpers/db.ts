import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type DatabaseHandle, openPglite, openPostgres } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';

/** Set by .ci/run: the suites then run on real PostgreSQL, each file in a database of its own. */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;
export const onPostgres = testDatabaseUrl !== undefined;

/** CI's PostgreSQL run: nothing may be skipped there (race tests, tests needing installed services). */
export const inCi = process.env.REQUIRE_POSTGRES === '1';

// CI's PostgreSQL run sets REQUIRE_POSTGRES=1: the race tests must not be skipped silently there.
if (inCi && !onPostgres) {
  throw new Error(
    'REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: the PostgreSQL-only race tests would be skipped',
  );
}

export interface TestDatabase {
  handle: DatabaseHandle;
  /** Connection string of this file's own database (PostgreSQL only). */
  url?: string;
  drop(): Promise<void>;
}

/**
 * A new, empty database named `prefix_<random>` on the PostgreSQL server at `serverUrl`: its URL,
 * and `drop`, which removes it even with connections still open. Tests and benches both use it.
 */
export async function createDatabase(
  serverUrl: string,
  prefix: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const run = async (statement: string) => {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(statement);
    } finally {
      await admin.end();
    }
  };
  await run(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}

/** A fresh, migrated database: PGlite in memory, or a new database on TEST_DATABASE_URL's server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testDatabaseUrl) {
    const handle = await openPglite();
    await runMigrations(handle);
    return { handle, drop: () => handle.close() };
  }
  const database = await createDatabase(testDatabaseUrl, 'liaison_test');
  const handle = openPostgres(database.url, { max: 30 });
  await runMigrations(handle);
  return {
    handle,
    url: database.url,
    async drop() {
      await handle.close();
      await database.drop();
    },
  };
}
