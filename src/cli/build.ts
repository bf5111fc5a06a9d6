import { cpSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { runCommand } from './command.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where `npm start` runs from: src/ compiled to JavaScript, file for file, beside its templates and assets. */
export const DIST = path.join(ROOT, 'dist');

/**
 * Compiles src/ to dist/ for `npm start`: each .ts file to one .js file at the same place, and
 * every other file (templates, messages, styles) copied, so paths taken from import.meta.url
 * (`../package.json`, `../../migrations`, `./assets`) mean the same from either tree. The server
 * then runs on plain Node.js: no TypeScript loader thread, no source maps kept, ~35 MB less
 * resident memory. Built beside `target` (a folder directly under the project) and moved into
 * place, so a reader never sees half a tree.
 */
export async function buildServer(target = DIST): Promise<void> {
  const source = path.join(ROOT, 'src');
  const files = readdirSync(source, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  const scripts = files
    .filter((entry) => entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
  const staging = path.join(ROOT, `dist.${process.pid}.${Date.now()}`);
  try {
    await build({
      entryPoints: scripts,
      outdir: staging,
      outbase: source,
      format: 'esm',
      platform: 'node',
      target: 'node20.19',
      logLevel: 'warning',
    });
    for (const entry of files) {
      if (entry.name.endsWith('.ts')) continue;
      const from = path.join(entry.parentPath, entry.name);
      cpSync(from, path.join(staging, path.relative(source, from)));
    }
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runCommand('npm run build: compile src/ to dist/ for npm start (it runs this first).', buildServer);
}
