interface Counter {
  current: number;
  startMs: number;
}

type Callback = (error: Error | null, result: { current: number; ttl: number }) => void;

/**
 * In-memory counters for @fastify/rate-limit, shared by every route: the plugin's own store gives
 * each route (and each GET's HEAD twin) a separate counter, so a client could multiply its budget
 * by switching routes or methods. Keys carry the limit's name (`public-read:<ip>`,
 * `booking-write:<who>`), so each limit is one budget wherever it applies.
 */
export class SharedRateLimitStore {
  private readonly counters = new Map<string, Counter>();
  private readonly maxKeys: number;

  constructor(options: { cache?: number } = {}) {
    this.maxKeys = options.cache ?? 10_000;
  }

  incr(key: string, callback: Callback, timeWindow: number): void {
    const now = Date.now();
    let counter = this.counters.get(key);
    if (!counter || counter.startMs + timeWindow <= now) {
      counter = { current: 0, startMs: now };
      this.counters.delete(key);
      if (this.counters.size >= this.maxKeys) {
        // The oldest inserted key goes first (Map keeps insertion order).
        const oldest = this.counters.keys().next().value;
        if (oldest !== undefined) this.counters.delete(oldest);
      }
      this.counters.set(key, counter);
    }
    counter.current++;
    callback(null, { current: counter.current, ttl: counter.startMs + timeWindow - now });
  }

  read(key: string, callback: Callback, timeWindow: number): void {
    const now = Date.now();
    const counter = this.counters.get(key);
    if (!counter || counter.startMs + timeWindow <= now) callback(null, { current: 0, ttl: 0 });
    else callback(null, { current: counter.current, ttl: counter.startMs + timeWindow - now });
  }

  child(): this {
    return this;
  }
}
