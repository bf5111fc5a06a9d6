import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { Executor } from './client.js';

/**
 * Writes to send as one statement: each becomes a data-modifying CTE named by its key (a later
 * one may select from an earlier one's RETURNING by that name). Undefined entries are left out.
 */
export type Writes = Record<string, SQLWrapper | undefined>;

/**
 * One round trip for several writes: all of them run in one statement, so they succeed or fail
 * together (a constraint violation in any rolls back all), and foreign keys between them are
 * checked once the statement ends. Returns the rows of `result`, which may read the CTEs.
 */
export async function writeTogether<Row = Record<string, unknown>>(
  executor: Executor,
  writes: Writes,
  result: SQL = sql`select 1`,
): Promise<Row[]> {
  const parts = Object.entries(writes).flatMap(([name, write]) =>
    write ? [sql`${sql.identifier(name)} as (${write.getSQL()})`] : [],
  );
  if (parts.length === 0) return [];
  const outcome = await executor.execute(sql`with ${sql.join(parts, sql`, `)} ${result}`);
  return (outcome as unknown as { rows: Row[] }).rows;
}
