import { createHash } from 'node:crypto';
import pg from 'pg';

/** Statements one connection keeps prepared at most; later new texts are parsed each time. */
export const PREPARED_PER_CONNECTION = 250;

/**
 * Starts the text of a transaction's last statement (writeTogether's `last`): on PostgreSQL the
 * COMMIT travels with it, and the transaction's own COMMIT then costs no round trip. Anything the
 * transaction sends after it is refused, since it would run outside the transaction.
 */
export const LAST_IN_TRANSACTION = '/* last in its transaction */ ';

type Callback = (error: Error | null, result?: unknown) => void;
type Send = (...args: unknown[]) => unknown;

/** The parts of node-postgres's connection a query writes to. */
interface Connection {
  stream: { cork(): void; uncork(): void };
  parsedStatements: Record<string, string>;
  parse(query: { text: string; name: string; types: unknown[] }): void;
  bind(config: { portal: string; statement: string; values: unknown[] }): void;
  execute(config: { portal: string; rows?: number }): void;
  sync(): void;
}

/** node-postgres's Query, as far as Pipelined extends it (pg/lib/query.js). */
interface QueryInternals {
  portal: string;
  submit(connection: Connection): Error | null;
  requiresPreparation(): boolean;
  handleCommandComplete(message: unknown, connection: Connection): void;
  _getRows(connection: Connection, rows?: number): void;
}
const Query = pg.Query as unknown as new (config: object, values: unknown, callback: Callback) => QueryInternals;

/** Parse, Bind and Execute of a statement without parameters, as the unnamed statement and portal. */
function sendUnnamed(connection: Connection, text: string): void {
  connection.parse({ text, name: '', types: [] });
  connection.bind({ portal: '', statement: '', values: [] });
  connection.execute({ portal: '' });
}

/**
 * One already-prepared statement sent in one write with the BEGIN before it and/or the COMMIT
 * after it, ended by a single Sync: PostgreSQL runs them in order, stops at the first error (the
 * COMMIT then never runs) and answers once. The BEGIN's and COMMIT's completions are not the
 * statement's result.
 */
class Pipelined extends Query {
  private completions = 0;

  constructor(
    private readonly begin: string | null,
    private readonly commit: boolean,
    config: object,
    values: unknown,
    callback: Callback,
  ) {
    super(config, values, callback);
  }

  override requiresPreparation(): boolean {
    return true;
  }

  override submit(connection: Connection): Error | null {
    // Corks nest: everything below leaves in one write when the outer cork is released.
    connection.stream.cork();
    try {
      if (this.begin !== null) sendUnnamed(connection, this.begin);
      return super.submit(connection);
    } finally {
      connection.stream.uncork();
    }
  }

  override _getRows(connection: Connection, rows?: number): void {
    connection.execute({ portal: this.portal, rows });
    if (this.commit) sendUnnamed(connection, 'commit');
    connection.sync();
  }

  override handleCommandComplete(message: unknown, connection: Connection): void {
    this.completions += 1;
    if (this.completions === (this.begin === null ? 1 : 2)) super.handleCommandComplete(message, connection);
  }
}

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const COMMIT = /^\s*commit\s*$/i;
const END = /^\s*(commit|rollback)\s*$/i;

function nothingSent(command: string) {
  return { command, rowCount: null, oid: null, rows: [], fields: [] };
}

/**
 * Tunes one pooled connection (pool 'connect'):
 * - Every statement it sends is prepared once, under a name derived from its text, and then only
 *   bound and executed: PostgreSQL parses and plans it once per connection instead of on every
 *   call (about half of its work for a booking's statements). A connection keeps at most
 *   PREPARED_PER_CONNECTION, so texts built with a varying number of items (IN lists) cannot grow
 *   it without bound.
 * - A transaction's BEGIN is held back and sent in one write with its first statement, and a
 *   statement marked LAST_IN_TRANSACTION takes the COMMIT along: a booking then costs three round
 *   trips instead of five. Each trip costs both processes CPU, and a write wakes PostgreSQL, which
 *   on a busy machine takes this process off its core. Only statements already prepared on the
 *   connection travel this way (their first use is sent as before).
 */
export function tuneConnection(client: pg.PoolClient): void {
  const prepared = new Set<string>();
  const send = client.query.bind(client) as Send;
  const connection = (client as unknown as { connection: Connection }).connection;
  let heldBegin: string | null = null;
  let committed = false;

  const nameFor = (text: string): string | undefined => {
    // Short texts (begin, commit) cost PostgreSQL next to nothing to parse: not worth a name.
    if (text.length < 32) return undefined;
    const name = `l_${createHash('sha1').update(text).digest('base64url')}`;
    if (!prepared.has(name) && prepared.size >= PREPARED_PER_CONNECTION) return undefined;
    prepared.add(name);
    return name;
  };

  (client as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
    const callback = rest.find((argument) => typeof argument === 'function') as Callback | undefined;
    const statement =
      typeof config === 'object' &&
      config !== null &&
      typeof (config as { submit?: unknown }).submit !== 'function' &&
      typeof (config as { text?: unknown }).text === 'string'
        ? (config as { text: string; name?: string; values?: unknown[] })
        : undefined;
    const text = statement?.text ?? '';
    const values = (Array.isArray(rest[0]) ? rest[0] : statement?.values) as unknown[] | undefined;
    const bare = statement !== undefined && (!values || values.length === 0);
    const answer = (result: Promise<unknown>) =>
      callback ? void result.then((r) => callback(null, r), callback) : result;

    if (committed) {
      committed = false;
      if (bare && COMMIT.test(text)) return answer(Promise.resolve(nothingSent('COMMIT')));
      return answer(Promise.reject(new Error('A statement followed the one that committed its transaction.')));
    }
    if (heldBegin === null && bare && !callback && BEGIN.test(text)) {
      heldBegin = text;
      return Promise.resolve(nothingSent('BEGIN'));
    }
    const begin = heldBegin;
    heldBegin = null;
    // A transaction that sent nothing has nothing to commit or roll back.
    if (begin !== null && bare && END.test(text))
      return answer(Promise.resolve(nothingSent(text.trim().toUpperCase())));

    const name = statement ? (statement.name ?? nameFor(text)) : undefined;
    const named = statement && name && !statement.name ? { ...statement, name } : config;
    const commit = text.startsWith(LAST_IN_TRANSACTION);
    if (!callback && name && connection.parsedStatements[name] !== undefined && (begin !== null || commit)) {
      return new Promise((resolve, reject) => {
        send(
          new Pipelined(begin, commit, named as object, values, (error, result) => {
            if (error) return reject(error);
            committed = commit;
            resolve(result);
          }),
        );
      });
    }
    // Otherwise a held BEGIN goes first, on its own, and the statement only once it has succeeded.
    if (begin !== null)
      return answer(
        (send({ text: begin }) as Promise<unknown>).then(() =>
          send(named, ...rest.filter((argument) => argument !== callback)),
        ),
      );
    return send(named, ...rest);
  };
}
