import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A backup of the embedded database, one file: a first line naming the format, a line of JSON
 * describing the rest, then the database's files as PGlite's gzipped tarball. The JSON carries
 * the tarball's length and SHA-256 (so a truncated or altered copy is refused before anything is
 * written) and the small files from DATA_DIR that belong with the database (the development
 * signing secret), base64.
 */
const MAGIC = 'LIAISON-BACKUP 1';

/**
 * The files of DATA_DIR a backup carries beside the database: the development signing secret
 * (dev-secret.ts), without which tokens minted before are refused, and the generated key calendar
 * addresses are sealed with, without which no calendar could be read. Everything else the server
 * needs is in the database (the page cookie key is in app_secrets) or comes from the environment.
 */
export const BACKED_UP_FILES = ['dev-jwt-secret', 'calendar-secret-key'] as const;

export interface BackupHeader {
  createdAt: string;
  liaisonVersion: string;
  database: { bytes: number; sha256: string };
  /** DATA_DIR files restored beside the database, by name, base64. */
  files: Record<string, string>;
}

/** Raised when a file is not a backup this version can read; the message says why, in one line. */
export class BadBackup extends Error {}

export function encodeBackup(
  database: Buffer,
  meta: { createdAt: string; liaisonVersion: string; files: Record<string, Buffer> },
): Buffer {
  const header: BackupHeader = {
    createdAt: meta.createdAt,
    liaisonVersion: meta.liaisonVersion,
    database: { bytes: database.length, sha256: createHash('sha256').update(database).digest('hex') },
    files: Object.fromEntries(Object.entries(meta.files).map(([name, bytes]) => [name, bytes.toString('base64')])),
  };
  return Buffer.concat([Buffer.from(`${MAGIC}\n${JSON.stringify(header)}\n`, 'utf8'), database]);
}

export function decodeBackup(file: Buffer): { header: BackupHeader; database: Buffer; files: Record<string, Buffer> } {
  const firstEnd = file.indexOf(0x0a);
  if (firstEnd < 0 || file.subarray(0, firstEnd).toString('utf8') !== MAGIC) {
    throw new BadBackup('This is not a Liaison backup (it does not begin with "LIAISON-BACKUP 1").');
  }
  const secondEnd = file.indexOf(0x0a, firstEnd + 1);
  if (secondEnd < 0) throw new BadBackup('The backup is cut short: its description is incomplete.');
  let header: BackupHeader;
  try {
    header = JSON.parse(file.subarray(firstEnd + 1, secondEnd).toString('utf8')) as BackupHeader;
  } catch {
    throw new BadBackup('The backup is damaged: its description cannot be read.');
  }
  const database = file.subarray(secondEnd + 1);
  if (
    typeof header?.database?.bytes !== 'number' ||
    database.length !== header.database.bytes ||
    createHash('sha256').update(database).digest('hex') !== header.database.sha256
  ) {
    throw new BadBackup(
      `The backup is damaged or incomplete: the database part is ${database.length} bytes, and does not match the ${header?.database?.bytes ?? '?'} bytes it was written with.`,
    );
  }
  const files = Object.fromEntries(
    Object.entries(header.files ?? {}).map(([name, base64]) => [name, Buffer.from(base64, 'base64')]),
  );
  return { header, database, files };
}

/** Where a running server tells `npm run backup` how to ask it for a copy (DATA_DIR, mode 0600). */
const ACCESS_FILE = 'backup-access';

export interface BackupAccess {
  pid: number;
  port: number;
  token: string;
}

export function writeBackupAccess(dataDir: string, access: BackupAccess): void {
  const file = path.join(dataDir, ACCESS_FILE);
  rmSync(file, { force: true });
  writeFileSync(file, JSON.stringify(access), { mode: 0o600, flag: 'wx' });
}

export function readBackupAccess(dataDir: string): BackupAccess | null {
  try {
    const access = JSON.parse(readFileSync(path.join(dataDir, ACCESS_FILE), 'utf8')) as BackupAccess;
    return Number.isInteger(access.port) && typeof access.token === 'string' ? access : null;
  } catch {
    return null;
  }
}

/** Removed as the server stops, when it is still this process's. */
export function removeBackupAccess(dataDir: string, pid: number): void {
  if (readBackupAccess(dataDir)?.pid === pid) rmSync(path.join(dataDir, ACCESS_FILE), { force: true });
}
