import { asEctError, isEctError, type EctError } from '../../base/errors.js';
import type { VerifiedEct } from '../../token/claims.js';
import type { CryptoPool } from '../../token/crypto-pool.js';
import type { EctVerifier } from '../../token/verify.js';

/** A verification's outcome: the verified token, or the typed error that refused it. */
export type VerifyOutcome = VerifiedEct | EctError;

interface Pending {
  token: string;
  done: (outcome: VerifyOutcome) => void;
}

/**
 * Verifies tokens while the sources are still being read: tokens are gathered in batches, each
 * batch is verified with {@link EctVerifier.verifyMany} (its signatures go to the crypto pool's
 * workers as one task per key, the rest runs here), and at most `depth` batches are under way, so
 * reading the next lines overlaps the workers' verifying and memory stays bounded whatever the
 * number of tokens. With no pool (or one of 0 threads) tokens are verified in the calling thread
 * as they come. Outcomes are reported in the order the tokens were submitted.
 *
 * @example
 * const stage = new SignatureStage(verifier, pool);
 * await stage.submit(token, (outcome) => record(outcome));
 * await stage.drain();
 */
export class SignatureStage {
  readonly #verifier: EctVerifier;
  readonly #pool: CryptoPool | undefined;
  readonly #batchSize: number;
  readonly #depth: number;
  #batch: Pending[] = [];
  readonly #underWay: Promise<void>[] = [];

  constructor(
    verifier: EctVerifier,
    pool: CryptoPool | undefined,
    options: { batchSize?: number; depth?: number } = {},
  ) {
    this.#verifier = verifier;
    this.#pool = pool?.offThread ? pool : undefined;
    this.#batchSize = options.batchSize ?? 512;
    this.#depth = options.depth ?? 4;
  }

  /** Queues a token; resolves once there is room for more (back-pressure on the reader). */
  async submit(token: string, done: (outcome: VerifyOutcome) => void): Promise<void> {
    if (this.#pool === undefined) {
      done(this.#verifySync(token));
      return;
    }
    this.#batch.push({ token, done });
    if (this.#batch.length < this.#batchSize) return;
    this.#dispatch();
    while (this.#underWay.length > this.#depth) await this.#underWay.shift();
  }

  /** Waits for every queued token. */
  async drain(): Promise<void> {
    if (this.#batch.length > 0) this.#dispatch();
    while (this.#underWay.length > 0) await this.#underWay.shift();
  }

  #dispatch(): void {
    const pool = this.#pool as CryptoPool;
    const batch = this.#batch;
    this.#batch = [];
    const verified = this.#verifier.verifyMany(
      batch.map((pending) => pending.token),
      pool,
    );
    this.#underWay.push(
      verified.then((outcomes) => {
        for (const [i, pending] of batch.entries()) pending.done(outcomes[i] as VerifyOutcome);
      }),
    );
  }

  #verifySync(token: string): VerifyOutcome {
    try {
      return this.#verifier.verifySync(token);
    } catch (error) {
      return asEctError(error);
    }
  }
}

/**
 * True when an outcome is a refusal.
 *
 * @example if (isRefusal(outcome)) console.log(outcome.code);
 */
export function isRefusal(outcome: VerifyOutcome): outcome is EctError {
  return isEctError(outcome);
}
