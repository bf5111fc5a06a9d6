import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Test files run side by side, at least two at once even on two cores: most of a file's time is
// spent waiting (a browser, a child process, the database), not computing. Vitest's own default
// (one fewer than the cores) ran them one at a time on a 2-core machine.
export default defineConfig({
  test: {
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
