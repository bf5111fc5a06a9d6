import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { runStatement } from './transaction.js';

/**
 * Writes to send as one statement: each becomes a data-modifying CTE named by its key (a later
 * one may select from an earlier one's RETURNING by that name). Undefined entries are left out.
 * Any drizzle query builder (insert, update, delete) or `sql` fragment will do.
 */
export type Writes = Record<string, SQLWrapper | undefined>;

/**
 * One round trip for several writes: all of them run in one statement, so they succeed or fail
 * together (a constraint violation in any rolls back all), and foreign keys between them are
 * checked once the statement ends. Returns the rows of `result`, which may read the CTEs.
 * Built with drizzle's `sql`; in a transaction opened by `transaction` (transaction.ts) it is a
 * named statement, parsed and planned once per connection, so `result` selects ids, counts and
 * text only (see runStatement).
 */
export async function writeTogether<Row = Record<string, unknown>>(
  executor: Executor,
  writes: Writes,
  result: SQL = sql`select 1`,
): Promise<Row[]> {
  const parts = Object.entries(writes)
    .filter((entry): entry is [string, SQLWrapper] => entry[1] !== undefined)
    .map(([name, write]) => sql`${sql.identifier(name)} as (${write.getSQL()})`);
  if (parts.length === 0) return [];
  return runStatement<Row>(executor, sql`with ${sql.join(parts, sql`, `)} ${result}`);
}
