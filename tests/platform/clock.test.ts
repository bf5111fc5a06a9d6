import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { filesUnder } from '../helpers/files.js';

// One clock (issue 23): every time the application stores comes from the injected clock, so tests
// can move time. No column takes its value from the database's own clock, and no query asks it.

const SRC = path.resolve(import.meta.dirname, '../../src');

describe('one clock', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  it('leaves no column defaulting to the database clock, once every migration has run', async () => {
    const result = (await database.handle.db.execute(sql`
      select table_name || '.' || column_name as "column", column_default as "default"
      from information_schema.columns
      where table_schema = 'public'
        and (column_default ilike '%now()%' or column_default ilike '%current_timestamp%'
             or column_default ilike '%clock_timestamp%' or column_default ilike '%localtimestamp%')
      order by 1`)) as unknown as { rows: unknown[] };
    expect(result.rows).toEqual([]);
  });

  it('asks the database for the time in no statement of src/', () => {
    const DATABASE_CLOCK =
      /\b(now|clock_timestamp|statement_timestamp|transaction_timestamp)\s*\(\)|\b(current_timestamp|localtimestamp)\b/i;
    const asking: string[] = [];
    for (const file of filesUnder(SRC, '.ts')) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node) => {
        // SQL lives in strings and templates; `clock.now()` in code is the injected clock.
        const text =
          ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)
            ? node.text
            : ts.isIdentifier(node) && node.text === 'defaultNow'
              ? 'defaultNow()'
              : '';
        if (DATABASE_CLOCK.test(text) || text === 'defaultNow()') {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart());
          asking.push(`${path.relative(SRC, file)}:${line + 1}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(asking).toEqual([]);
  });
});
