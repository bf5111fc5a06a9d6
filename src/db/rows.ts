import type { SQL } from 'drizzle-orm';
import type { Executor } from './client.js';

/**
 * The rows of a raw statement. Both drivers (pg and PGlite) answer drizzle's `execute` with an
 * object holding `rows`; the Database type the two share cannot say so, so this is the one place
 * that says it.
 */
export async function rowsOf<Row>(executor: Executor, query: SQL): Promise<Row[]> {
  const result: unknown = await executor.execute(query);
  return (result as { rows: Row[] }).rows;
}
