import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import packageJson from '../../package.json' with { type: 'json' };
import { loadConfig } from '../config.js';
import { BACKED_UP_FILES, encodeBackup, readBackupAccess } from '../db/backup-file.js';
import { openPglite } from '../db/client.js';
import { isAlive } from '../db/data-dir-lock.js';
import { runCommand } from './command.js';

const USAGE = `
npm run backup -- --out FILE: write a consistent copy of the embedded database in DATA_DIR to FILE,
while the server runs (it asks the server, on this machine) or while it is stopped, with the
development signing secret beside it. Restore it with: npm run restore -- FILE
With PostgreSQL (DATABASE_URL set), use pg_dump instead: see "Backups" in README.md.`;

/** A running server has up to this long to hand over the copy. */
const SERVER_TIMEOUT_MS = 10 * 60_000;

/** The value after `--out` (or `--out=FILE`). */
function outArgument(args: string[]): string | undefined {
  const index = args.indexOf('--out');
  if (index >= 0) return args[index + 1];
  return args.find((arg) => arg.startsWith('--out='))?.slice('--out='.length);
}

async function fromRunningServer(access: { port: number; token: string; pid: number }): Promise<Buffer> {
  const response = await fetch(`http://127.0.0.1:${access.port}/backup`, {
    headers: { authorization: `Bearer ${access.token}` },
    signal: AbortSignal.timeout(SERVER_TIMEOUT_MS),
  });
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as { detail?: string };
    throw new Error(`The running server (process ${access.pid}) refused: ${problem.detail ?? response.status}`);
  }
  return Buffer.from(await response.arrayBuffer());
}

async function fromStoppedDatabase(dataDir: string): Promise<Buffer> {
  const folder = path.join(dataDir, 'pglite');
  if (!existsSync(folder)) throw new Error(`There is no embedded database in ${dataDir} (DATA_DIR).`);
  // Takes DATA_DIR's lock, so a server starting meanwhile waits for nothing and is refused.
  const handle = await openPglite(folder);
  try {
    if (!handle.dumpDataDir) throw new Error('The embedded database cannot be copied.');
    return Buffer.from(await (await handle.dumpDataDir()).arrayBuffer());
  } finally {
    await handle.close();
  }
}

async function main() {
  const config = loadConfig();
  if (config.databaseUrl) {
    throw new Error(
      'DATABASE_URL is set: back up PostgreSQL with pg_dump (see "Backups" in README.md); this command copies the embedded database.',
    );
  }
  const out = outArgument(process.argv.slice(2));
  if (!out) throw new Error('Say where to write the copy: npm run backup -- --out FILE');
  const target = path.resolve(out);
  if (existsSync(target)) throw new Error(`${target} already exists; choose a new file name.`);

  const access = readBackupAccess(config.dataDir);
  const running = access && isAlive(access.pid) ? access : null;
  const database = running ? await fromRunningServer(running) : await fromStoppedDatabase(config.dataDir);
  const files = Object.fromEntries(
    BACKED_UP_FILES.filter((name) => existsSync(path.join(config.dataDir, name))).map((name) => [
      name,
      readFileSync(path.join(config.dataDir, name)),
    ]),
  );
  const backup = encodeBackup(database, {
    createdAt: new Date().toISOString(),
    liaisonVersion: packageJson.version,
    files,
  });
  // Written beside the target and renamed: a copy cut short never carries the final name.
  const partial = `${target}.partial-${process.pid}`;
  try {
    writeFileSync(partial, backup, { mode: 0o600, flag: 'wx' });
    renameSync(partial, target);
  } finally {
    rmSync(partial, { force: true });
  }
  const megabytes = (backup.length / 1_048_576).toFixed(1);
  console.log(
    `Backed up the embedded database in ${config.dataDir} ${running ? `from the running server (process ${running.pid})` : '(server stopped)'} to ${target} (${megabytes} MB).`,
  );
}

runCommand(USAGE, main);
