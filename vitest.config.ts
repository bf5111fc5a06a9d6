import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Test files run side by side, at least two at once even on two cores: most of a file's time is
// spent waiting (a browser, a child process, the database), not computing. Vitest's own default
// (one fewer than the cores) ran them one at a time on a 2-core machine.
//
// Files share their worker's modules (isolate: false): each worker loads the app's sources once,
// not once per file (the suite spent 110 s of its 2-core time importing, now 15 s). That is safe
// because tests keep no state in modules: every test builds its own app, database and browser
// context, no test changes process.env or stubs a module, and what src/ keeps in module scope is
// caches of pure answers (zone offsets, formatters) or keyed by random ids.
export default defineConfig({
  test: {
    maxWorkers: Math.max(2, availableParallelism()),
    isolate: false,
  },
});
