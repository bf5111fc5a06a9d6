import type { Writable } from 'node:stream';
import type { FastifyServerOptions } from 'fastify';

/**
 * Query parameters whose values may be logged: dates, groupings, filters and paging, never a
 * token, a code, an email, a name, a search or a `next` (which can carry any of them).
 */
const LOGGED_QUERY_VALUES = new Set([
  'from',
  'to',
  'groupBy',
  'by',
  'split',
  'fill',
  'disclosure',
  'faculty',
  'mode',
  'limit',
  'offset',
  'cursor',
  'after',
  'week',
  'status',
  'notice',
  'format',
  'kind',
  'period',
  'librarianId',
]);

/**
 * A request as a log names it: its route pattern (so a token or an email in the path is never
 * written: /invitation/:token), and its query's parameter names with the values of the known-safe
 * ones only. A request no route matched is "(no route)", its path left out for the same reason.
 */
export function loggableUrl(request: { url: string; routeOptions?: { url?: string | undefined } }): string {
  const pattern = request.routeOptions?.url ?? '(no route)';
  const at = request.url.indexOf('?');
  if (at < 0) return pattern;
  const query = [...new URLSearchParams(request.url.slice(at + 1))]
    .slice(0, 20)
    .map(([name, value]) =>
      LOGGED_QUERY_VALUES.has(name) && value.length <= 100
        ? `${encodeURIComponent(name)}=${encodeURIComponent(value)}`
        : `${encodeURIComponent(name).slice(0, 40)}=…`,
    );
  return `${pattern}?${query.join('&')}`;
}

interface LoggableRequest {
  method: string;
  url: string;
  routeOptions?: { url?: string | undefined };
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
        url: loggableUrl(request),
        host: request.hostname,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
      err: loggableError as never,
    },
  };
}
