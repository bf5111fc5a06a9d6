import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';

async function main() {
  const config = loadConfig();
  const handle = await openDatabase(config, { max: 1 });
  await runMigrations(handle);
  await handle.close();
  console.log(`Migrations applied (${handle.kind}).`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
  process.exit(1);
});
