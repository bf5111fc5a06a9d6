import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import type { DatabaseHandle } from '../../src/db/client.js';

/**
 * Counts the statements that reach the database, read off the PostgreSQL wire protocol the driver
 * sends (frontend messages): a simple Query ('Q') or an extended-protocol Execute ('E') is one
 * statement; a Query, or the messages up to a Sync ('S'), is one round trip. On PostgreSQL the
 * bytes are read by a loopback proxy between the pool and the server; on PGlite, where no socket
 * exists, from the messages handed to its engine.
 * Independent of the code under test: nothing in src/ is told it is being counted.
 */

export interface Statement {
  /** Which connection sent it (PGlite has one). */
  connection: number;
  sql: string;
  /**
   * The round trip it went in, counted per connection: a simple Query is one; extended-protocol
   * messages up to a Sync are one, however many statements they execute.
   */
  trip: number;
}

/** A frontend stream cut into messages; keeps partial messages between chunks. */
class FrontendReader {
  private pending = Buffer.alloc(0);
  /** Texts of the statements parsed on this connection, by name ('' = the unnamed one). */
  private readonly parsed = new Map<string, string>();
  /** The text the next Execute runs: the statement its Bind named. */
  private bound = '';
  private trip = 1;
  constructor(
    private startup: boolean,
    private readonly onStatement: (sql: string, trip: number) => void,
  ) {}

  push(chunk: Uint8Array): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.startup) {
        // StartupMessage, SSLRequest or GSSENCRequest: length, then a code; no type byte.
        if (this.pending.length < 8) return;
        const length = this.pending.readInt32BE(0);
        if (this.pending.length < length) return;
        const code = this.pending.readInt32BE(4);
        // 80877103 = SSLRequest, 80877104 = GSSENCRequest: the real StartupMessage follows.
        this.startup = code === 80877103 || code === 80877104;
        this.pending = this.pending.subarray(length);
        continue;
      }
      if (this.pending.length < 5) return;
      const type = String.fromCharCode(this.pending[0] as number);
      const length = this.pending.readInt32BE(1);
      if (this.pending.length < 1 + length) return;
      const body = this.pending.subarray(5, 1 + length);
      this.pending = this.pending.subarray(1 + length);
      if (type === 'Q') this.onStatement(cString(body, 0).text, this.trip++);
      else if (type === 'S') this.trip++;
      else if (type === 'P') {
        const name = cString(body, 0);
        this.parsed.set(name.text, cString(body, name.end + 1).text);
      } else if (type === 'B') {
        // Bind: portal name, then the statement's name.
        const portal = cString(body, 0);
        this.bound = this.parsed.get(cString(body, portal.end + 1).text) ?? '';
      } else if (type === 'E') this.onStatement(this.bound, this.trip);
    }
  }
}

function cString(buffer: Buffer, start: number): { text: string; end: number } {
  const end = buffer.indexOf(0, start);
  return { text: buffer.subarray(start, end).toString('utf8'), end };
}

export interface StatementLog {
  /** Statements since the last take(), oldest first; clears the log. */
  take(): Statement[];
  close(): Promise<void>;
}

/** A loopback proxy to the PostgreSQL at `target`: connect to `url` instead, and every statement is logged. */
export async function proxyPostgres(target: string): Promise<StatementLog & { url: string }> {
  const upstream = new URL(target);
  let log: Statement[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const connection = ++connections;
    const reader = new FrontendReader(true, (sql, trip) => log.push({ connection, sql, trip }));
    const server = net.connect(Number(upstream.port || 5432), upstream.hostname);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        server.destroy();
      });
    }
    client.on('data', (chunk) => reader.push(chunk));
    client.pipe(server);
    server.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    take() {
      const taken = log;
      log = [];
      return taken;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Logs every statement an in-process PGlite runs, from the protocol messages given to its engine. */
export function watchPglite(handle: DatabaseHandle): StatementLog {
  const client = (handle.db as unknown as { $client: PGlite }).$client;
  let log: Statement[] = [];
  const reader = new FrontendReader(false, (sql, trip) => log.push({ connection: 1, sql, trip }));
  const original = client.execProtocolRawSync.bind(client);
  client.execProtocolRawSync = (message: Uint8Array) => {
    reader.push(message);
    return original(message);
  };
  return {
    take() {
      const taken = log;
      log = [];
      return taken;
    },
    async close() {
      client.execProtocolRawSync = original;
    },
  };
}

export interface StatementCount {
  /** Every statement the operation sent, BEGIN and COMMIT included. */
  total: number;
  /** Statements between BEGIN and COMMIT (or ROLLBACK), summed over its transactions. */
  inTransaction: number;
  transactions: number;
  /** Round trips they took (see Statement.trip). */
  roundTrips: number;
  statements: string[];
}

/** What a log of statements amounts to: transactions found by their BEGIN and COMMIT/ROLLBACK. */
export function countStatements(statements: Statement[]): StatementCount {
  const open = new Set<number>();
  let inTransaction = 0;
  let transactions = 0;
  for (const statement of statements) {
    const word = statement.sql.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    if (word === 'begin' || word === 'start') {
      open.add(statement.connection);
      transactions += 1;
    } else if (word === 'commit' || word === 'rollback' || word === 'end') {
      open.delete(statement.connection);
    } else if (open.has(statement.connection)) {
      inTransaction += 1;
    }
  }
  return {
    total: statements.length,
    inTransaction,
    transactions,
    roundTrips: new Set(statements.map((statement) => `${statement.connection} ${statement.trip}`)).size,
    statements: statements.map((statement) => statement.sql),
  };
}
