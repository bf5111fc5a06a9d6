import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GROUPS } from '../../src/modules/uptake/service.js';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Hardening item H: one analyst request must not be able to stop the service.

let t: TestContext;

beforeAll(async () => {
  t = await createTestApp({ now: '2027-08-01T12:00:00Z' });
  await createLibrarianWithWeek(t);
});
afterAll(() => t.close());

describe('a cap on the groups one answer may hold', () => {
  it('refuses fill=true over a product of more than MAX_GROUPS groups with a 422 naming groupBy and fill', async () => {
    // 10 years by week (522) × fee status (2) × level of study (5) × companion (2) = 10,440 groups.
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake?from=2017-08-01&to=2027-07-31&groupBy=week,fee_status,study_level,companion&fill=true',
      headers: await t.auth('analyst'),
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'too_many_groups' });
    expect(response.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/groupBy', '/fill']);
    expect(response.json().detail).toContain('10440 groups');
    expect(MAX_GROUPS).toBe(5000);
  });

  it('still fills a product within the cap', async () => {
    // 12 months × 2 fee statuses × 2 (companion) = 48 rows, all zero.
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/uptake?from=2026-08-01&to=2027-07-31&groupBy=month,fee_status,companion&fill=true',
      headers: await t.auth('analyst'),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().rows).toHaveLength(48);
  });
});
