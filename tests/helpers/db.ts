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

/** A fresh, migrated database: PGlite in memory, or a new database on TEST_DATABASE_URL's server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testDatabaseUrl) {
    const handle = await openPglite();
    await runMigrations(handle);
    return { handle, drop: () => handle.close() };
  }
  const name = `liaison_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  const handle = openPostgres(url.toString(), { max: 30 });
  await runMigrations(handle);
  return {
    handle,
    url: url.toString(),
    async drop() {
      await handle.close();
      const cleanup = new pg.Client({ connectionString: testDatabaseUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
