import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

// Hardening item O: the Node versions package.json claims are ones every installed package supports.

const root = path.resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string }; optional?: boolean; version?: string }>;
};

describe('the supported Node versions are real', () => {
  it('claims only Node versions that every locked package supports (no EBADENGINE on install)', () => {
    const claimed = manifest.engines.node;
    const conflicts = Object.entries(lock.packages)
      .filter(([name, entry]) => name !== '' && entry.engines?.node && !semver.subset(claimed, entry.engines.node))
      .map(([name, entry]) => `${name}@${entry.version} wants ${entry.engines?.node}`);
    expect(conflicts).toEqual([]);
  });

  it('runs on a Node version it claims', () => {
    expect(semver.satisfies(process.versions.node, manifest.engines.node)).toBe(true);
  });
});
