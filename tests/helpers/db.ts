import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { type DatabaseHandle, openPglite, openPostgres } from '../../src/db/client.js';
import { migrationsFolder, runMigrations } from '../../src/db/migrate.js';
import { filesUnder } from './files.js';

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
 * A new database named `prefix_<random>` on the PostgreSQL server at `serverUrl` (empty, or a copy
 * of `template`): its URL, and `drop`, which removes it even with connections still open. Tests
 * and benches both use it.
 */
export async function createDatabase(
  serverUrl: string,
  prefix: string,
  template?: string,
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
  await run(template ? `create database ${name} template ${template}` : `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}

/** A hash of every migration: a template built from them is reused only while they are unchanged. */
function migrationsHash(): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(migrationsFolder)) hash.update(path.basename(file)).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

/**
 * PGlite's migrated data directory, made once for all test files (saved under the system's
 * temporary folder, named by the migrations' hash) and loaded by each new database: loading it
 * skips initialising a cluster and migrating, most of what opening a test database costs.
 */
async function pgliteTemplate(): Promise<Blob> {
  const file = path.join(tmpdir(), `liaison-test-pglite-${migrationsHash()}.tar`);
  if (!existsSync(file)) {
    const handle = await openPglite();
    try {
      await runMigrations(handle);
      const dump = await (handle.db.$client as PGlite).dumpDataDir('none');
      // Written aside and renamed: a file another test file reads is always whole.
      const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
      renameSync(partial, file);
    } finally {
      await handle.close();
    }
  }
  return new Blob([readFileSync(file)]);
}

/**
 * PostgreSQL's migrated template database, made once per server and migrations' hash: each test
 * database is a copy of it (CREATE DATABASE … TEMPLATE), instead of migrating anew. Made under an
 * advisory lock, so test files starting together make it once; templates of other migrations are
 * dropped then.
 */
async function postgresTemplate(serverUrl: string): Promise<string> {
  const name = `liaison_template_${migrationsHash()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query('select pg_advisory_lock(7201506)');
    const { rows } = await admin.query('select datname from pg_database where datname like $1', ['liaison_template_%']);
    if (!rows.some((row) => row.datname === name)) {
      for (const row of rows) await admin.query(`drop database if exists ${row.datname as string} with (force)`);
      await admin.query(`create database ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const handle = openPostgres(url.toString(), { max: 1 });
      try {
        await runMigrations(handle);
      } finally {
        await handle.close();
      }
    }
    return name;
  } finally {
    await admin.query('select pg_advisory_unlock(7201506)').catch(() => {});
    await admin.end();
  }
}

/** Each template once per test file (its module instance): the file is read, or the server asked, once. */
let pgliteTemplateOnce: Promise<Blob> | undefined;
let postgresTemplateOnce: Promise<string> | undefined;
function once<T>(made: Promise<T>, forget: () => void): Promise<T> {
  return made.catch((error: unknown) => {
    forget();
    throw error;
  });
}

/** A fresh, migrated database: PGlite in memory, or a new database on TEST_DATABASE_URL's server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testDatabaseUrl) {
    pgliteTemplateOnce ??= once(pgliteTemplate(), () => {
      pgliteTemplateOnce = undefined;
    });
    const handle = await openPglite(undefined, { loadDataDir: await pgliteTemplateOnce });
    return { handle, drop: () => handle.close() };
  }
  postgresTemplateOnce ??= once(postgresTemplate(testDatabaseUrl), () => {
    postgresTemplateOnce = undefined;
  });
  const database = await createDatabase(testDatabaseUrl, 'liaison_test', await postgresTemplateOnce);
  const handle = openPostgres(database.url, { max: 30 });
  return {
    handle,
    url: database.url,
    async drop() {
      await handle.close();
      await database.drop();
    },
  };
}
