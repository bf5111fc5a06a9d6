import type { Writable } from 'node:stream';
import type { FastifyServerOptions } from 'fastify';

// A secret parameter's value, however often its "=" was percent-encoded (inside a `next=` value),
// up to the "&" (or "#") that ends it, encoded or not.
const SECRET_QUERY = /((?:token|code|state)(?:=|%3d|%253d))(?:(?!&|%26|%2526|#).)*/gi;

/** A URL fit for a log: the values of secret query parameters (manage and feed tokens) replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

interface LoggableRequest {
  method: string;
  url: string;
  hostname?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * An error as it may be logged: its kind, code and message, never the bound parameters of a
 * query (names, emails) that drizzle puts in its messages, nor PostgreSQL's row details.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const cause = (error as { cause?: unknown }).cause;
  const pgCode = (value: unknown) =>
    value && typeof value === 'object' && 'code' in value ? String((value as { code: unknown }).code) : undefined;
  const isQueryError = error.name === 'DrizzleQueryError' || error.message.startsWith('Failed query:');
  const firstLine = error.message.split('\n')[0] ?? '';
  const isDatabaseError = /^[0-9A-Z]{5}$/.test(pgCode(error) ?? '');
  return {
    type: error.name,
    code: pgCode(error) ?? pgCode(cause),
    // drizzle's message is "Failed query: <sql>\nparams: <values>": keep the SQL text only.
    message: isQueryError ? firstLine.replace(/\s*params:.*$/s, '') : isDatabaseError ? undefined : firstLine,
    ...(isDatabaseError ? pgWhere(error) : {}),
    // PostgreSQL's own message can quote a value ("invalid input syntax …: \"x\""): name it by code only.
    ...(cause instanceof Error ? { cause: { type: cause.name, code: pgCode(cause), ...pgWhere(cause) } } : {}),
    ...(isQueryError ? {} : { stack: error.stack?.split('\n').slice(1, 6).join('\n') }),
  };
}

function pgWhere(error: Error): Record<string, string> {
  const fields = error as Error & { table?: unknown; constraint?: unknown; column?: unknown };
  return Object.fromEntries(
    (['table', 'constraint', 'column'] as const)
      .filter((key) => typeof fields[key] === 'string')
      .map((key) => [key, String(fields[key])]),
  );
}

/** Fastify's logger: the level, and serializers that keep secrets and personal data out. */
export function loggerOptions(level: string, stream?: Writable): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream ? { stream } : {}),
    serializers: {
      req: (request: LoggableRequest) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.hostname,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
      err: loggableError as never,
    },
  };
}
