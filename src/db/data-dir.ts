import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

// DATA_DIR holds the embedded database (every student's email), the outbox's .eml files (live
// links) and the keys: owner-only, whatever the umask the process was started with.

const OWNER_ONLY_DIRECTORY = 0o700;

/**
 * Makes DATA_DIR and everything in it owner-only, and files created from now on too (umask 077).
 * PGlite sets its own files' modes (0666) whatever the umask, so what keeps others out is the
 * folders: no one else may enter DATA_DIR or any folder in it. Returns the folders that were open
 * to other users, so the caller can say so once (files are closed silently: PGlite reopens them).
 */
export function secureDataDir(dataDir: string): string[] {
  if (isMainThread) process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: OWNER_ONLY_DIRECTORY });
  const tightened: string[] = [];
  const pending = [dataDir];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    const stats = lstatSync(current);
    if (stats.isSymbolicLink()) continue;
    if ((stats.mode & 0o077) !== 0) {
      // Group and others lose every bit; the owner keeps what it had (and a folder stays usable).
      chmodSync(current, (stats.mode & 0o700) | (stats.isDirectory() ? OWNER_ONLY_DIRECTORY : 0));
      if (stats.isDirectory()) tightened.push(current);
    }
    if (stats.isDirectory()) for (const name of readdirSync(current)) pending.push(path.join(current, name));
  }
  return tightened;
}
