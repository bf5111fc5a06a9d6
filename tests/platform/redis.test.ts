import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { inCi } from '../helpers/db.js';
import { eventually } from '../helpers/eventually.js';
import { childEnv, freePort } from '../helpers/processes.js';

// Shared rate limits through a real Redis (Debian's redis-server, started here on a port of its
// own): two processes' worth of app count together; with Redis gone the limiter fails open, and
// it counts again once Redis is back.

const REDIS = '/usr/bin/redis-server';
// CI installs redis-server (.ci/run); a newcomer's machine may not have it.
const available = existsSync(REDIS) || inCi;

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe.runIf(available)('rate limits shared through Redis', () => {
  let port: number;
  let redis: ChildProcess;
  let first: TestContext;
  let second: TestContext;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '5' };
    first = await createTestApp({ env });
    second = await createTestApp({ env });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    if (redis) await stopRedis(redis);
  });

  const read = (app: TestContext, ip: string) =>
    app.app.inject({ method: 'GET', url: '/api/v1/librarians', remoteAddress: ip });

  it('counts one budget across processes: the sixth read from an address is refused, whichever answers', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 6; index++) {
      statuses.push((await read(index % 2 === 0 ? first : second, '203.0.113.7')).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    // Another address has its own budget.
    expect((await read(second, '203.0.113.8')).statusCode).toBe(200);
  });

  it('fails open while Redis is down, and limits again once it is back', async () => {
    await stopRedis(redis);
    const statuses: number[] = [];
    for (let index = 0; index < 8; index++) statuses.push((await read(first, '203.0.113.9')).statusCode);
    expect(statuses).toEqual(Array(8).fill(200));
    redis = await startRedis(port);
    // Each app's client reconnects within about two seconds; then the budget applies again. Both
    // are waited for, so the next test (in any order) finds both counting.
    for (const [app, ip] of [
      [second, '203.0.113.10'],
      [first, '203.0.113.11'],
    ] as const) {
      expect(await eventually(async () => (await read(app, ip)).statusCode === 429, 10_000, 100)).toBe(true);
    }
  });
});

describe('behind a load balancer', () => {
  it('counts public reads per client address from X-Forwarded-For when the balancer is trusted', async () => {
    const behind = await createTestApp({ env: { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '2' } });
    try {
      const read = (client: string) =>
        behind.app.inject({ method: 'GET', url: '/api/v1/librarians', headers: { 'x-forwarded-for': client } });
      expect([(await read('198.51.100.1')).statusCode, (await read('198.51.100.1')).statusCode]).toEqual([200, 200]);
      expect((await read('198.51.100.1')).statusCode).toBe(429);
      // Another student behind the same balancer has a budget of their own.
      expect((await read('198.51.100.2')).statusCode).toBe(200);
    } finally {
      await behind.close();
    }
  });
});
