import path from 'node:path';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { runMigrations } from './db/migrate.js';
import { withSigningSecret } from './dev-secret.js';
import { scheduleRetention } from './modules/bookings/retention.js';
import { createMailer } from './modules/notifications/mailer.js';
import { createNotificationWorker } from './modules/notifications/worker.js';
import { systemClock } from './time/clock.js';

async function main() {
  const { config, created } = withSigningSecret(loadConfig());
  const handle: DatabaseHandle = await openDatabase(config);
  await runMigrations(handle);

  const app = await buildApp({ db: handle.db, clock: systemClock, config });
  const mailer = createMailer(config);
  const worker = createNotificationWorker({
    db: handle.db,
    clock: systemClock,
    mailer,
    config,
    log: (message, details) => app.log.warn(details, message),
  });
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    stopRetention();
    await worker.stop();
    mailer.close();
    await handle.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  if (config.worker) worker.start();
  const stopRetention = config.worker
    ? scheduleRetention(
        handle.db,
        config.retentionMonths,
        () => systemClock.now(),
        (message, details) => app.log.info(details, message),
      )
    : () => {};
  const where = handle.kind === 'pglite' ? `embedded PGlite in ${path.join(config.dataDir, 'pglite')}` : 'PostgreSQL';
  const lines = [
    `Liaison is listening on http://${config.host}:${config.port} (database: ${where})`,
    `API docs: http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}/docs`,
    config.worker ? `Email: ${mailer.description} (notification worker running)` : 'Email: worker off (WORKER=off)',
  ];
  if (created) {
    lines.push(
      `A development signing secret was created in ${path.join(config.dataDir, 'dev-jwt-secret')}.`,
      'Get a token with: npm run token -- --role admin --email you@example.ac.uk',
    );
  }
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`Configuration error: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
