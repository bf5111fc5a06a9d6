import { parentPort } from 'node:worker_threads';
import { serveTasks } from '../../untrusted/bounded-worker.js';
import {
  type BusyBlock,
  type BusyTimeOptions,
  busyTimeOf,
  MAX_OCCURRENCES_PER_READ,
  mergeBlocks,
} from './busy-time.js';

// The thread calendar files are read in (parse.ts): one task is one calendar's files, read with
// one budget of occurrences between them.

export interface BusyTimeTask {
  texts: string[];
  window: BusyTimeOptions;
}

serveTasks(parentPort, ({ texts, window }: BusyTimeTask): BusyBlock[] => {
  const budget = { occurrences: MAX_OCCURRENCES_PER_READ };
  return mergeBlocks(texts.flatMap((text) => busyTimeOf(text, window, budget)));
});
