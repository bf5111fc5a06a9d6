import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../helpers/app.js';
import { createLibrarianWithWeek } from '../helpers/fixtures.js';

// Hardening item G: input the schema lets through must never become a 5xx, and nothing is half
// written. Every write route (and every query) is probed with the values an outside review found:
// NUL bytes, a leap second, an offset without minutes, years 0000 and 9999.

interface Schema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  examples?: unknown[];
  minLength?: number;
  minimum?: number;
  minItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}

interface Operation {
  parameters?: { in: string; name: string; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

const UUID = '00000000-0000-4000-8000-000000000000';

/** A value the schema accepts, from the schema alone. */
function sample(schema: Schema): unknown {
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return sample(options.find((option) => option.type !== 'null') ?? (options[0] as Schema));
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((part) => sample(part) as object));
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((key) => [key, sample(schema.properties?.[key] ?? {})]));
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'string':
      if (schema.format === 'uuid') return UUID;
      if (schema.format === 'date-time') return '2027-03-10T10:00:00Z';
      if (schema.format === 'date') return '2027-03-10';
      if (schema.format === 'email') return 'someone@uni.example';
      if (schema.pattern?.includes(':[0-5]')) return '09:00';
      // A pattern's own example: validation stops at the first fault, so the rest must be valid.
      if (schema.pattern && typeof schema.examples?.[0] === 'string') return schema.examples[0];
      return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
    default:
      return 'x';
  }
}

function badStrings(schema: Schema): string[] {
  const values = ['bad\u0000nul'];
  if (schema.format === 'date-time') {
    values.push('2027-03-01T23:59:60Z', '2027-03-01T10:00:00+01', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z');
  }
  if (schema.format === 'date') values.push('0000-01-01', '9999-12-31', '2027-02-30');
  return values;
}

function isString(schema: Schema): boolean {
  const type = Array.isArray(schema.type) ? schema.type : [schema.type];
  return type.includes('string') || (schema.anyOf ?? []).some(isString);
}

/** Every way to put one bad string somewhere in a body built from `schema`: [pointer, body]. */
function probes(schema: Schema, base: unknown, pointer = '', depth = 0): [string, unknown][] {
  const options = schema.anyOf ?? schema.oneOf;
  if (options) {
    const objectOption = options.find((option) => option.type === 'object');
    if (objectOption) return probes(objectOption, base, pointer, depth);
  }
  if (depth > 3) return [];
  if (isString(schema)) {
    const formatted = (schema.anyOf ?? [schema]).find((option) => option.format) ?? schema;
    return badStrings(formatted).map((value) => [pointer, value]);
  }
  if (schema.type === 'object' && schema.properties) {
    const object = (base && typeof base === 'object' ? base : {}) as Record<string, unknown>;
    return Object.entries(schema.properties).flatMap(([key, property]) => {
      const inner = key in object ? object[key] : sample(property);
      return probes(property, inner, `${pointer}/${key}`, depth + 1).map(([where, value]): [string, unknown] => [
        where,
        { ...object, [key]: value },
      ]);
    });
  }
  if (schema.type === 'array' && schema.items) {
    const item = sample(schema.items);
    return probes(schema.items, item, `${pointer}/0`, depth + 1).map(([where, value]): [string, unknown] => [
      where,
      [value],
    ]);
  }
  return [];
}

let t: TestContext;
let paths: Record<string, Record<string, Operation>>;
let headers: { authorization: string };
let librarianId: string;

beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_BOOKING_WRITES_PER_MINUTE: '100000' } });
  librarianId = (await createLibrarianWithWeek(t)).id;
  headers = await t.auth(['student', 'librarian', 'analyst', 'admin'], { email: 'all@uni.example' });
  paths = (t.app.swagger() as unknown as { paths: typeof paths }).paths;
});
afterAll(() => t.close());

async function rowCounts(): Promise<Record<string, number>> {
  const tables = (await t.db.execute(
    sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
  )) as unknown as { rows: { table_name: string }[] };
  const counts: Record<string, number> = {};
  for (const { table_name: table } of tables.rows) {
    const result = (await t.db.execute(sql`select count(*)::int as n from ${sql.identifier(table)}`)) as unknown as {
      rows: { n: number }[];
    };
    counts[table] = result.rows[0]?.n ?? 0;
  }
  return counts;
}

function concrete(path: string): string {
  return path.replace('{id}', librarianId).replace(/\{\w+\}/g, UUID);
}

describe('no 5xx and no partial rows for input the schema accepts', () => {
  it('answers every bad string in every write body with a 4xx problem naming the field, and writes nothing', async () => {
    const before = await rowCounts();
    const failures: string[] = [];
    let sent = 0;
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const schema = operation.requestBody?.content['application/json']?.schema;
        if (!schema) continue;
        for (const [pointer, body] of probes(schema, sample(schema))) {
          const response = await t.app.inject({
            method: method.toUpperCase() as 'POST',
            url: concrete(path),
            headers,
            payload: body as Record<string, unknown>,
          });
          sent++;
          const label = `${method.toUpperCase()} ${path} ${pointer} = ${JSON.stringify(JSON.stringify(body)).slice(0, 80)}`;
          if (response.statusCode >= 500 || response.statusCode < 400) {
            failures.push(`${label} -> ${response.statusCode}`);
            continue;
          }
          expect(response.headers['content-type'], label).toContain('application/problem+json');
          const problem = response.json() as { errors?: { pointer: string }[]; code: string };
          // Malformed values are refused by validation naming the field; well-formed ones that
          // break a rule (an import row, an unknown librarian) are 404/409/422 with their reason.
          if (response.statusCode === 400) {
            expect(
              problem.errors?.map((e) => e.pointer),
              label,
            ).toContain(pointer);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(80);
    expect(await rowCounts()).toEqual(before);
  });

  it('answers bad query strings on every route with a 4xx, never a 5xx', async () => {
    const failures: string[] = [];
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const parameter of operation.parameters ?? []) {
          if (parameter.in !== 'query' || !isString(parameter.schema)) continue;
          const formatted = (parameter.schema.anyOf ?? [parameter.schema]).find((o) => o.format) ?? parameter.schema;
          for (const value of badStrings(formatted)) {
            const url = `${concrete(path)}?${parameter.name}=${encodeURIComponent(value)}`;
            const response = await t.app.inject({ method: method.toUpperCase() as 'GET', url, headers });
            if (response.statusCode >= 500) failures.push(`${method} ${url} -> ${response.statusCode}`);
            if (response.statusCode === 400) {
              const pointers = (response.json() as { errors?: { pointer: string }[] }).errors?.map((e) => e.pointer);
              if (value.includes('\u0000') && !pointers?.includes(`/${parameter.name}`)) {
                failures.push(`${method} ${url} does not name ${parameter.name}: ${response.body}`);
              }
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers infinite and unreadable numbers in every numeric query parameter with a 4xx naming it', async () => {
    // Hardening round three, finding 13: ?limit=Infinity was a 500 (the validator coerced it to
    // Infinity and skipped its limits).
    const failures: string[] = [];
    let sent = 0;
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const parameter of operation.parameters ?? []) {
          const type = [parameter.schema.type].flat();
          if (parameter.in !== 'query' || !(type.includes('integer') || type.includes('number'))) continue;
          for (const value of ['Infinity', '-Infinity', '1e400', 'NaN', '1e-400', '0x10', '']) {
            const url = `${concrete(path)}?${parameter.name}=${encodeURIComponent(value)}`;
            const response = await t.app.inject({ method: method.toUpperCase() as 'GET', url, headers });
            sent++;
            if (response.statusCode >= 500) failures.push(`${method} ${url} -> ${response.statusCode}`);
            if (['Infinity', '-Infinity', '1e400'].includes(value)) {
              const pointers = (response.json() as { errors?: { pointer: string }[] }).errors?.map((e) => e.pointer);
              if (response.statusCode !== 400 || !pointers?.includes(`/${parameter.name}`))
                failures.push(`${method} ${url} -> ${response.statusCode} ${response.body.slice(0, 120)}`);
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(20);
  });

  it('refuses ?subject=%00 naming the query field', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/librarians?subject=%00' });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([
      { pointer: '/subject', in: 'query', message: 'must not contain control characters (such as NUL)' },
    ]);
  });

  it('says to include the offset when a start has none, and refuses years outside 1900–2200', async () => {
    const noOffset = await t.app.inject({
      method: 'POST',
      url: '/api/v1/bookings',
      headers,
      payload: { librarianId, start: '2027-03-10T10:00:00' },
    });
    expect(noOffset.statusCode).toBe(400);
    expect(noOffset.json().errors).toEqual([
      {
        pointer: '/start',
        in: 'body',
        message:
          'must be a date and time with its offset, e.g. 2027-03-29T09:00:00+08:00 (include the offset, e.g. +08:00; years 1900–2200)',
      },
    ]);
    const ancient = await t.app.inject({
      method: 'GET',
      url: `/api/v1/librarians/${librarianId}/slots?from=0099-01-01&to=0099-01-02`,
    });
    expect(ancient.statusCode).toBe(400);
    // Validation stops at its first fault (hardening round three, finding 1): `from` is named.
    expect(ancient.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/from']);
  });

  it('answers malformed CSV and text/plain imports with a 422 naming the line, importing nothing', async () => {
    const admin = await t.auth('admin');
    const before = await rowCounts();
    const unclosed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports/sessions',
      headers: { ...admin, 'content-type': 'text/csv' },
      payload:
        'start,minutes,librarian_email,student_ref,companion,outcome\n"2027-01-01T10:00:00Z,60,,s1,no,attended\n',
    });
    expect(unclosed.statusCode).toBe(422);
    expect(unclosed.json()).toMatchObject({ code: 'import_invalid' });
    expect(unclosed.json().detail).toMatch(/^The body is not readable as CSV at line \d+: /);
    const plain = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports/sessions',
      headers: { ...admin, 'content-type': 'text/plain' },
      payload: 'hello "world\n',
    });
    expect(plain.statusCode).toBeGreaterThanOrEqual(400);
    expect(plain.statusCode).toBeLessThan(500);
    expect(await rowCounts()).toEqual(before);
  });
});
