import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { createMailer } from '../../src/modules/notifications/mailer.js';

// Hardening round three, finding 12: PGlite's files were 0666 (another local user read students'
// emails) and the outbox's .eml files 0644 (with live links). DATA_DIR and everything in it are
// owner-only, checked at start (an older install's open files are closed, with a warning).

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** Every file and folder under `root` whose mode lets group or others in, with that mode. */
function openToOthers(root: string): string[] {
  const found: string[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    const stats = statSync(current);
    if ((stats.mode & 0o077) !== 0)
      found.push(`${path.relative(root, current) || '.'} ${(stats.mode & 0o777).toString(8)}`);
    if (stats.isDirectory()) for (const name of readdirSync(current)) pending.push(path.join(current, name));
  }
  return found;
}

describe('DATA_DIR is owner-only', () => {
  it("closes an older install's open files with one warning, and the embedded database writes owner-only files", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-data-'));
    folders.push(dataDir);
    chmodSync(dataDir, 0o755);
    mkdirSync(path.join(dataDir, 'outbox'), { mode: 0o777 });
    chmodSync(path.join(dataDir, 'outbox'), 0o777);
    writeFileSync(path.join(dataDir, 'outbox', 'old.eml'), 'a live link', { mode: 0o666 });
    chmodSync(path.join(dataDir, 'outbox', 'old.eml'), 0o666);
    expect(openToOthers(dataDir).sort()).toEqual(['. 755', 'outbox 777', 'outbox/old.eml 666']);

    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const previousUmask = process.umask(0o000);
    try {
      const database = await openDatabase({ dataDir });
      await database.db.execute('create table notes (body text)');
      await database.db.execute("insert into notes values ('ana@student.uni.example')");
      await database.close();
      const mailer = createMailer({ dataDir, smtpUrl: undefined, mailFrom: 'Liaison <liaison@uni.example>' });
      await mailer.send({
        to: { name: 'Ana', address: 'ana@student.uni.example' },
        subject: 'Your booking',
        text: 'Open https://liaison.example/bookings/1?token=abc',
        html: '<p>Open <a href="https://liaison.example/bookings/1?token=abc">your booking</a></p>',
        messageId: '<one@liaison>',
      });
      mailer.close();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.umask(previousUmask);
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.includes('DATA_DIR'))).toEqual([
      `2 folders in DATA_DIR (${dataDir}) were open to other users; made owner-only`,
    ]);
    // No folder lets another user in, and the files written since are owner-only too, but for what
    // PGlite wrote on closing (it sets 0666 itself, inside the closed pglite folder).
    expect(openToOthers(dataDir).filter((entry) => !entry.startsWith('pglite/'))).toEqual([]);
    const database = await openDatabase({ dataDir });
    expect(openToOthers(dataDir)).toEqual([]);
    await database.close();
    expect(readdirSync(path.join(dataDir, 'pglite')).length).toBeGreaterThan(5);
    expect(readdirSync(path.join(dataDir, 'outbox')).length).toBe(2);
  });
});
