import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type MessagePort, Worker } from 'node:worker_threads';

// Parsing what outsiders send (a calendar file, an uploaded CSV) off the event loop, within a
// heap and a time limit. A file that loops, or grows without end, costs its own worker thread,
// which is ended and replaced; the process and everyone else's requests carry on.

/** Why a task was stopped: over its time, or over its memory. */
export class OverBudget extends Error {
  constructor(readonly reason: 'time' | 'memory') {
    super(reason === 'time' ? 'took longer than its time limit' : 'needed more memory than its limit');
  }
}

/**
 * What the thread starts from: the module itself once built (.js); for a source file (tsx, vitest)
 * a two-line module that registers tsx's loader in the thread first, as Node 20 applies no
 * --import to a worker.
 */
function entryOf(module: URL): URL {
  if (!fileURLToPath(module).endsWith('.ts')) return module;
  const loader = tsxEsmApi().href;
  const source = `import { register } from ${JSON.stringify(loader)};\nregister();\nawait import(${JSON.stringify(module.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/** tsx's public `tsx/esm/api` entry for import, from its package.json (require.resolve gives the CommonJS one). */
function tsxEsmApi(): URL {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  const entry = exports['./esm/api']?.import.default;
  if (!entry) throw new Error('tsx has no tsx/esm/api entry to load TypeScript in a worker');
  return new URL(entry, pathToFileURL(manifest));
}

/** The worker's answer to one task. */
type Answer = { ok: true; value: unknown } | { ok: false; name: string; message: string };

export interface BoundedWorkerOptions {
  /** The worker's module (a sibling .ts file under tsx and vitest, .js once built). */
  module: URL;
  /** Time one task may take before its worker is ended. */
  timeLimitMs: number;
  /** The worker's old-generation heap, in MB. */
  heapLimitMb: number;
  /** An idle worker is ended after this long, so an idle process holds no thread. */
  idleMs?: number;
}

interface Task {
  input: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** An error thrown inside the worker, carried back by its name and message. */
export class WorkerTaskError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One worker thread that runs tasks one at a time, in order. A task over its time or heap ends
 * the thread (the task is refused with OverBudget) and the next task starts a new one.
 */
export function createBoundedWorker(options: BoundedWorkerOptions) {
  const queue: Task[] = [];
  let worker: Worker | undefined;
  let running: Task | undefined;
  let timer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const finish = (outcome: (task: Task) => void) => {
    const task = running;
    running = undefined;
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (task) outcome(task);
    next();
  };

  const start = (): Worker => {
    const thread = new Worker(entryOf(options.module), {
      resourceLimits: { maxOldGenerationSizeMb: options.heapLimitMb, maxYoungGenerationSizeMb: 16 },
      stdout: false,
      stderr: false,
    });
    thread.on('message', (answer: Answer) => {
      if (worker !== thread) return;
      finish((task) =>
        answer.ok ? task.resolve(answer.value) : task.reject(new WorkerTaskError(answer.name, answer.message)),
      );
    });
    thread.on('error', (error: Error & { code?: string }) => {
      if (worker !== thread) return;
      worker = undefined;
      const reason = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new OverBudget('memory') : error;
      finish((task) => task.reject(reason));
    });
    thread.on('exit', () => {
      if (worker !== thread) return;
      // Ended without an answer (its limits, or from outside): the task it held is refused.
      worker = undefined;
      if (running) finish((task) => task.reject(new OverBudget('memory')));
    });
    return thread;
  };

  function next(): void {
    if (running || closed) return;
    const task = queue.shift();
    if (!task) {
      // Idle: the thread no longer holds the process open.
      worker?.unref();
      if (worker && options.idleMs !== 0) {
        const idle = worker;
        idleTimer = setTimeout(() => {
          if (worker === idle && !running) {
            worker = undefined;
            void idle.terminate();
          }
        }, options.idleMs ?? 30_000);
        idleTimer.unref();
      }
      return;
    }
    if (idleTimer) clearTimeout(idleTimer);
    running = task;
    worker ??= start();
    const thread = worker;
    // Busy: the thread holds the process open until the task's answer (or its limit) arrives.
    thread.ref();
    timer = setTimeout(() => {
      if (running !== task) return;
      worker = undefined;
      running = undefined;
      timer = undefined;
      void thread.terminate();
      task.reject(new OverBudget('time'));
      next();
    }, options.timeLimitMs);
    timer.unref();
    thread.postMessage(task.input);
  }

  return {
    /** Runs one task in the worker; refused with OverBudget when it passes a limit. */
    run<T>(input: unknown): Promise<T> {
      if (closed) return Promise.reject(new Error('the worker is closed'));
      return new Promise<T>((resolve, reject) => {
        queue.push({ input, resolve: resolve as (value: unknown) => void, reject });
        next();
      });
    },
    /** Ends the thread; tasks still waiting are refused. */
    async close(): Promise<void> {
      closed = true;
      if (idleTimer) clearTimeout(idleTimer);
      for (const task of queue.splice(0)) task.reject(new Error('the worker is closed'));
      const thread = worker;
      worker = undefined;
      if (thread) await thread.terminate();
    },
  };
}

export type BoundedWorker = ReturnType<typeof createBoundedWorker>;

/**
 * The worker's side: answers each task with `handle`'s result, or with its error's name and
 * message (a stack never crosses back).
 */
export function serveTasks<Input>(port: MessagePort | null, handle: (input: Input) => unknown) {
  if (!port) throw new Error('serveTasks runs in a worker thread');
  port.on('message', async (input: Input) => {
    try {
      port.postMessage({ ok: true, value: await handle(input) } satisfies Answer);
    } catch (error) {
      const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
      port.postMessage({
        ok: false,
        name: error instanceof Error ? error.constructor.name : name,
        message,
      } satisfies Answer);
    }
  });
}
