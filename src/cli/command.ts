import { ConfigError, maskUrl } from '../config.js';
import { DataDirLocked } from '../db/data-dir-lock.js';

const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running, and on that host and port?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  '28P01': 'password authentication failed',
  '28000': 'the role is not allowed to connect (or does not exist)',
  '3D000': 'the database does not exist',
  '42501': 'permission denied',
  '57P03': 'the server is starting up or shutting down',
};

function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code in CONNECTION_CODES) return code;
    // AggregateError (several addresses refused) and wrapped causes.
    const inner = (current as { errors?: unknown[] }).errors?.[0] ?? (current as { cause?: unknown }).cause;
    current = inner;
  }
  return undefined;
}

/**
 * One line for a failure that stops a command: what is wrong and which setting to look at. Never
 * a stack, and never a password (URLs are masked).
 */
export function describeFailure(error: unknown, databaseUrl?: string): string {
  if (error instanceof ConfigError) return `Configuration error: ${error.message}`;
  if (error instanceof DataDirLocked) return error.message;
  const code = codeOf(error);
  if (code) {
    const where = databaseUrl ? `DATABASE_URL (${maskUrl(databaseUrl)})` : 'the database';
    return `Cannot use ${where}: ${CONNECTION_CODES[code]} [${code}]`;
  }
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? '';
  return `Failed: ${databaseUrl ? firstLine.replaceAll(databaseUrl, maskUrl(databaseUrl)) : firstLine}`;
}

/**
 * Runs a command line program: `--help` prints its usage; a failure prints one line and exits 1.
 */
export function runCommand(usage: string, main: () => Promise<void>, databaseUrl?: () => string | undefined): void {
  if (process.argv.slice(2).some((argument) => argument === '--help' || argument === '-h')) {
    console.log(usage.trim());
    return;
  }
  main().catch((error: unknown) => {
    let url: string | undefined;
    try {
      url = databaseUrl?.();
    } catch {
      url = undefined;
    }
    console.error(describeFailure(error, url));
    process.exit(1);
  });
}
