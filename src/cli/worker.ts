import { ConfigError, loadConfig } from '../config.js';
import { openPostgres } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { createCalendarWorker } from '../modules/calendars/worker.js';
import { createMailer } from '../modules/notifications/mailer.js';
import { createNotificationWorker } from '../modules/notifications/worker.js';
import { createWaitlistWorker } from '../modules/waitlist/worker.js';
import { createWebhookWorker } from '../modules/webhooks/worker.js';
import { createServices } from '../services.js';
import { systemClock } from '../time/clock.js';
import { runCommand } from './command.js';

/** npm run worker: the notification worker alone (run the API with WORKER=off). */
const USAGE = `
npm run worker: run the notification worker alone (PostgreSQL only; run the API with WORKER=off).
Uses DATABASE_URL, SMTP_URL, MAIL_FROM and PUBLIC_URL from the environment.`;

async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) {
    throw new ConfigError(
      'npm run worker needs DATABASE_URL: the embedded database serves one process, which runs the worker itself',
    );
  }
  const handle = openPostgres(config.databaseUrl, { max: 5, timeouts: config.database });
  await runMigrations(handle);
  const mailer = createMailer(config);
  const worker = createNotificationWorker({
    db: handle.db,
    clock: systemClock,
    mailer,
    config,
    log: (message, details) => console.error(message, JSON.stringify(details ?? {})),
  });
  const webhooks = createWebhookWorker({ db: handle.db, clock: systemClock, config });
  // The workers' own services (the app has its own): calendars read and written, the waitlist matched.
  const workerServices = createServices({ db: handle.db, clock: systemClock, config });
  const calendars = createCalendarWorker({
    calendars: workerServices.calendars,
    log: (message) => console.error(message),
  });
  const waitlist = createWaitlistWorker({
    waitlist: workerServices.waitlist,
    log: (message) => console.error(message),
  });
  worker.start();
  webhooks.start();
  calendars.start();
  waitlist.start();
  console.log(`Email, webhook and calendar workers running; email: ${mailer.description}`);
  const stop = async () => {
    await worker.stop();
    await webhooks.stop();
    await calendars.stop();
    await waitlist.stop();
    mailer.close();
    await handle.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

runCommand(USAGE, main, () => loadConfig().databaseUrl);
