import { describe, expect, it } from 'vitest';
import { createTestApp } from '../helpers/app.js';

// Hardening round three, finding 13: unknown paths (404s), /health (a database read) and
// /docs/json sat outside the public read budget, so a stream of them cost nothing to send.

describe('the public read budget', () => {
  it('counts 404s, /health and /docs/json as reads, per address, and leaves the probes alone', async () => {
    const t = await createTestApp({ env: { RATE_LIMIT_PUBLIC_READS_PER_MINUTE: '3' } });
    try {
      const statuses = async (url: string, remoteAddress: string, times: number) => {
        const answers: number[] = [];
        for (let index = 0; index < times; index++)
          answers.push((await t.app.inject({ method: 'GET', url, remoteAddress })).statusCode);
        return answers;
      };
      expect(await statuses('/no/such/path', '127.0.0.2', 4)).toEqual([404, 404, 404, 429]);
      expect(await statuses('/health', '127.0.0.3', 4)).toEqual([200, 200, 200, 429]);
      expect(await statuses('/docs/json', '127.0.0.4', 4)).toEqual([200, 200, 200, 429]);
      // One budget over them all, per address.
      expect(await statuses('/no/such/path', '127.0.0.5', 2)).toEqual([404, 404]);
      expect(await statuses('/health', '127.0.0.5', 2)).toEqual([200, 429]);
      // The load balancer's probes are never refused.
      expect(await statuses('/health/live', '127.0.0.2', 5)).toEqual([200, 200, 200, 200, 200]);
      expect(await statuses('/health/ready', '127.0.0.2', 5)).toEqual([200, 200, 200, 200, 200]);
      const refused = await t.app.inject({ method: 'GET', url: '/no/such/path', remoteAddress: '127.0.0.2' });
      expect(refused.json()).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(refused.headers['retry-after']).toBeDefined();
    } finally {
      await t.close();
    }
  });
});
