import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { runCommand } from './command.js';

const USAGE = `
npm run db:migrate: apply the database migrations and exit.
Uses DATABASE_URL, or the embedded database in DATA_DIR (stop the server first: one process at a time).`;

async function main() {
  const config = loadConfig();
  const handle = await openDatabase(config, { max: 1 });
  await runMigrations(handle);
  await handle.close();
  console.log(`Migrations applied (${handle.kind}).`);
}

runCommand(USAGE, main, () => loadConfig().databaseUrl);
