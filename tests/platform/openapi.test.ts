import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { openapiFile, renderOpenapi } from '../../src/cli/openapi.js';

interface Operation {
  operationId?: string;
  tags?: string[];
  description?: string;
  summary?: string;
  security?: unknown[];
  responses?: Record<string, { description?: string }>;
}

let rendered: string;
beforeAll(async () => {
  rendered = await renderOpenapi();
});

describe('OpenAPI contract', () => {
  it('matches the committed openapi/openapi.json (run npm run openapi after changing routes)', () => {
    expect(rendered).toBe(readFileSync(openapiFile, 'utf8'));
  });

  it('documents every operation: id, tag, description, who may call it and each response', () => {
    const document = JSON.parse(rendered) as {
      openapi: string;
      paths: Record<string, Record<string, Operation>>;
    };
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
    );
    expect(operations.length).toBeGreaterThan(10);
    const ids = new Set<string>();
    for (const { name, operation } of operations) {
      expect(operation.operationId, name).toBeTruthy();
      expect(ids.has(operation.operationId as string), `${name} operationId is unique`).toBe(false);
      ids.add(operation.operationId as string);
      expect(operation.tags?.length, name).toBeGreaterThan(0);
      expect(operation.description, name).toBeTruthy();
      // N: Swagger UI's collapsed list shows the summary; keep it short.
      expect(operation.summary, `${name} has a summary`).toBeTruthy();
      expect((operation.summary ?? '').length, `${name} summary is short`).toBeLessThanOrEqual(50);
      expect(operation.responses?.['500'], `${name} declares 500`).toBeDefined();
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        expect(response.description, `${name} ${status}`).toBeTruthy();
        expect(response.description, `${name} ${status} says what it is`).not.toBe('Default Response');
      }
      if (name.includes('/api/')) {
        expect(operation.security, `${name} states who may call it`).toBeDefined();
        if ((operation.security as unknown[]).length > 0) expect(operation.responses?.['401'], name).toBeDefined();
      }
    }
  });
});
