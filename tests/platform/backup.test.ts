import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SECRET, startLiaison, token } from '../../bench/scale/cluster.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { encodeBackup } from '../../src/db/backup-file.js';
import { fixedClock } from '../../src/time/clock.js';
import { createTestApp } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/db.js';
import { childEnv, freePort } from '../helpers/processes.js';

// Issue 28, backups for the embedded default: `npm run backup` copies the embedded database while
// the server is taking bookings, `npm run restore` puts the copy into an empty DATA_DIR (and
// refuses a non-empty one), and the restored copy serves the same bookings, figures and manage links.

const ROOT = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** `npm run backup` or `npm run restore` as its own process (tsx, as the npm scripts run it). */
function command(
  script: 'backup' | 'restore',
  args: string[],
  dataDir: string,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, `src/cli/${script}.ts`), ...args], {
    cwd: ROOT,
    env: childEnv({ DATA_DIR: dataDir, AUTH_JWT_SECRET: SECRET }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

async function api(port: number, method: string, url: string, bearer: string | null, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: {
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const folder = (name: string) => mkdtempSync(path.join(tmpdir(), `liaison-${name}-`));

// Three real servers start here, each migrating a new embedded database: slow on a loaded machine.
// They use the embedded database whatever the suite runs on (and CI runs every test on PostgreSQL).
describe('backup and restore of the embedded database', { timeout: 300_000 }, () => {
  it('keeps every booking acknowledged before a backup taken under load, and the same figures and links', async () => {
    const original = folder('original');
    const server = await startLiaison(await freePort(), { DATA_DIR: original });
    const { port } = server;
    children.push(server.child);
    const admin = await token(['admin'], { email: 'ops@uni.example' });

    const created = await api(port, 'POST', '/api/v1/librarians', admin, {
      email: 'backup@library.uni.example',
      name: 'Barbara Liskov',
      modes: ['in_person'],
      location: 'Main Library',
    });
    expect(created.status).toBe(201);
    const librarianId = created.body.id as string;
    const week = await api(port, 'PUT', `/api/v1/librarians/${librarianId}/availability`, admin, {
      timeZone: 'Europe/London',
      slotMinutes: 15,
      bufferMinutes: 0,
      minNoticeMinutes: 0,
      horizonDays: 60,
      maxCompanions: 1,
      weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '07:00', end: '21:00' })),
    });
    expect(week.status).toBe(200);
    // Slots from a week ahead (never one that passes during the test), over three weeks.
    const from = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const to = new Date(Date.now() + 28 * 86_400_000).toISOString().slice(0, 10);
    const slots = (await api(port, 'GET', `/api/v1/librarians/${librarianId}/slots?from=${from}&to=${to}`, null)).body
      .slots as { start: string }[];
    expect(slots.length).toBeGreaterThan(500);

    // Four students at a time book one slot each, one after another, until told to stop.
    const acknowledged: { id: string; manage: string; student: number }[] = [];
    let next = 0;
    let stop = false;
    const bookOne = async (): Promise<void> => {
      const index = next++;
      const slot = slots[index];
      if (!slot) return;
      const student = await token(['student'], {
        sub: `idp|backup-${index}`,
        email: `s${index}@student.uni.example`,
      });
      const booked = await api(port, 'POST', '/api/v1/bookings', student, {
        librarianId,
        start: slot.start,
        ...(index % 3 === 0 ? { companions: [{ name: `Friend ${index}` }] } : {}),
      });
      expect(booked.status, JSON.stringify(booked.body)).toBe(201);
      acknowledged.push({ id: booked.body.id, manage: booked.body.links.manage, student: index });
    };
    const load = Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (!stop && next < slots.length) await bookOne();
      }),
    );
    while (acknowledged.length < 40) await new Promise((resolve) => setTimeout(resolve, 50));

    // Those acknowledged when the backup begins (a copy of the list, not a comparison of
    // millisecond clocks: the 40th answer and the start can fall in the same millisecond).
    const before = [...acknowledged];
    const backupFile = path.join(folder('backups'), 'under-load.backup');
    const backedUp = await command('backup', ['--out', backupFile], original);
    expect(backedUp.code, backedUp.out).toBe(0);
    expect(backedUp.out).toContain(`from the running server (process ${server.child.pid})`);
    // A few more after it, then the load stops.
    const afterBackup = acknowledged.length;
    while (acknowledged.length < afterBackup + 5 && next < slots.length) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stop = true;
    await load;
    expect(before.length).toBeGreaterThanOrEqual(40);
    // Bookings went on being made while it was taken.
    expect(acknowledged.length).toBeGreaterThan(before.length);

    // The figures as the original server gives them once the load has stopped; then it stops, and
    // a second copy is taken of the stopped database.
    const range = `from=${from}&to=${to}&groupBy=companion`;
    const figures = await api(port, 'GET', `/api/v1/uptake?${range}`, admin);
    expect(figures.status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const stoppedFile = path.join(folder('backups'), 'stopped.backup');
    const stoppedCopy = await command('backup', ['--out', stoppedFile], original);
    expect(stoppedCopy.code, stoppedCopy.out).toBe(0);
    expect(stoppedCopy.out).toContain('(server stopped)');

    // A non-empty DATA_DIR is refused, and left as it was.
    const kept = readdirSync(original).sort();
    const refused = await command('restore', [backupFile], original);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('is not empty; nothing was changed');
    expect(readdirSync(original).sort()).toEqual(kept);

    // The copy taken under load: every booking acknowledged before it began is there, confirmed,
    // and its student's manage link still opens it.
    const restored = folder('restored');
    const restoring = await command('restore', [backupFile], restored);
    expect(restoring.code, restoring.out).toBe(0);
    // Restored owner-only: no folder another user may enter (hardening round three, finding 12).
    const open = readdirSync(restored, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => path.join(entry.parentPath, entry.name))
      .concat(restored)
      .filter((folder) => (statSync(folder).mode & 0o077) !== 0);
    expect(open).toEqual([]);
    const copy = await startLiaison(await freePort(), { DATA_DIR: restored });
    children.push(copy.child);
    for (const booking of before) {
      const read = await api(copy.port, 'GET', `/api/v1/bookings/${booking.id}`, admin);
      expect(read.status, booking.id).toBe(200);
      expect(read.body.status).toBe('confirmed');
      expect(read.body.companions.length).toBe(booking.student % 3 === 0 ? 1 : 0);
    }
    const link = new URL(before[0]?.manage as string);
    const byLink = await api(
      copy.port,
      'GET',
      `/api/v1/bookings/${before[0]?.id}?token=${link.searchParams.get('token')}`,
      null,
    );
    expect(byLink.status).toBe(200);
    expect(byLink.body.id).toBe(before[0]?.id);
    // A booking the copy holds is one that was acknowledged: nothing half-written came back.
    const held = (await api(copy.port, 'GET', `/api/v1/uptake?${range}`, admin)).body;
    const heldTotal = (held.rows as { bookings: number }[]).reduce((sum, row) => sum + row.bookings, 0);
    expect(heldTotal).toBeGreaterThanOrEqual(before.length);
    expect(heldTotal).toBeLessThanOrEqual(acknowledged.length);
    copy.child.kill('SIGTERM');
    await copy.exited;

    // The copy of the stopped database gives the same figures, byte for byte.
    const second = folder('second');
    expect((await command('restore', [stoppedFile], second)).code).toBe(0);
    const secondCopy = await startLiaison(await freePort(), { DATA_DIR: second });
    children.push(secondCopy.child);
    const again = await api(secondCopy.port, 'GET', `/api/v1/uptake?${range}`, admin);
    expect(JSON.stringify(again.body)).toBe(JSON.stringify(figures.body));
    secondCopy.child.kill('SIGTERM');
    await secondCopy.exited;
  });

  it('refuses a file that is not a backup, or is cut short, or holds no database, leaving DATA_DIR empty', async () => {
    const empty = folder('damaged');
    const notBackup = await command('restore', [path.join(ROOT, 'package.json')], empty);
    expect(notBackup.code).toBe(1);
    expect(notBackup.out).toContain('This is not a Liaison backup');
    const files = folder('files');
    const made = encodeBackup(Buffer.from('not a tarball of a database at all'), {
      createdAt: '2027-01-01T00:00:00.000Z',
      liaisonVersion: '0.1.0',
      files: {},
    });
    writeFileSync(path.join(files, 'short.backup'), made.subarray(0, made.length - 5));
    const short = await command('restore', [path.join(files, 'short.backup')], empty);
    expect(short.code).toBe(1);
    expect(short.out).toContain('damaged or incomplete');
    writeFileSync(path.join(files, 'garbage.backup'), made);
    const garbage = await command('restore', [path.join(files, 'garbage.backup')], empty);
    expect(garbage.code).toBe(1);
    expect(garbage.out).toContain("The backup's database could not be opened");
    expect(readdirSync(empty)).toEqual([]);
  });
});

describe('GET /backup', () => {
  it('answers 409 when the database is not the embedded one, and 403 without the token', async () => {
    const t = await createTestApp();
    try {
      const none = await t.app.inject({ method: 'GET', url: '/backup' });
      expect(none.statusCode).toBe(409);
      expect(none.headers['content-type']).toContain('application/problem+json');
      expect(none.json().code).toBe('not_embedded');
    } finally {
      await t.close();
    }
    const database = await createTestDatabase();
    let dumped = 0;
    const app = await buildApp({
      db: database.handle.db,
      clock: fixedClock('2027-03-01T12:00:00Z'),
      config: loadConfig({ AUTH_JWT_SECRET: SECRET, LOG_LEVEL: 'silent' }),
      backup: {
        token: 'the-right-token-of-enough-length-0123456789',
        dump: async () => {
          dumped += 1;
          return new Blob([Buffer.from([0x1f, 0x8b])]);
        },
      },
    });
    try {
      for (const authorization of [undefined, 'Bearer the-wrong-token-of-enough-length-012345678']) {
        const refused = await app.inject({
          method: 'GET',
          url: '/backup',
          headers: authorization ? { authorization } : {},
        });
        expect(refused.statusCode).toBe(403);
        expect(refused.json().code).toBe('forbidden');
      }
      expect(dumped).toBe(0);
      const given = await app.inject({
        method: 'GET',
        url: '/backup',
        headers: { authorization: 'Bearer the-right-token-of-enough-length-0123456789' },
      });
      expect(given.statusCode).toBe(200);
      expect(given.headers['content-type']).toBe('application/gzip');
      expect(given.rawPayload).toEqual(Buffer.from([0x1f, 0x8b]));
    } finally {
      await app.close();
      await database.drop();
    }
  });
});
