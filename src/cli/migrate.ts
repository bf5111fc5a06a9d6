import path from 'node:path';
import { ConfigError, loadConfig } from '../config.js';
import { openPglite, openPostgres } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';

async function main() {
  const config = loadConfig();
  const handle = config.databaseUrl
    ? openPostgres(config.databaseUrl, { max: 1 })
    : await openPglite(path.join(config.dataDir, 'pglite'));
  await runMigrations(handle);
  await handle.close();
  console.log(`Migrations applied (${handle.kind}).`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
  process.exit(1);
});
