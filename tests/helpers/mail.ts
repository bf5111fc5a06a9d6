import { createMailer, type Mailer } from '../../src/modules/notifications/mailer.js';
import { createNotificationWorker, type NotificationWorker } from '../../src/modules/notifications/worker.js';
import { createTestApp, type TestContext } from './app.js';
import { type SmtpSink, startSmtpSink } from './smtp.js';

/** An app whose emails reach a real SMTP server on loopback, sent by a worker the test drives. */
export interface MailContext {
  t: TestContext;
  sink: SmtpSink;
  mailer: Mailer;
  worker: NotificationWorker;
  /** Sends whatever is queued and empties the mailbox: a clean start for the next test. */
  clearMail(): Promise<void>;
  close(): Promise<void>;
}

export async function createTestAppWithMail(
  options: { now?: string; env?: Record<string, string> } = {},
): Promise<MailContext> {
  const sink = await startSmtpSink();
  const t = await createTestApp({
    ...(options.now ? { now: options.now } : {}),
    env: { SMTP_URL: sink.url, PUBLIC_URL: 'https://appointments.uni.example', ...options.env },
  });
  const mailer = createMailer(t.config);
  const worker = createNotificationWorker({ db: t.db, clock: t.clock, mailer, config: t.config });
  return {
    t,
    sink,
    mailer,
    worker,
    async clearMail() {
      await worker.runOnce();
      sink.received.length = 0;
    },
    async close() {
      mailer.close();
      await t.close();
      await sink.stop();
    },
  };
}
