import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/** The embedded database is opened by another live process: start-up stops with this one line. */
export class DataDirLocked extends Error {}

export interface DataDirLock {
  release(): void;
}

/** Whether a process with this pid is running (ours or anyone's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive hold on DATA_DIR for the embedded database: PGlite keeps its files in one process's
 * memory, so a second process on the same files loses writes. The lock file holds the owner's pid;
 * a lock whose pid is gone is stale and taken over. Opening twice, even in one process, is refused.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'liaison.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new DataDirLocked(
          `The embedded database in ${dataDir} is in use by process ${holder}${holder === process.pid ? ' (this one)' : ''}. ` +
            'Stop that process first, or set DATABASE_URL to a PostgreSQL database to run several processes.',
        );
      }
      rmSync(file, { force: true });
      continue;
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
        } catch {
          // Already gone.
        }
      },
    };
  }
  throw new DataDirLocked(`Could not take the lock on ${dataDir}; another process keeps taking it.`);
}
