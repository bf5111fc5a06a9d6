import { describe, expect, it } from 'vitest';
import { freshReads } from '../../src/db/fresh-reads.js';

// freshReads (src/db/fresh-reads.ts) lets concurrent slot requests share one read without ever
// answering a request from a read that began before the request arrived.

/** A read whose end the test decides: `finish` resolves it, `fail` rejects it. */
function controlledRead<T>() {
  const runs: { value: T; finish: () => void; fail: (error: Error) => void }[] = [];
  return {
    runs,
    run: (value: T) => () =>
      new Promise<T>((resolve, reject) => {
        runs.push({ value, finish: () => resolve(value), fail: reject });
      }),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('freshReads', () => {
  it('while one read runs, any number of callers cause exactly one more, which they share', async () => {
    const read = freshReads<string>();
    const reads = controlledRead<string>();
    const first = read('ada', reads.run('read 1'));
    const waiting = Array.from({ length: 10 }, (_, n) => read('ada', reads.run(`read ${n + 2}`)));
    expect(reads.runs.length).toBe(1);
    reads.runs[0]?.finish();
    expect(await first).toBe('read 1');
    await settle();
    // The second read starts only once the first has ended, for all ten who asked during it.
    expect(reads.runs.map((run) => run.value)).toEqual(['read 1', 'read 2']);
    reads.runs[1]?.finish();
    expect(await Promise.all(waiting)).toEqual(Array(10).fill('read 2'));
    // Nothing is under way now: the next caller starts a read of its own at once.
    const later = read('ada', reads.run('read 3'));
    expect(reads.runs.length).toBe(3);
    reads.runs[2]?.finish();
    expect(await later).toBe('read 3');
  });

  it('never shares between keys', async () => {
    const read = freshReads<string>();
    const reads = controlledRead<string>();
    const ada = read('ada', reads.run('ada'));
    const grace = read('grace', reads.run('grace'));
    expect(reads.runs.length).toBe(2);
    for (const run of reads.runs) run.finish();
    expect([await ada, await grace]).toEqual(['ada', 'grace']);
  });

  it('a failed read fails only the callers it was answering; those waiting get the next read', async () => {
    const read = freshReads<string>();
    const reads = controlledRead<string>();
    const first = read('ada', reads.run('read 1'));
    const second = read('ada', reads.run('read 2'));
    reads.runs[0]?.fail(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await settle();
    reads.runs[1]?.finish();
    expect(await second).toBe('read 2');
  });

  it('answers every caller from a read that began after it asked (200 callers, random timing)', async () => {
    // One logical clock: each call and each read's start takes the next tick. A read answers with
    // the tick at which it started, so a caller's answer must be later than its own tick.
    let tick = 0;
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const read = freshReads<number>();
    let started = 0;
    const run = () => {
      const at = ++tick;
      started++;
      return new Promise<number>((resolve) => setTimeout(() => resolve(at), Math.floor(random() * 4)));
    };
    const stale: string[] = [];
    await Promise.all(
      Array.from({ length: 200 }, async (_, n) => {
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 40)));
        const asked = ++tick;
        const answer = await read(n % 3 === 0 ? 'grace' : 'ada', run);
        if (answer <= asked) stale.push(`caller ${n} asked at ${asked}, answered from a read begun at ${answer}`);
      }),
    );
    expect(stale).toEqual([]);
    // And they did share: fewer reads than callers.
    expect(started).toBeLessThan(200);
  });
});
