import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FIELD_ERRORS } from '../../src/plugins/errors.js';
import { createTestApp, type TestContext } from '../helpers/app.js';

// Hardening round three, finding 1: `{"companions":[{} x 340,000]}` (1 MB) ran the process out of
// memory, because validation collected one error per bad item and answered a 23 MB problem. The
// class: unbounded work per request. Every array a request takes is bounded, validation stops at
// its first fault, and a problem lists a handful of fields whatever the body holds.

let t: TestContext;
const UUID = '00000000-0000-4000-8000-000000000000';
/** A problem's answer stays this small whatever was sent (the 23 MB answer was the fault). */
const MAX_ANSWER_BYTES = 8 * 1024;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

interface Schema {
  type?: string;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}
interface Operation {
  requestBody?: { content: Record<string, { schema: Schema }> };
  parameters?: { in: string; name: string; schema: Schema }[];
}

async function operations(): Promise<{ method: string; path: string; operation: Operation }[]> {
  const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, Operation>>;
  };
  return Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ method, path, operation })),
  );
}

/** The JSON Pointers of every array in a schema that has no maxItems. */
function unboundedArrays(schema: Schema | undefined, pointer: string): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const found = schema.type === 'array' && schema.maxItems === undefined ? [pointer] : [];
  const children: [Schema | undefined, string][] = [
    [schema.items, `${pointer}/*`],
    ...Object.entries(schema.properties ?? {}).map(([key, child]): [Schema, string] => [child, `${pointer}/${key}`]),
    ...[...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])].map((child): [Schema, string] => [
      child,
      pointer,
    ]),
  ];
  if (typeof schema.additionalProperties === 'object') children.push([schema.additionalProperties, `${pointer}/*`]);
  return [...found, ...children.flatMap(([child, at]) => unboundedArrays(child, at))];
}

/** The names of the arrays at the top of a body's schema (one level into its objects too). */
function arrayFields(schema: Schema | undefined): string[][] {
  const fields: string[][] = [];
  for (const [key, child] of Object.entries(schema?.properties ?? {})) {
    if (child.type === 'array') fields.push([key]);
    for (const [inner, grandchild] of Object.entries(child.properties ?? {}))
      if (grandchild.type === 'array') fields.push([key, inner]);
  }
  return fields;
}

/** `count` empty objects, as JSON text, built without a million-item array in memory. */
const emptyObjects = (count: number) => `[${'{},'.repeat(count - 1)}{}]`;

/** The widest bodies a limit lets through: each array of the schema filled with bad items, and unknown keys. */
function widestBodies(schema: Schema | undefined, limitBytes: number): string[] {
  const room = limitBytes - 200;
  const bodies = arrayFields(schema).map((path) => {
    const items = emptyObjects(Math.floor(room / 3));
    return path.length === 1 ? `{"${path[0]}":${items}}` : `{"${path[0]}":{"${path[1]}":${items}}}`;
  });
  // Unknown keys: with every error collected, one problem entry each.
  const keys = Array.from({ length: Math.floor(room / 12) }, (_, index) => `"k${index.toString(36)}":0`);
  bodies.push(`{${keys.join(',')}}`);
  bodies.push(emptyObjects(Math.floor(room / 3)));
  return bodies;
}

describe('the widest request the limits allow', () => {
  it('bounds every array that any operation takes, in its body or its query', async () => {
    const unbounded = (await operations()).flatMap(({ method, path, operation }) => [
      ...unboundedArrays(operation.requestBody?.content['application/json']?.schema, `${method} ${path} body`),
      ...(operation.parameters ?? []).flatMap((parameter) =>
        unboundedArrays(parameter.schema, `${method} ${path} ${parameter.in} ${parameter.name}`),
      ),
    ]);
    expect(unbounded).toEqual([]);
  });

  it('answers every JSON operation a body filled to its limit with a short problem, never a 5xx', async () => {
    const everyone = await t.auth(['admin', 'librarian', 'analyst', 'student']);
    const answered = new Set<string>();
    for (const { method, path, operation } of await operations()) {
      const schema = operation.requestBody?.content['application/json']?.schema;
      if (!schema) continue;
      const url = path.replace(/\{[^}]+\}/g, UUID);
      // The route's own limit: the general one, or the link holders' smaller one (a larger body is refused unread).
      for (const limit of [t.config.http.bodyLimitBytes, t.config.http.publicBodyLimitBytes]) {
        for (const payload of widestBodies(schema, limit)) {
          const response = await t.app.inject({
            method: method.toUpperCase() as 'POST',
            url,
            headers: { ...everyone, 'content-type': 'application/json' },
            payload,
          });
          const where = `${method} ${path} (${payload.length} bytes)`;
          expect(response.statusCode, where).toBeLessThan(500);
          expect(response.statusCode, where).toBeGreaterThanOrEqual(400);
          expect(response.rawPayload.length, where).toBeLessThan(MAX_ANSWER_BYTES);
          const errors = (response.json() as { errors?: unknown[] }).errors ?? [];
          expect(errors.length, where).toBeLessThanOrEqual(MAX_FIELD_ERRORS);
          answered.add(`${method} ${path}`);
        }
      }
    }
    // The 29 operations that take JSON (tests/platform/limits.test.ts names them).
    expect(answered.size).toBe(29);
  });

  it('names the first bad companion of 300,000, and only a handful of fields', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers: { ...(await t.auth('student')), 'content-type': 'application/json' },
      payload: `{"librarianId":"${UUID}","start":"2027-03-02T10:00:00Z","companions":${emptyObjects(300_000)}}`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('validation_failed');
    expect(response.rawPayload.length).toBeLessThan(MAX_ANSWER_BYTES);
    expect(response.json().errors.length).toBeLessThanOrEqual(MAX_FIELD_ERRORS);
  });
});
