import { availableParallelism } from 'node:os';

/** A token that may still need its signature: a {@link PendingEct}, or one received already signed. */
export interface Signable {
  readonly signed: boolean;
  compact(): string;
  compactAsync(schedule: (sign: () => Promise<string>) => Promise<string>): Promise<string>;
}

/**
 * How many public-key operations the bridge runs off the event loop at once by default: one core
 * stays with the event loop, and one of libuv's threads (`UV_THREADPOOL_SIZE`, default 4) stays
 * free for the application's `fs` and `dns.lookup` work, which shares that pool.
 *
 * @example defaultCryptoThreads() // 1 on a 2-core machine, 3 on 16 cores with the default pool
 */
export function defaultCryptoThreads(): number {
  const uvThreads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism() - 1, uvThreads - 1));
}

/**
 * Runs public-key operations off the event loop, on libuv's threadpool (`node:crypto` with a
 * callback), at most `threads` at a time so the application's own threadpool work is not starved;
 * `threads: 0` runs them in the calling thread, synchronously.
 *
 * Why libuv's pool rather than `worker_threads`: a signature handed to it costs the event loop only
 * the payload's serialisation, there is no message passing or key transfer, and measured here
 * (2 cores) the total CPU per ES256 signature stays that of an in-thread one.
 *
 * @example
 * const pool = new CryptoPool(defaultCryptoThreads());
 * const compact = await pool.sign(pendingToken);
 */
export class CryptoPool {
  /** Operations run at once off the event loop; 0 = in the calling thread. */
  readonly threads: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(threads: number = defaultCryptoThreads()) {
    if (!Number.isInteger(threads) || threads < 0)
      throw new RangeError(`threads must be a whole number ≥ 0, not ${threads}`);
    this.threads = threads;
  }

  /** Operations waiting for a free thread. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * The compact form of a pending token, signed in the pool (or now, with no threads). If the pool
   * fails to sign it, the calling thread tries once: a token is never lost to the pool.
   */
  async sign(pending: Signable): Promise<string> {
    if (this.threads === 0 || pending.signed) return pending.compact();
    try {
      return await pending.compactAsync((sign) => this.run(sign));
    } catch {
      return pending.compact();
    }
  }

  /** Runs `task` once fewer than `threads` tasks are running. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= Math.max(1, this.threads)) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
