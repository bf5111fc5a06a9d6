import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { filesUnder } from '../helpers/files.js';

// The import rules of ARCHITECTURE.md, as .dependency-cruiser.cjs states them, checked by
// dependency-cruiser over src/, tests/ and bench/; and no private API of the database driver or
// the ORM (issue 23), read off the syntax tree of every file.

const ROOT = path.resolve(import.meta.dirname, '../..');

interface CruiseResult {
  summary: {
    totalCruised: number;
    violations: { rule: { name: string }; from: string; to: string }[];
  };
}

describe('import rules', () => {
  it('holds every rule of .dependency-cruiser.cjs (layers, channels, no cycles, driver entry points)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
        'src',
        'tests',
        'bench',
        '--config',
        '.dependency-cruiser.cjs',
        '--output-type',
        'json',
      ],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const result = JSON.parse(stdout) as CruiseResult;
    // It really read the code: every source file, at least.
    expect(result.summary.totalCruised).toBeGreaterThan(sourceFiles(['src']).length);
    expect(
      result.summary.violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`),
    ).toEqual([]);
  });
});

/** Names inside pg, pg-pool and drizzle that are not their public API (and were once used here). */
const PRIVATE_NAMES = new Set([
  'parsedStatements',
  'submittedNamedStatements',
  'handleCommandComplete',
  'requiresPreparation',
  'rawQueryConfig',
  'queryConfig',
  'prepareTyping',
  'escapeParam',
  'dialect',
  'nestedIndex',
  'activeQuery',
  'queryQueue',
]);
/** Own names that begin with an underscore: the CSRF form field. */
const OWN_UNDERSCORED = new Set(['_csrf']);

function sourceFiles(folders: string[]): string[] {
  return folders.flatMap((folder) => filesUnder(path.join(ROOT, folder), '.ts'));
}

/** Property reads and writes of private-looking names: `x._name`, `x['_name']`, `x.parsedStatements`. */
function privateAccesses(file: string, text = readFileSync(file, 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const flag = (node: ts.Node, name: string) => {
    if ((name.startsWith('_') && !OWN_UNDERSCORED.has(name)) || PRIVATE_NAMES.has(name)) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${path.relative(ROOT, file)}:${line + 1} ${node.getText().slice(0, 80)}`);
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node)) flag(node, node.name.text);
    if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression))
      flag(node, node.argumentExpression.text);
    // A type that names a private member: `as unknown as { session: ... }`.
    if (ts.isPropertySignature(node) && ts.isIdentifier(node.name) && PRIVATE_NAMES.has(node.name.text))
      flag(node, node.name.text);
    // Subclassing the driver's Query was how its internals were reached.
    if (ts.isHeritageClause(node) && /\bQuery\b/.test(node.getText())) flag(node, '_extends Query');
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('public driver and ORM API only', () => {
  it('reads no private member of a dependency anywhere in src/, tests/ or bench/', () => {
    const files = sourceFiles(['src', 'tests', 'bench']);
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap((file) => privateAccesses(file))).toEqual([]);
  });

  it('finds one when it is there (the check is not blind)', () => {
    const sample = [
      'client.connection.parsedStatements[name];',
      'query._getRows(connection);',
      "client['_ending'];",
      'const db = executor as unknown as { dialect: unknown };',
      'class Pipelined extends pg.Query {}',
      'request.body._csrf;',
    ].join('\n');
    const found = privateAccesses(path.join(ROOT, 'sample.ts'), sample).map((entry) => entry.split(' ')[0]);
    expect(found).toEqual(['sample.ts:1', 'sample.ts:2', 'sample.ts:3', 'sample.ts:4', 'sample.ts:5']);
  });
});
