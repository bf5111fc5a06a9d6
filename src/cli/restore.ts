import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../config.js';
import { BACKED_UP_FILES, decodeBackup } from '../db/backup-file.js';
import { openPglite } from '../db/client.js';
import { secureDataDir } from '../db/data-dir.js';
import { rowsOf } from '../db/rows.js';
import { runCommand } from './command.js';

const USAGE = `
npm run restore -- FILE: restore a copy written by npm run backup into DATA_DIR, which must be
empty or not exist yet (a non-empty one is refused, so nothing is overwritten). Then: npm start.
With PostgreSQL (DATABASE_URL set), restore a pg_dump with pg_restore instead: see README.md.`;

async function main() {
  const config = loadConfig();
  if (config.databaseUrl) {
    throw new Error('DATABASE_URL is set: restore PostgreSQL with pg_restore (see "Backups" in README.md).');
  }
  const source = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
  if (!source) throw new Error('Say which backup to restore: npm run restore -- FILE');
  const dataDir = config.dataDir;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(
      `DATA_DIR (${dataDir}) is not empty; nothing was changed. Restore into an empty folder: set DATA_DIR to a new one.`,
    );
  }
  // Checked whole (length and SHA-256) before anything is written.
  const { header, database, files } = decodeBackup(readFileSync(path.resolve(source)));
  // Owner-only from the first folder on (db/data-dir.ts), as npm start keeps it.
  secureDataDir(dataDir);
  try {
    const handle = await openPglite(path.join(dataDir, 'pglite'), { loadDataDir: new Blob([database]) });
    let counts: { bookings: number; librarians: number };
    try {
      const [row] = await rowsOf<{ bookings: number; librarians: number }>(
        handle.db,
        sql`select (select count(*)::int from bookings) as bookings, (select count(*)::int from librarians) as librarians`,
      );
      counts = row ?? { bookings: 0, librarians: 0 };
    } finally {
      await handle.close();
      secureDataDir(dataDir);
    }
    for (const [name, bytes] of Object.entries(files)) {
      // Only the files backups carry, by their own names: never a path from the file.
      if ((BACKED_UP_FILES as readonly string[]).includes(name)) {
        writeFileSync(path.join(dataDir, name), bytes, { mode: 0o600 });
      }
    }
    console.log(
      `Restored the backup of ${header.createdAt} (Liaison ${header.liaisonVersion}) into ${dataDir}: ${counts.librarians} librarians, ${counts.bookings} bookings. Start it with: npm start`,
    );
  } catch (error) {
    // Leave DATA_DIR empty again, so the restore can simply be run again.
    for (const entry of readdirSync(dataDir)) rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new Error(`The backup's database could not be opened (${reason}); DATA_DIR was left empty.`);
  }
}

runCommand(USAGE, main);
