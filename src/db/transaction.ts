import { createHash } from 'node:crypto';
import type { SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Database, Executor } from './client.js';
import { isRenderable, type RenderableWrite, renderSql } from './insert.js';
import { statementName } from './prepared.js';
import { isDatabaseUnavailable } from './reachability.js';
import { rowsOf } from './rows.js';
import * as schema from './schema.js';

/**
 * Transactions through drizzle's and pg's public API only.
 *
 * On PostgreSQL a transaction checks a connection out of the pool itself and hands `work` a
 * drizzle database made for that connection (one per connection, kept). So code inside it can
 * use what belongs to the connection: statements built and prepared once per connection
 * (`builtOnce`), and named statements sent with pg's query config (`runStatement`), which
 * PostgreSQL parses and plans once per connection. The pool's connections are in pg's pipeline
 * mode (`pipeline: true`, client.ts), so BEGIN is sent without waiting for its answer and the
 * first statement follows it at once. COMMIT is sent only after `work` has returned, and ROLLBACK
 * if it throws, so nothing is committed that the code did not finish. On PGlite (one connection,
 * in process) it is drizzle's own transaction.
 *
 * `work` must not open a transaction of its own on what it is given.
 */

interface Connection {
  db: Database;
  client: pg.PoolClient;
  /** Statements built for this connection, by name. */
  built: Map<string, unknown>;
  /** Names of the statements runStatement has prepared on it. */
  named: Set<string>;
}

/** Statements runStatement prepares per connection at most; later new texts are parsed each time. */
export const WRITES_PREPARED_PER_CONNECTION = 100;

const connections = new WeakMap<pg.PoolClient, Connection>();
const inTransaction = new WeakSet<Connection['db']>();

export async function transaction<T>(db: Database, work: (tx: Executor) => Promise<T>): Promise<T> {
  const pool = db.$client;
  if (!(pool instanceof pg.Pool)) return db.transaction(work);
  const client = await pool.connect();
  let connection = connections.get(client);
  if (!connection) {
    connection = { db: drizzle(client, { schema }) as unknown as Database, client, built: new Map(), named: new Set() };
    connections.set(client, connection);
  }
  let broken: Error | undefined;
  const begun = client.query('begin');
  // Its failure is the first statement's too, and is reported from there (or awaited below).
  begun.catch(() => {});
  try {
    inTransaction.add(connection.db);
    const result = await work(connection.db);
    await begun;
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch((rollbackError: unknown) => {
      broken = rollbackError as Error;
    });
    // A connection that failed under the transaction is not given to anyone else.
    if (isDatabaseUnavailable(error)) broken ??= error as Error;
    throw error;
  } finally {
    inTransaction.delete(connection.db);
    client.release(broken);
  }
}

function connectionOf(executor: Executor): Connection | undefined {
  const pool = (executor as Database).$client;
  if (!(pool instanceof pg.Client) || !inTransaction.has(executor as Database)) return undefined;
  return connections.get(pool as pg.PoolClient);
}

/**
 * What `build` makes from the database `executor` runs on, made once per connection and statement
 * name when `executor` is one of `transaction`'s (a drizzle prepared query built on the
 * transaction's connection runs inside the transaction), and on every call otherwise.
 */
export function builtOnce<T>(executor: Executor, name: string, build: (on: Executor) => T): T {
  const connection = connectionOf(executor);
  if (!connection) return build(executor);
  const key = statementName(name);
  let built = connection.built.get(key) as T | undefined;
  if (built === undefined) {
    built = build(connection.db);
    connection.built.set(key, built);
  }
  return built;
}

/**
 * Runs `query` on `executor` and returns its rows. In one of `transaction`'s transactions the text
 * goes as a named statement, prepared once per connection: its rows then hold what pg makes of
 * each type (a timestamp is a Date), so callers select ids, counts and text only.
 */
export async function runStatement<Row>(executor: Executor, query: SQL | RenderableWrite): Promise<Row[]> {
  const connection = connectionOf(executor);
  if (!connection) return rowsOf<Row>(executor, query.getSQL());
  const { text, params } = isRenderable(query) ? query.render(0) : renderSql(query, 0);
  const name = statementName(`w_${createHash('sha1').update(text).digest('base64url')}`);
  if (!connection.named.has(name) && connection.named.size >= WRITES_PREPARED_PER_CONNECTION) {
    return (await connection.client.query<Row & pg.QueryResultRow>({ text, values: params })).rows;
  }
  connection.named.add(name);
  return (await connection.client.query<Row & pg.QueryResultRow>({ name, text, values: params })).rows;
}
