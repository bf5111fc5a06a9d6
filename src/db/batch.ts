import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { isRenderable, quoteName, renderSql } from './insert.js';
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
  const parts = Object.entries(writes).filter((entry): entry is [string, SQLWrapper] => entry[1] !== undefined);
  if (parts.length === 0) return [];
  return runStatement<Row>(executor, {
    getSQL: () =>
      sql`with ${sql.join(
        parts.map(([name, write]) => sql`${sql.identifier(name)} as (${write.getSQL()})`),
        sql`, `,
      )} ${result}`,
    // The same statement as text: inserts from insertRows write their own, the rest through drizzle.
    render(first) {
      const params: unknown[] = [];
      const ctes = parts.map(([name, write]) => {
        const part = isRenderable(write)
          ? write.render(first + params.length)
          : renderSql(write.getSQL(), first + params.length);
        params.push(...part.params);
        return `${quoteName(name)} as (${part.text})`;
      });
      const tail = renderSql(result, first + params.length);
      return { text: `with ${ctes.join(', ')} ${tail.text}`, params: [...params, ...tail.params] };
    },
  });
}
