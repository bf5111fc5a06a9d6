import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { START_FLAGS, waitReady } from '../../bench/scale/cluster.js';
import { buildServer } from '../../src/cli/build.js';
import { describeFailure } from '../../src/cli/command.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openPglite } from '../../src/db/client.js';
import { DataDirLocked } from '../../src/db/data-dir-lock.js';
import { checkListenSafety } from '../../src/dev-secret.js';
import { eventually } from '../helpers/eventually.js';
import { childEnv, freePort } from '../helpers/processes.js';

const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

// The command-line tests run at once (describe.concurrent): most of their time is child processes
// waiting on tsx loading the sources. Each test kills its own children when it ends.

/** `child`, killed when the test that started it finishes. */
function ownedBy<T extends ChildProcess>(test: TestContext, child: T): T {
  test.onTestFinished(() => {
    child.kill('SIGKILL');
  });
  return child;
}

/**
 * Runs one of the project's commands with only the environment given (no inherited settings),
 * without blocking the test file, so several commands can run at once.
 */
function run(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      tsx,
      [path.join(root, script), ...args],
      { cwd: root, env: childEnv(env), encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

function sleeper(test: TestContext): ChildProcess {
  return ownedBy(test, spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' }));
}

// One at a time: two of these open the embedded database in this process, which is CPU-bound.
describe('one process at a time on the embedded database', () => {
  it('refuses a second opener of the same DATA_DIR, naming the holder and what to do', async ({ expect }) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-lock-'));
    const first = await openPglite(path.join(dataDir, 'pglite'));
    try {
      const second = openPglite(path.join(dataDir, 'pglite'));
      await expect(second).rejects.toThrow(DataDirLocked);
      await expect(second).rejects.toThrow(
        `The embedded database in ${dataDir} is in use by process ${process.pid} (this one). Stop that process first, or set DATABASE_URL to a PostgreSQL database to run several processes.`,
      );
    } finally {
      await first.close();
    }
    const again = await openPglite(path.join(dataDir, 'pglite'));
    await again.close();
  });

  it('refuses while another live process holds the lock, and takes over a lock whose process is gone', async (test) => {
    const { expect } = test;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-lock-'));
    const holder = sleeper(test);
    writeFileSync(path.join(dataDir, 'liaison.lock'), String(holder.pid));
    await expect(openPglite(path.join(dataDir, 'pglite'))).rejects.toThrow(`in use by process ${holder.pid}.`);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    const opened = await openPglite(path.join(dataDir, 'pglite'));
    await opened.close();
  });

  it('makes the CLIs obey the lock: seed-demo while a server runs stops with one line', async (test) => {
    const { expect } = test;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-lock-'));
    const holder = sleeper(test);
    writeFileSync(path.join(dataDir, 'liaison.lock'), String(holder.pid));
    const result = await run('src/cli/seed-demo.ts', [], { DATA_DIR: dataDir });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `The embedded database in ${dataDir} is in use by process ${holder.pid}. Stop that process first, or set DATABASE_URL to a PostgreSQL database to run several processes.`,
    );
  });
});

describe.concurrent('start-up and the command line', () => {
  it('names DATABASE_URL and the cause in one line, with the password masked, when the database is unreachable', async ({
    expect,
  }) => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const result = await run('src/main.ts', [], {
      DATABASE_URL: 'postgres://liaison:Sup3rS3cretPw@127.0.0.1:1/liaison',
      AUTH_JWT_SECRET: 'a-secret-that-is-long-enough-for-hs256-0123456789',
      PORT: '39871',
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'Cannot use DATABASE_URL (postgres://liaison:***@127.0.0.1:1/liaison): connection refused (is PostgreSQL running, and on that host and port?) [ECONNREFUSED]',
    );
    expect(result.stdout + result.stderr).not.toContain('Sup3rS3cretPw');
  });

  it('a SIGTERM while the server is still starting stops it cleanly and releases DATA_DIR', async (test) => {
    const { expect } = test;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-start-'));
    // node itself (tsx as a loader), so the signal reaches the server and not a wrapper process.
    const child = ownedBy(
      test,
      spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts')], {
        cwd: root,
        env: childEnv({ DATA_DIR: dataDir, PORT: '39872' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lock = path.join(dataDir, 'liaison.lock');
    expect(await eventually(() => existsSync(lock), 30_000), 'the server opened its database').toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(existsSync(lock)).toBe(false);
  });

  const commands: [script: string, usage: string][] = [
    ['src/main.ts', 'npm start'],
    ['src/cli/token.ts', 'npm run -s token'],
    ['src/cli/seed-demo.ts', 'npm run seed-demo'],
    ['src/cli/migrate.ts', 'npm run db:migrate'],
    ['src/cli/worker.ts', 'npm run worker'],
    ['src/cli/openapi.ts', 'npm run openapi'],
  ];
  for (const [script, usage] of commands) {
    it(`${script} --help prints its usage and exits 0`, async ({ expect }) => {
      const result = await run(script, ['--help'], {});
      expect(result.status).toBe(0);
      expect(result.stdout.startsWith(usage)).toBe(true);
      expect(result.stderr).toBe('');
    });
  }

  it('a token printed by npm run -s token is the only thing on stdout, so TOKEN=$(…) works', async ({ expect }) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-token-'));
    const result = await run('src/cli/token.ts', ['--role', 'student', '--email', 'ana@example.ac.uk'], {
      DATA_DIR: dataDir,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('describes an unknown role and a missing database in one line each', ({ expect }) => {
    const missingRole = Object.assign(new Error('role "nobody" does not exist'), { code: '28000' });
    expect(describeFailure(missingRole, 'postgres://nobody:pw@127.0.0.1/x')).toBe(
      'Cannot use DATABASE_URL (postgres://nobody:***@127.0.0.1/x): the role is not allowed to connect (or does not exist) [28000]',
    );
    const missingDatabase = Object.assign(new Error('database "x" does not exist'), { code: '3D000' });
    expect(describeFailure(missingDatabase, 'postgres://u@127.0.0.1/x')).toBe(
      'Cannot use DATABASE_URL (postgres://u@127.0.0.1/x): the database does not exist [3D000]',
    );
  });

  it('npm start builds dist/ and serves pages, styles and the API from it with the V8 settings benches use', async (test) => {
    const { expect } = test;
    const scripts = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts;
    expect(scripts.prestart).toBe('tsx src/cli/build.ts');
    expect(scripts.start).toBe(`node ${START_FLAGS.join(' ')} dist/main.js`);
    // A tree of its own (beside dist/, as the build requires), so no other run's dist/ is touched.
    const target = path.join(root, `dist.test-${process.pid}`);
    try {
      await buildServer(target);
      const port = await freePort();
      const dataDir = mkdtempSync(path.join(tmpdir(), 'liaison-built-'));
      ownedBy(
        test,
        spawn(process.execPath, [...START_FLAGS, path.join(target, 'main.js')], {
          cwd: root,
          env: childEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error' }),
          stdio: ['ignore', 'ignore', 'pipe'],
        }),
      );
      await waitReady(port, 60_000);
      const home = await fetch(`http://127.0.0.1:${port}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('<title>Find a librarian');
      const style = await fetch(`http://127.0.0.1:${port}/assets/app.css`);
      expect(style.status).toBe(200);
      expect(style.headers.get('content-type')).toContain('text/css');
      const contract = await fetch(`http://127.0.0.1:${port}/docs/json`);
      expect(((await contract.json()) as { info: { version: string } }).info.version).toBe(
        JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version,
      );
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('points links in mail at the port the server listens on unless PUBLIC_URL says otherwise', ({ expect }) => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ HOST: 'appointments.local', PORT: '8443' }).publicUrl).toBe('http://appointments.local:8443');
    expect(loadConfig({ PORT: '8080', PUBLIC_URL: 'https://book.uni.example/' }).publicUrl).toBe(
      'https://book.uni.example',
    );
  });
});

describe('settings that could leak or expose', () => {
  it('masks the password of a malformed DATABASE_URL or SMTP_URL in the configuration error', () => {
    for (const name of ['DATABASE_URL', 'SMTP_URL']) {
      const attempt = () => loadConfig({ [name]: 'postgres://liaison:Sup3rS3cretPw@db host/liaison' });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow('liaison:***@');
      expect(attempt).not.toThrow('Sup3rS3cretPw');
    }
  });

  it('refuses to listen beyond loopback with the generated development secret', () => {
    expect(() => checkListenSafety({ host: '0.0.0.0' }, true)).toThrow(
      'HOST=0.0.0.0 would expose a server whose tokens are signed with the generated development secret',
    );
    expect(() => checkListenSafety({ host: '127.0.0.1' }, true)).not.toThrow();
    expect(() => checkListenSafety({ host: '0.0.0.0' }, false)).not.toThrow();
  });
});
