import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { EctError } from '../base/errors.js';
import type { EctClaims } from './claims.js';
import type { EctSigner } from './sign.js';

/** A token that may still need its signature: a `PendingEct`, or one received already signed. */
export interface Signable {
  readonly signed: boolean;
  compact(): string;
  compactAsync(sign: (signer: EctSigner, claims: Readonly<EctClaims>) => Promise<string>): Promise<string>;
}

/** Options of {@link CryptoPool}. */
export interface CryptoPoolOptions {
  /** Worker threads; 0 signs in the calling thread, synchronously. Default {@link defaultCryptoThreads}. */
  threads?: number;
  /** Signatures sent to a worker in one message at most. Default 64. */
  maxBatch?: number;
  /** Told when a batch could not be signed in a worker and was signed in the calling thread instead. */
  onFallback?: (error: unknown, signatures: number) => void;
  /**
   * The worker module: its default export signs a batch as `src/token/sign-worker.mjs` does.
   * Default that module; tests give one that dies mid-batch.
   */
  workerModule?: URL;
}

/**
 * Worker threads the pool uses by default: one core stays with the event loop.
 *
 * @example defaultCryptoThreads() // 1 on a 2-core machine, 15 on 16 cores
 */
export function defaultCryptoThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

interface Job {
  readonly signer: EctSigner;
  readonly claims: Readonly<EctClaims>;
  readonly input: string;
  resolve(compact: string): void;
  reject(error: unknown): void;
}

/**
 * Signs tokens off the event loop, in `worker_threads` run by `piscina`. The event loop only
 * serialises each token's payload; signatures travel to the workers in batches (one message per
 * up to `maxBatch` tokens of one key, the key passed as a `KeyObject`), so the message cost is
 * shared. A batch a worker fails to sign (a worker that died, a closed pool) is signed in the
 * calling thread and reported to `onFallback`: no token is lost. `threads: 0` signs in the
 * calling thread.
 *
 * Why not libuv's threadpool (`crypto.sign` with a callback): measured here (2 cores,
 * test/bench/crypto-pool.bench.mjs) one threadpool job per signature cost 1.54× the process CPU of
 * an in-thread ES256 signature and still ~27 µs of event-loop CPU per token (job set-up, callback,
 * promises), and it shares its 4 threads with the application's `fs` and `dns.lookup`.
 *
 * @example
 * const pool = new CryptoPool({ threads: 2 });
 * const compact = await pool.sign(pendingToken);
 * await pool.close();
 */
export class CryptoPool {
  /** Worker threads; 0 = in the calling thread. */
  readonly threads: number;
  readonly #maxBatch: number;
  readonly #onFallback: (error: unknown, signatures: number) => void;
  readonly #workerModule: URL;
  readonly #waiting = new Map<EctSigner, Job[]>();
  #piscina: Promise<Piscina> | undefined;
  #flushScheduled = false;
  #closed = false;

  constructor(options: CryptoPoolOptions = {}) {
    const threads = options.threads ?? defaultCryptoThreads();
    if (!Number.isInteger(threads) || threads < 0) {
      throw new RangeError(`threads must be a whole number ≥ 0, not ${threads}`);
    }
    this.threads = threads;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#onFallback = options.onFallback ?? (() => {});
    this.#workerModule = options.workerModule ?? new URL('./sign-worker.mjs', import.meta.url);
  }

  /**
   * The compact form of a token: signed in a worker (or now, with no threads or a closed pool).
   * Rejects with `ECT_SIGNING_FAILED` only when the calling thread cannot sign it either.
   */
  sign(token: Signable): Promise<string> {
    if (token.signed || this.threads === 0 || this.#closed) {
      try {
        return Promise.resolve(token.compact());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return token.compactAsync((signer, claims) => this.#enqueue(signer, claims));
  }

  /** Signs what is queued, then stops the workers; later signatures are made in the calling thread. */
  async close(): Promise<void> {
    this.#flush();
    this.#closed = true;
    const piscina = this.#piscina;
    this.#piscina = undefined;
    if (piscina !== undefined) await (await piscina).close();
  }

  #enqueue(signer: EctSigner, claims: Readonly<EctClaims>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const input = signer.signingInput(claims);
      let jobs = this.#waiting.get(signer);
      if (jobs === undefined) {
        jobs = [];
        this.#waiting.set(signer, jobs);
      }
      jobs.push({ signer, claims, input, resolve, reject });
      if (jobs.length >= this.#maxBatch) {
        this.#waiting.delete(signer);
        void this.#dispatch(signer, jobs);
      } else if (!this.#flushScheduled) {
        // Tokens asked for in the same turn (a batch of the pipeline, a slice of an export) go together.
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const [signer, jobs] of this.#waiting) void this.#dispatch(signer, jobs);
    this.#waiting.clear();
  }

  async #dispatch(signer: EctSigner, jobs: readonly Job[]): Promise<void> {
    let signatures: string[];
    try {
      const piscina = await this.#workers();
      signatures = (await piscina.run({
        key: signer.key.privateKey,
        digest: signer.digest,
        inputs: jobs.map((job) => job.input),
      })) as string[];
      if (signatures.length !== jobs.length)
        throw new Error(`a worker returned ${signatures.length} of ${jobs.length} signatures`);
    } catch (error) {
      this.#onFallback(error, jobs.length);
      for (const job of jobs) signInThread(job);
      return;
    }
    for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(`${jobs[i]!.input}.${signatures[i]}`);
  }

  #workers(): Promise<Piscina> {
    this.#piscina ??= import('piscina').then(
      ({ Piscina }) =>
        new Piscina({
          filename: this.#workerModule.href,
          minThreads: this.threads,
          maxThreads: this.threads,
          idleTimeout: 60_000,
          // Workers inherit the process's flags by default: under `node --import otel-ect/register`
          // each would start an SDK (and a bridge) of its own.
          execArgv: [],
        }),
    );
    return this.#piscina;
  }
}

function signInThread(job: Job): void {
  try {
    job.resolve(job.signer.sign(job.claims));
  } catch (error) {
    job.reject(
      error instanceof EctError
        ? error
        : new EctError('ECT_SIGNING_FAILED', 'signing failed', { cause: error, status: 500 }),
    );
  }
}
