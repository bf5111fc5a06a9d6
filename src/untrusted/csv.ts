import { createBoundedWorker, OverBudget } from './bounded-worker.js';
import type { CsvAnswer, CsvTask } from './csv-worker.js';

// Uploaded CSV (past sessions, a campaign's cohort) is parsed off the event loop, in a worker
// thread with a heap and a time limit, and never past the records the caller can take: a 20 MB
// file of short lines costs a bounded parse, not the process (hardening round three, finding 9).

/** Why a CSV text could not be read: where (csv-parse's line), and its words. */
export class CsvUnreadable extends Error {
  constructor(
    readonly line: number | null,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const WORKER = new URL(`./csv-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
const HEAP_LIMIT_MB = 256;
const TIME_LIMIT_MS = 60_000;

let worker: ReturnType<typeof createBoundedWorker> | undefined;

/**
 * The records of a CSV text (header first), at most `maxRecords`; `more` says whether the text
 * held more. Throws CsvUnreadable for text that is not CSV, or that is past the thread's limits.
 */
export async function readCsvRecords(
  text: string,
  maxRecords: number,
): Promise<{ records: string[][]; more: boolean }> {
  // One thread for the process, made on first use and ended when idle (an unreferenced timer).
  worker ??= createBoundedWorker({ module: WORKER, timeLimitMs: TIME_LIMIT_MS, heapLimitMb: HEAP_LIMIT_MB });
  let answer: CsvAnswer;
  try {
    answer = await worker.run<CsvAnswer>({ text, maxRecords } satisfies CsvTask);
  } catch (error) {
    if (error instanceof OverBudget) throw new CsvUnreadable(null, `the file ${error.message}`);
    throw error;
  }
  if ('reason' in answer) throw new CsvUnreadable(answer.line, answer.reason);
  return answer;
}
