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

/** One counter per key: INCR, and the window starts with the first hit (PEXPIRE), atomically. */
const INCREMENT = `
  local current = redis.call('INCR', KEYS[1])
  if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return {current, ttl}`;

interface RedisLike {
  eval(script: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
  pttl(key: string): Promise<number>;
  get(key: string): Promise<string | null>;
}

/**
 * The same shared budgets, kept in Redis (REDIS_URL) so every process counts together. When Redis
 * cannot answer, the error goes back to @fastify/rate-limit, which (skipOnError) lets the request
 * through: the limiter fails open, and `warn` is called at most once a minute.
 */
export function redisRateLimitStore(redis: RedisLike, warn: (message: string) => void, prefix = 'liaison:rl:') {
  let lastWarningMs = 0;
  const failed = (error: unknown) => {
    const now = Date.now();
    if (now - lastWarningMs >= 60_000) {
      lastWarningMs = now;
      warn(
        `rate limits not enforced: Redis did not answer (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  };
  return class RedisSharedRateLimitStore {
    incr(key: string, callback: Callback, timeWindow: number): void {
      redis.eval(INCREMENT, 1, `${prefix}${key}`, timeWindow).then(
        (result) => {
          const [current, ttl] = result as [number, number];
          callback(null, { current: Number(current), ttl: Number(ttl) });
        },
        (error) => callback(failed(error), { current: 0, ttl: 0 }),
      );
    }

    read(key: string, callback: Callback): void {
      Promise.all([redis.get(`${prefix}${key}`), redis.pttl(`${prefix}${key}`)]).then(
        ([current, ttl]) => callback(null, { current: Number(current ?? 0), ttl: Math.max(0, ttl) }),
        (error) => callback(failed(error), { current: 0, ttl: 0 }),
      );
    }

    child(): this {
      return this;
    }
  };
}
