import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { type Executor, runRendered } from './client.js';
import { isRenderable, renderDrizzle } from './insert.js';
import { LAST_IN_TRANSACTION } from './pipeline.js';

/**
 * Writes to send as one statement: each becomes a data-modifying CTE named by its key (a later
 * one may select from an earlier one's RETURNING by that name). Undefined entries are left out.
 */
export type Writes = Record<string, SQLWrapper | undefined>;

/**
 * One round trip for several writes: all of them run in one statement, so they succeed or fail
 * together (a constraint violation in any rolls back all), and foreign keys between them are
 * checked once the statement ends. Returns the rows of `result`, which may read the CTEs. With
 * `last`, the transaction sends nothing after it, so on PostgreSQL its COMMIT goes along
 * (pipeline.ts); a statement after it fails.
 */
export async function writeTogether<Row = Record<string, unknown>>(
  executor: Executor,
  writes: Writes,
  result: SQL = sql`select 1`,
  options: { last?: boolean } = {},
): Promise<Row[]> {
  const params: unknown[] = [];
  const parts: string[] = [];
  for (const [name, write] of Object.entries(writes)) {
    if (!write) continue;
    const rendered = isRenderable(write)
      ? write.render(params.length)
      : renderDrizzle(executor, write.getSQL(), params.length);
    parts.push(`"${name}" as (${rendered.text})`);
    params.push(...rendered.params);
  }
  if (parts.length === 0) return [];
  const tail = renderDrizzle(executor, result, params.length);
  params.push(...tail.params);
  const text = `with ${parts.join(', ')} ${tail.text}`;
  return runRendered<Row>(executor, options.last ? LAST_IN_TRANSACTION + text : text, params);
}
