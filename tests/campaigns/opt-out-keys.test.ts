import { createHash, createHmac } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appSecrets } from '../../src/db/schema.js';
import { createOptOutKeys } from '../../src/modules/campaigns/opt-outs.js';
import { createTestApp, type TestContext } from '../helpers/app.js';

// Hardening round three, finding 13: stopped addresses were kept as plain SHA-256, which a list of
// likely addresses reads back. They are now HMAC-SHA-256 with a key the deployment keeps.

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('how a stopped address is kept', () => {
  it('is an HMAC with the deployment’s own key, not a plain hash, and older plain hashes still count', async () => {
    const keys = createOptOutKeys(t.db, t.clock);
    const stored = await keys.keyOf(' Ana@Student.uni.example ');
    const [secret] = await t.db.select().from(appSecrets).where(eq(appSecrets.name, 'opt_outs'));
    const key = Buffer.from(secret?.value as string, 'base64url');
    expect(key.length).toBe(32);
    // Computed here with node:crypto from the stored key, not by the code under test.
    expect(stored).toBe(createHmac('sha256', key).update('ana@student.uni.example').digest('hex'));
    const plain = createHash('sha256').update('ana@student.uni.example').digest('hex');
    expect(stored).not.toBe(plain);
    expect([...(await keys.keysOf(['ana@student.uni.example'])).keys()]).toEqual([stored, plain]);
    // Another process (another instance) uses the same key.
    expect(await createOptOutKeys(t.db, t.clock).keyOf('ana@student.uni.example')).toBe(stored);
  });
});
