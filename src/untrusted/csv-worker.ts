import { parentPort } from 'node:worker_threads';
import { parse } from 'csv-parse/sync';
import { serveTasks } from './bounded-worker.js';

// The thread uploaded CSV is parsed in (csv.ts): never more than `maxRecords` records, whatever
// the file's length.

export interface CsvTask {
  text: string;
  maxRecords: number;
}

export type CsvAnswer = { records: string[][]; more: boolean } | { line: number | null; reason: string };

serveTasks(parentPort, ({ text, maxRecords }: CsvTask): CsvAnswer => {
  try {
    // One record past the limit says whether there are more, without reading them all.
    const records = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
      to: maxRecords + 1,
    }) as string[][];
    return { records: records.slice(0, maxRecords), more: records.length > maxRecords };
  } catch (error) {
    // csv-parse says where (an unclosed quote, a stray quote in a field).
    const line = (error as { lines?: unknown }).lines;
    const reason = error instanceof Error ? ((error.message.split('\n')[0] ?? '').split(', value is')[0] ?? '') : '';
    return { line: typeof line === 'number' ? line : null, reason };
  }
});
