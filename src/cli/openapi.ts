import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { openPostgres } from '../db/client.js';
import { systemClock } from '../time/clock.js';
import { runCommand } from './command.js';

/** The contract as the app declares it; deterministic (default config, no database queries). */
export async function renderOpenapi(): Promise<string> {
  // Building the app runs no query, and a pg pool connects only on first use: no database needed.
  const handle = openPostgres('postgres://openapi@127.0.0.1:1/none');
  const app = await buildApp({ db: handle.db, clock: systemClock, config: loadConfig({}), logger: false });
  await app.ready();
  const document = JSON.stringify(app.swagger(), null, 2);
  await app.close();
  await handle.close();
  return `${document}\n`;
}

export const openapiFile = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runCommand('npm run openapi: rewrite openapi/openapi.json from the routes (no database needed).', async () => {
    writeFileSync(openapiFile, await renderOpenapi());
    console.log(`Wrote ${openapiFile}`);
  });
}
