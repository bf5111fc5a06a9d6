import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { secureDataDir } from './data-dir.js';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import {
  connectionSettings,
  type DatabaseHealth,
  type DatabaseTimeouts,
  DEFAULT_DATABASE_TIMEOUTS,
  singleConnectionHealth,
  watchPool,
} from './reachability.js';
import * as schema from './schema.js';

/** A drizzle database on either driver; `$client` (drizzle's public handle on it) is the pg Pool or PGlite. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema> & { $client: unknown };
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Either the database or an open transaction, so repository functions can join a caller's transaction. */
export type Executor = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
  /** What the health probes ask of the database. */
  health: DatabaseHealth;
  /** 'postgres' or 'pglite': for start-up messages and migrations only; queries never branch on it. */
  kind: 'postgres' | 'pglite';
  /** Where migrations take their lock (PostgreSQL) — several processes may start at once. */
  withMigrationLock<T>(run: (db: Database) => Promise<T>): Promise<T>;
  /**
   * The embedded database's files as a gzipped tarball (PGlite's dumpDataDir), taken while no
   * transaction is half done: what `npm run backup` saves. Absent on PostgreSQL (pg_dump there).
   */
  dumpDataDir?: () => Promise<Blob>;
  close(): Promise<void>;
}

// node-postgres parses `date` columns into JS Dates at local midnight; keep them as 'YYYY-MM-DD'.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

export interface PostgresOptions {
  max?: number;
  timeouts?: DatabaseTimeouts;
  /** Where a lost connection is reported (one line, no secrets); default: standard error. */
  log?: (message: string) => void;
}

export function openPostgres(connectionString: string, options: PostgresOptions = {}): DatabaseHandle {
  const timeouts = options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS;
  // Pipeline mode (pg's public `pipeline` option): a statement may be sent before the one ahead of
  // it has been answered; transaction.ts sends a transaction's first statement right behind BEGIN.
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    ...connectionSettings(timeouts),
    pipeline: true,
  });
  const health = watchPool(pool, {
    connectionString,
    timeouts,
    log: options.log ?? ((message) => console.warn(message)),
  });
  const db = drizzlePg(pool, { schema }) as unknown as Database;
  return {
    db,
    health,
    kind: 'postgres',
    async withMigrationLock(run) {
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock(7201505)');
        return await run(drizzlePg(client, { schema }) as unknown as Database);
      } finally {
        await client.query('select pg_advisory_unlock(7201505)').catch(() => {});
        client.release();
      }
    },
    async close() {
      await health.close();
      await pool.end();
    },
  };
}

/**
 * Embedded PostgreSQL (WASM). `dataDir` undefined = in memory (tests). On disk, the folder holding
 * it is locked for this process (data-dir-lock.ts) until close().
 */
export async function openPglite(
  dataDir?: string,
  options: {
    /** A data directory saved with PGlite's dumpDataDir to start from (tests' migrated template). */
    loadDataDir?: Blob;
  } = {},
): Promise<DatabaseHandle> {
  let lock: DataDirLock | undefined;
  if (dataDir) {
    mkdirSync(path.dirname(dataDir), { recursive: true });
    lock = lockDataDir(path.dirname(dataDir));
  }
  let client: PGlite;
  let drizzlePglite: typeof import('drizzle-orm/pglite').drizzle;
  try {
    // Loaded only when used: the embedded engine adds ~40 MB to a process that runs on PostgreSQL.
    const [{ PGlite }, { btree_gist }, { drizzle }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite/contrib/btree_gist'),
      import('drizzle-orm/pglite'),
    ]);
    drizzlePglite = drizzle;
    client = await PGlite.create(dataDir, {
      extensions: { btree_gist },
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    });
  } catch (error) {
    lock?.release();
    throw error;
  }
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    // One connection in this process: the probe waits its turn, within its deadline.
    health: singleConnectionHealth(() => client.query('select 1')),
    kind: 'pglite',
    withMigrationLock: (run) => run(db),
    // Inside a transaction of its own, so every other transaction has finished or not begun; each
    // statement outside one is atomic against the dump, which runs between statements.
    dumpDataDir: () => client.transaction(() => client.dumpDataDir('gzip')),
    async close() {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/** The database the configuration names: PostgreSQL at DATABASE_URL, or PGlite in DATA_DIR/pglite. */
export async function openDatabase(
  config: { databaseUrl?: string | undefined; dataDir: string; database?: DatabaseTimeouts },
  options: PostgresOptions = {},
): Promise<DatabaseHandle> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, { timeouts: config.database, ...options });
  const opened = secureDataDir(config.dataDir);
  if (opened.length > 0)
    process.emitWarning(
      `${opened.length} folders in DATA_DIR (${config.dataDir}) were open to other users; made owner-only`,
    );
  const handle = await openPglite(path.join(config.dataDir, 'pglite'));
  secureDataDir(config.dataDir);
  return handle;
}
