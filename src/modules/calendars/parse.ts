import { createBoundedWorker, OverBudget, WorkerTaskError } from '../../untrusted/bounded-worker.js';
import type { BusyBlock, BusyTimeOptions } from './busy-time.js';
import type { BusyTimeTask } from './busy-time-worker.js';
import { CalendarReadError } from './fetch.js';

// Calendar files come from outside (a published address, a CalDAV server): they are read in a
// worker thread with a heap and a time limit, so one that loops or grows without end fails its
// own connection ("too complex") and never stalls or ends the process.

/** Reads one calendar's files (one for an address, one per event on CalDAV) into merged busy blocks. */
export type ReadBusyTime = (texts: string[], window: BusyTimeOptions) => Promise<BusyBlock[]>;

const HEAP_LIMIT_MB = 96;
/** The built server's worker is a .js file beside this one; tsx and vitest run the .ts source. */
const WORKER = new URL(`./busy-time-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export function createBusyTimeReader(options: { timeLimitMs: number }) {
  const worker = createBoundedWorker({ module: WORKER, timeLimitMs: options.timeLimitMs, heapLimitMb: HEAP_LIMIT_MB });
  const read: ReadBusyTime = async (texts, window) => {
    try {
      return await worker.run<BusyBlock[]>({ texts, window } satisfies BusyTimeTask);
    } catch (error) {
      if (error instanceof OverBudget) throw new CalendarReadError('too_complex', `the calendar ${error.message}`);
      if (error instanceof WorkerTaskError && error.errorName === 'CalendarTooComplex')
        throw new CalendarReadError('too_complex', error.message);
      if (error instanceof WorkerTaskError && error.errorName === 'CalendarFormatError')
        throw new CalendarReadError('malformed', error.message);
      throw error;
    }
  };
  return { read, close: worker.close };
}
