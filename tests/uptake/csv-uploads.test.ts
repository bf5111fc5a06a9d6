import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../helpers/db.js';
import { childEnv } from '../helpers/processes.js';

// Hardening round three, finding 9: a 20 MB cohort or import of short lines ran the server out
// of memory (2/2). Uploaded CSV is now parsed in a worker thread and never past the records a
// cohort (50,000 people) or an import (100,000 sessions) can hold. The attack is replayed in a
// child process with the heap npm start gives the server (256 MB).

const CHILD = fileURLToPath(new URL('../helpers/upload-child.ts', import.meta.url));

describe('a 20 MB upload of short lines', () => {
  it('is refused by its line limit, cohort and import alike, within the server heap', async () => {
    // The child's database is this run's: PostgreSQL in CI, else PGlite.
    const passOn: Record<string, string> = testDatabaseUrl ? { TEST_DATABASE_URL: testDatabaseUrl } : {};
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--max-old-space-size=256', '--import', 'tsx', CHILD],
      { env: childEnv(passOn), maxBuffer: 1024 * 1024 },
    );
    const answers = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]');
    expect(answers).toEqual([
      {
        status: 422,
        code: 'cohort_invalid',
        detail: 'A cohort holds at most 50000 people; this file has more.',
      },
      {
        status: 422,
        code: 'import_invalid',
        detail: 'The file has more than 100000 sessions: split it into several files.',
      },
    ]);
  });
});
