import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../../config.js';
import type { InviteMethod } from './invite.js';

export interface OutgoingMail {
  to: { name: string | null; address: string };
  subject: string;
  text: string;
  html: string;
  /** The calendar invite, for messages about a session. */
  ics?: string;
  method?: InviteMethod;
  messageId: string;
  /** Extra headers (List-Unsubscribe and List-Unsubscribe-Post for campaign invitations). */
  headers?: Record<string, string>;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
  /** Where mail goes, for the start-up banner. */
  description: string;
}

function mailOptions(mail: OutgoingMail, from: string) {
  return {
    from,
    to: mail.to.name ? { name: mail.to.name, address: mail.to.address } : mail.to.address,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    ...(mail.headers ? { headers: mail.headers } : {}),
    // RFC 6047 practice: the invite as a text/calendar; method=… alternative (what Outlook turns
    // into Accept/Decline); nodemailer adds it once more as the invite.ics attachment, and no more.
    ...(mail.ics && mail.method
      ? { icalEvent: { method: mail.method, content: mail.ics, filename: 'invite.ics' } }
      : {}),
  };
}

/** The file an .eml outbox message is written to ends with this (its Message-ID, made safe). */
const outboxSuffix = (messageId: string) => `-${messageId.replace(/[^\w.-]/g, '')}.eml`;

/**
 * Removes the .eml outbox's copies of these messages (an erasure's), where mail goes to files
 * (no SMTP_URL); sent SMTP mail is beyond recall. Returns how many files went.
 */
export function forgetOutboxFiles(config: Pick<Config, 'smtpUrl' | 'dataDir'>, messageIds: readonly string[]): number {
  if (config.smtpUrl || messageIds.length === 0) return 0;
  const folder = path.join(config.dataDir, 'outbox');
  if (!existsSync(folder)) return 0;
  const suffixes = new Set(messageIds.map(outboxSuffix));
  let removed = 0;
  for (const name of readdirSync(folder)) {
    // <ISO time, : and . as ->Z-<Message-ID>.eml
    const at = name.indexOf('Z-');
    if (at >= 0 && suffixes.has(name.slice(at + 1))) {
      rmSync(path.join(folder, name), { force: true });
      removed++;
    }
  }
  return removed;
}

/** SMTP_URL -> pooled SMTP; unset -> each message as an .eml file in DATA_DIR/outbox. */
export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'dataDir'>): Mailer {
  if (config.smtpUrl) {
    const url = new URL(config.smtpUrl);
    const transport = nodemailer.createTransport({
      pool: true,
      maxConnections: 10,
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 587)),
      secure: url.protocol === 'smtps:',
      ...(url.username
        ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
        : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    return {
      description: `SMTP ${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`,
      async send(mail) {
        await transport.sendMail(mailOptions(mail, config.mailFrom));
      },
      close: () => transport.close(),
    };
  }
  const folder = path.join(config.dataDir, 'outbox');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  return {
    description: `.eml files in ${folder}`,
    async send(mail) {
      const info = await transport.sendMail(mailOptions(mail, config.mailFrom));
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}${outboxSuffix(mail.messageId)}`;
      // Owner-only: each file holds live links (DATA_DIR is owner-only too: db/data-dir.ts).
      writeFileSync(path.join(folder, name), info.message as Buffer, { mode: 0o600 });
    },
    close: () => transport.close(),
  };
}
