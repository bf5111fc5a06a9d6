import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './processes.js';

/**
 * A real CalDAV server: Debian's radicale, on 127.0.0.1 at a free port, with its own folder and a
 * users file (plain passwords), each user owning their own calendars. Seeded over CalDAV itself.
 */
export interface Radicale {
  url: string;
  port: number;
  /** MKCALENDAR at /user/name/, with a display name; its address. */
  makeCalendar(user: string, name: string, displayName: string): Promise<string>;
  /** PUT one event file into a calendar. */
  putEvent(calendarUrl: string, filename: string, ics: string): Promise<void>;
  /** The events in a calendar, as radicale holds them: file address and text. */
  events(calendarUrl: string): Promise<{ href: string; text: string }[]>;
  stop(): Promise<void>;
  /** Starts it again on the same port and folder (after stop). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startRadicale(users: Record<string, string>): Promise<Radicale> {
  const folder = mkdtempSync(path.join(tmpdir(), 'liaison-radicale-'));
  const port = await freePort();
  writeFileSync(
    path.join(folder, 'users'),
    Object.entries(users)
      .map(([user, password]) => `${user}:${password}`)
      .join('\n'),
  );
  writeFileSync(
    path.join(folder, 'config'),
    [
      '[server]',
      `hosts = 127.0.0.1:${port}`,
      '[auth]',
      'type = htpasswd',
      `htpasswd_filename = ${path.join(folder, 'users')}`,
      'htpasswd_encryption = plain',
      'delay = 0',
      '[rights]',
      'type = owner_only',
      '[storage]',
      `filesystem_folder = ${path.join(folder, 'collections')}`,
      '[logging]',
      'level = warning',
      'mask_passwords = True',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  async function start() {
    child = spawn('/usr/bin/radicale', ['--config', path.join(folder, 'config')], { stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await fetch(`${url}/.web/`, { signal: AbortSignal.timeout(1000) });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error('radicale did not start within 15 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
  async function stop() {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  }
  const auth = (user: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${users[user]}`).toString('base64')}`,
  });
  const userOf = (calendarUrl: string) => new URL(calendarUrl).pathname.split('/')[1] as string;

  await start();
  return {
    url,
    port,
    async makeCalendar(user, name, displayName) {
      const address = `${url}/${user}/${name}/`;
      const response = await fetch(address, {
        method: 'MKCALENDAR',
        headers: { ...auth(user), 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>${displayName}</D:displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`,
      });
      if (response.status !== 201) throw new Error(`MKCALENDAR ${address}: ${response.status}`);
      return address;
    },
    async putEvent(calendarUrl, filename, ics) {
      const response = await fetch(`${calendarUrl}${filename}`, {
        method: 'PUT',
        headers: { ...auth(userOf(calendarUrl)), 'content-type': 'text/calendar; charset=utf-8' },
        body: ics,
      });
      if (response.status !== 201 && response.status !== 204) throw new Error(`PUT ${filename}: ${response.status}`);
    },
    async events(calendarUrl) {
      const response = await fetch(calendarUrl, {
        method: 'PROPFIND',
        headers: { ...auth(userOf(calendarUrl)), depth: '1', 'content-type': 'application/xml' },
        body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>',
      });
      const hrefs = [...(await response.text()).matchAll(/<(?:\w+:)?href>([^<]+\.ics)<\/(?:\w+:)?href>/gi)].map(
        (match) => match[1] as string,
      );
      return Promise.all(
        hrefs.map(async (href) => ({
          href,
          text: await (await fetch(new URL(href, url), { headers: auth(userOf(calendarUrl)) })).text(),
        })),
      );
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
