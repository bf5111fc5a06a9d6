/**
 * Names for statements a connection prepares once and then only binds and executes (drizzle's
 * `.prepare(name)`, which hands the name to pg's query config). PostgreSQL keeps a prepared
 * statement's result columns fixed: once a migration changes one (a column's type), the statement
 * fails with "cached plan must not change result type" on every connection that prepared it, and
 * pg knows no way to forget it. So names carry a generation: on that error the generation moves
 * on, and the work runs once more under new names, which each connection prepares afresh.
 */
let generation = 0;

/** `base` under the current generation: the name to give drizzle's `.prepare()`. */
export function statementName(base: string): string {
  return `${base}_${generation}`;
}

/** Whether `error` (or one it wraps: drizzle puts the driver's in `cause`) is a stale prepared plan. */
export function isStalePlan(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const { code } = current as { code?: unknown };
    // 0A000 feature_not_supported, raised by PostgreSQL's plan cache (plancache.c).
    if (code === '0A000' && current.message.includes('cached plan must not change result type')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Runs `work` (a whole transaction, or a statement outside one) and, if a prepared statement in it
 * was stale, once more under new statement names. `work` must be safe to run again: a failed
 * transaction has rolled back, so it is.
 */
export async function retryingStalePlans<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isStalePlan(error)) throw error;
    generation += 1;
    return work();
  }
}
