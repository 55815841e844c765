import { BoundedMap } from '../base/bounded-map.js';

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
 * A bounded memory of seen `jti`s, scoped by workflow id. An entry counts until its token expires;
 * under pressure the oldest entries go first, in O(1) (a {@link BoundedMap}: a token evicted
 * early could be replayed until it expires, so size the cache for the expected rate × lifetime).
 *
 * @example const cache = new MemoryReplayCache({ maxEntries: 10_000 });
 */
export class MemoryReplayCache implements ReplayStore {
  readonly #seen: BoundedMap<string, number>;

  constructor(options: MemoryReplayCacheOptions = {}) {
    this.#seen = new BoundedMap(options.maxEntries ?? 100_000);
  }

  get size(): number {
    return this.#seen.size;
  }

  checkAndRecord(scope: string, jti: string, expiresAt: number, now: number): boolean {
    const key = `${scope}\u0000${jti}`;
    const until = this.#seen.get(key);
    if (until !== undefined && until >= now) return false;
    this.#seen.set(key, expiresAt);
    return true;
  }
}
