import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Channels read the change feed and never reach back into the module that wrote it: the email and
// webhook channels import nothing from bookings (tokens and people queries live where both may use them).

const MODULES = path.resolve(import.meta.dirname, '../../src/modules');

function importsOf(folder: string): { file: string; from: string }[] {
  return readdirSync(path.join(MODULES, folder))
    .filter((file) => file.endsWith('.ts'))
    .flatMap((file) =>
      [...readFileSync(path.join(MODULES, folder, file), 'utf8').matchAll(/from '([^']+)'/g)].map((match) => ({
        file: `${folder}/${file}`,
        from: match[1] as string,
      })),
    );
}

describe('module boundaries', () => {
  it.each(['notifications', 'webhooks', 'events', 'links'])('%s imports nothing from the bookings module', (folder) => {
    const found = importsOf(folder);
    expect(found.length).toBeGreaterThan(0);
    expect(found.filter((entry) => entry.from.includes('/bookings/'))).toEqual([]);
  });
});
