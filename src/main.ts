import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { buildApp } from './app.js';
import { runCommand } from './cli/command.js';
import { loadConfig } from './config.js';
import { removeBackupAccess, writeBackupAccess } from './db/backup-file.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { runMigrations } from './db/migrate.js';
import { checkListenSafety, withCalendarKey, withDevelopmentCode, withSigningSecret } from './dev-secret.js';
import { scheduleRetention } from './modules/bookings/retention.js';
import { createCalendarWorker } from './modules/calendars/worker.js';
import { createMailer } from './modules/notifications/mailer.js';
import { createNotificationWorker } from './modules/notifications/worker.js';
import { createWaitlistWorker } from './modules/waitlist/worker.js';
import { createWebhookWorker } from './modules/webhooks/worker.js';
import { listenForMetrics } from './plugins/metrics.js';
import { createServices } from './services.js';
import { systemClock } from './time/clock.js';

const USAGE = `
npm start: serve Liaison (API, pages and the notification worker).
Settings come from the environment; see the configuration table in README.md.
With DATABASE_URL unset it uses the embedded database in DATA_DIR (one process at a time).`;

async function main() {
  const signed = withSigningSecret(loadConfig());
  const { created, isDevelopmentSecret } = signed;
  const config = withDevelopmentCode(withCalendarKey(signed.config));
  checkListenSafety(config, isDevelopmentSecret);
  let stopRetention: () => void = () => {};
  let closing = false;
  // A signal before the server is up is noted; each start-up step then stops cleanly after itself.
  let stopRequested = false;
  let shutdown: (signal: string) => Promise<void> = async () => {
    stopRequested = true;
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  const stopEarly = async (open?: DatabaseHandle) => {
    await open?.close();
    process.exit(0);
  };

  if (stopRequested) return stopEarly();
  const database = await openDatabase(config);
  if (stopRequested) return stopEarly(database);
  await runMigrations(database);
  if (stopRequested) return stopEarly(database);
  // The embedded database can be copied while it runs, by `npm run backup` on this machine only.
  const backup = database.dumpDataDir
    ? { token: randomBytes(32).toString('base64url'), dump: database.dumpDataDir }
    : undefined;
  let timeFreed = () => {};
  const app = await buildApp({
    db: database.db,
    health: database.health,
    clock: systemClock,
    config,
    backup,
    onTimeFreed: () => timeFreed(),
  });
  const mailer = createMailer(config);
  const worker = createNotificationWorker({
    db: database.db,
    clock: systemClock,
    mailer,
    config,
    log: (message, details) => app.log.warn(details, message),
  });
  const webhookWorker = createWebhookWorker({ db: database.db, clock: systemClock, config });
  // The workers' own services (the app has its own): calendars read and written, the waitlist matched.
  const workerServices = createServices({ db: database.db, clock: systemClock, config });
  const calendarWorker = createCalendarWorker({
    calendars: workerServices.calendars,
    log: (message) => app.log.warn(message),
  });
  const waitlistWorker = createWaitlistWorker({
    waitlist: workerServices.waitlist,
    log: (message) => app.log.warn(message),
  });
  timeFreed = () => waitlistWorker.nudge();
  shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    // Readiness turns 503 at once; no new connections; in-flight requests get the grace period;
    // the workers stop claiming and hand back what they claimed but had not started.
    app.drain();
    if (config.shutdownDrainSeconds > 0) {
      app.log.info(
        { signal, drainSeconds: config.shutdownDrainSeconds },
        'shutting down: readiness 503, still serving',
      );
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainSeconds * 1000));
    }
    app.log.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'shutting down: finishing in-flight requests');
    const grace = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), config.shutdownGraceSeconds * 1000).unref(),
    );
    const drained = Promise.all([
      app.close(),
      worker.stop(),
      webhookWorker.stop(),
      calendarWorker.stop(),
      waitlistWorker.stop(),
    ]).then(() => 'done' as const);
    stopRetention();
    if ((await Promise.race([drained, grace])) === 'timeout') {
      app.log.warn('shutdown: grace period over; exiting with requests still open');
    }
    mailer.close();
    if (backup) removeBackupAccess(config.dataDir, process.pid);
    await database.close().catch(() => undefined);
    process.exit(0);
  };

  if (stopRequested) return shutdown('SIGTERM');
  await app.listen({ port: config.port, host: config.host });
  // Unreferenced: it never holds the process open, and ends with it.
  if (config.metricsPort) await listenForMetrics(app.scrapeMetrics, config.metricsPort);
  if (backup) {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    writeBackupAccess(config.dataDir, { pid: process.pid, port, token: backup.token });
  }
  if (config.worker) {
    worker.start();
    webhookWorker.start();
    calendarWorker.start();
    waitlistWorker.start();
    stopRetention = scheduleRetention(
      database.db,
      config.retentionMonths,
      () => systemClock.now(),
      (message, details) => app.log.info(details, message),
      config.staffRecordMonths,
    );
  }
  const where = database.kind === 'pglite' ? `embedded PGlite in ${path.join(config.dataDir, 'pglite')}` : 'PostgreSQL';
  const lines = [
    `Liaison is listening on http://${config.host}:${config.port} (database: ${where})`,
    `Open ${config.publicUrl} in a browser; API docs at ${config.publicUrl}/docs`,
    config.worker ? `Email: ${mailer.description} (notification worker running)` : 'Email: worker off (WORKER=off)',
  ];
  lines.push(
    config.web.developmentSignIn
      ? `Sign in as anyone, for development: open ${config.publicUrl}/sign-in/development?code=${config.web.developmentSignInCode} (this machine only, new at each start; DEVELOPMENT_SIGN_IN=off turns it off)`
      : `Development sign-in: off (${config.web.developmentSignInRefused})`,
  );
  if (config.metricsPort) lines.push(`Metrics: http://127.0.0.1:${config.metricsPort}/metrics (this machine only)`);
  if (created) {
    lines.push(`A development signing secret was created in ${path.join(config.dataDir, 'dev-jwt-secret')}.`);
  }
  if (config.auth.jwtSecret) {
    lines.push('Get an API token with: npm run -s token -- --role admin --email you@example.ac.uk');
  }
  console.log(lines.join('\n'));
}

runCommand(USAGE, main, () => loadConfig().databaseUrl);
