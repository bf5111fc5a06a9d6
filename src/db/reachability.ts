import pg from 'pg';

/** How long the process waits on PostgreSQL, from the DATABASE_* settings (config.ts). */
export interface DatabaseTimeouts {
  connectTimeoutSeconds: number;
  statementTimeoutSeconds: number;
  idleInTransactionTimeoutSeconds: number;
  keepAliveSeconds: number;
  stuckSeconds: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  connectTimeoutSeconds: 5,
  statementTimeoutSeconds: 15,
  idleInTransactionTimeoutSeconds: 30,
  keepAliveSeconds: 10,
  stuckSeconds: 60,
};

/**
 * The process stops waiting for an answer this long after PostgreSQL would have cancelled the
 * statement itself: past it, the answer is not coming (a dropped path, a stalled proxy).
 */
export function answerTimeoutMs(timeouts: DatabaseTimeouts): number {
  return (timeouts.statementTimeoutSeconds + 2) * 1000;
}

/** pg's settings for every connection of the pool: the server's timeouts, the client's and TCP keepalive. */
export function connectionSettings(timeouts: DatabaseTimeouts): pg.PoolConfig {
  return {
    connectionTimeoutMillis: timeouts.connectTimeoutSeconds * 1000,
    statement_timeout: timeouts.statementTimeoutSeconds * 1000,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutSeconds * 1000,
    query_timeout: answerTimeoutMs(timeouts),
    keepAlive: true,
    keepAliveInitialDelayMillis: timeouts.keepAliveSeconds * 1000,
  };
}

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
];
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled: statement_timeout
  '25P03', // idle_in_transaction_session_timeout
  '53300', // too_many_connections
]);

/**
 * Whether an error (or one it wraps: drizzle puts the driver's in `cause`) means the database could
 * not be reached or did not answer in time, rather than that the request was wrong.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = String((current as { code?: unknown }).code ?? '');
    if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
    if (UNAVAILABLE_MESSAGES.some((message) => (current as Error).message.startsWith(message))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Resolves with `work`'s result, or rejects once `ms` have passed without one. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`${what}: no answer in ${ms} ms`), { code: 'ETIMEDOUT' })),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The health of a database with a single connection (PGlite, or a database given without its
 * pool): `select 1` through `ask`, waiting its turn within the deadline; it is never stuck.
 */
export function singleConnectionHealth(ask: () => Promise<unknown>): DatabaseHealth {
  return {
    answers: (deadlineMs) =>
      withDeadline(ask(), deadlineMs, 'readiness query').then(
        () => true,
        () => false,
      ),
    isStuck: () => false,
  };
}

/** What the health probes ask of the database. */
export interface DatabaseHealth {
  /** Whether the database answers a trivial query within `deadlineMs`. */
  answers(deadlineMs: number): Promise<boolean>;
  /** Whether requests have waited for a connection for longer than the stuck limit with none freed. */
  isStuck(): boolean;
  /** The pool's connections (pg.Pool's public counts), for metrics; absent without a pool. */
  poolUse?(): { total: number; idle: number; waiting: number };
}

/**
 * Watches a pool through its public events:
 * - every client, idle or checked out, has an `error` listener, so a dropped connection fails
 *   only the queries that used it (the pool replaces it) instead of ending the process;
 * - a client held longer than the answer timeout is closed when it comes back, not reused: a
 *   query on it may have been given up while still in flight, leaving it waiting for an answer;
 * - progress (a client handed out or given back) is noted, so liveness can tell a stuck pool;
 * - the readiness probe asks on a connection of its own, never queued behind requests' work.
 */
export function watchPool(
  pool: pg.Pool,
  options: { connectionString: string; timeouts: DatabaseTimeouts; log: (message: string) => void },
): DatabaseHealth & { close(): Promise<void> } {
  const { timeouts } = options;
  // Durations of the process's own waiting: a monotonic clock, not the (injected) time of day.
  const heldSince = new WeakMap<pg.PoolClient, number>();
  let lastProgress = performance.now();
  const onClientError = (error: Error) => options.log(`database connection lost: ${error.message}`);
  pool.on('error', onClientError);
  pool.on('connect', (client) => client.on('error', onClientError));
  pool.on('acquire', (client) => {
    lastProgress = performance.now();
    heldSince.set(client, lastProgress);
  });
  pool.on('release', (_error, client) => {
    lastProgress = performance.now();
    const since = heldSince.get(client as pg.PoolClient);
    // Ended before the pool looks at it: the pool then removes it rather than idling it.
    if (since !== undefined && lastProgress - since >= answerTimeoutMs(timeouts)) void client.end().catch(() => {});
  });

  let probe: pg.Client | null = null;
  let probing: Promise<boolean> | null = null;
  const dropProbe = () => {
    const closing = probe;
    probe = null;
    void closing?.end().catch(() => {});
  };
  async function ask(deadlineMs: number): Promise<boolean> {
    try {
      if (!probe) {
        const client = new pg.Client({
          connectionString: options.connectionString,
          ...connectionSettings(timeouts),
          connectionTimeoutMillis: deadlineMs,
          query_timeout: deadlineMs,
        });
        client.on('error', () => {});
        probe = client;
        await withDeadline(client.connect(), deadlineMs, 'readiness connect');
      }
      await withDeadline(probe.query('select 1'), deadlineMs, 'readiness query');
      return true;
    } catch {
      dropProbe();
      return false;
    }
  }
  return {
    answers(deadlineMs) {
      // One probe at a time: checks arriving meanwhile share its answer.
      probing ??= ask(deadlineMs).finally(() => {
        probing = null;
      });
      return probing;
    },
    isStuck() {
      return pool.waitingCount > 0 && performance.now() - lastProgress > timeouts.stuckSeconds * 1000;
    },
    poolUse: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: async () => dropProbe(),
  };
}
