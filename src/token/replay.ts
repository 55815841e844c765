/**
 * Where seen token ids are remembered. A single process uses {@link MemoryReplayCache}; several
 * verifier instances share one store (Redis, PostgreSQL) by implementing this interface.
 */
export interface ReplayStore {
  /**
   * Records `(wid, jti)` until `expiresAt` (seconds since the epoch). Returns false when the pair
   * was already recorded and has not expired: a replay.
   */
  checkAndRecord(scope: string, jti: string, expiresAt: number, now: number): boolean;
}

/** Options of {@link MemoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /** Entries kept at most; the least recently recorded are evicted first. Default 100,000. */
  maxEntries?: number;
}

/**
 * A TTL-bounded LRU of seen `jti`s, scoped by workflow id. Entries leave when their token expires,
 * or, under pressure, oldest first (a token evicted early could be replayed until it expires, so
 * size the cache for the expected rate × token lifetime).
 *
 * @example const cache = new MemoryReplayCache({ maxEntries: 10_000 });
 */
export class MemoryReplayCache implements ReplayStore {
  readonly #maxEntries: number;
  // Map iteration order is insertion order: the first entry is the oldest, which makes it an LRU.
  readonly #seen = new Map<string, number>();

  constructor(options: MemoryReplayCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.#seen.size;
  }

  checkAndRecord(scope: string, jti: string, expiresAt: number, now: number): boolean {
    const key = `${scope}\u0000${jti}`;
    const until = this.#seen.get(key);
    if (until !== undefined && until >= now) return false;
    this.#seen.delete(key);
    this.#seen.set(key, expiresAt);
    this.#evict(now);
    return true;
  }

  #evict(now: number): void {
    for (const [key, until] of this.#seen) {
      if (this.#seen.size <= this.#maxEntries && until >= now) break;
      this.#seen.delete(key);
    }
  }
}
