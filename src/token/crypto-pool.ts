import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
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

/** A signature to check: the key, its digest, the signed bytes (`header.payload`) and the signature. */
export interface SignatureCheck {
  key: KeyObject;
  digest: string | null;
  signingInput: string;
  signatureB64: string;
}

/** Options of {@link CryptoPool}. */
export interface CryptoPoolOptions {
  /** Worker threads; 0 works in the calling thread, synchronously. Default {@link defaultCryptoThreads}. */
  threads?: number;
  /** Operations sent to a worker in one message at most. Default 64. */
  maxBatch?: number;
  /** Told when a batch could not be run in a worker and was run in the calling thread instead. */
  onFallback?: (error: unknown, operations: number) => void;
  /**
   * The worker module: its default export runs a batch as `src/token/crypto-worker.mjs` does.
   * Default that module; tests give one that dies mid-batch.
   */
  workerModule?: URL;
}

/** Most worker threads chosen by default: four sign tens of thousands of ES256 tokens a second. */
const DEFAULT_MAX_THREADS = 4;

/**
 * Worker threads the pool uses by default (`ECT_CRYPTO_THREADS` unset): one core stays with the
 * event loop, at most four go to the pool (the application keeps the rest); with a single core
 * none, since a worker would only take turns with the event loop and add the messages' cost.
 *
 * @example defaultCryptoThreads() // 0 on 1 core, 1 on 2 cores, 3 on 4, 4 on 16
 */
export function defaultCryptoThreads(parallelism: number = availableParallelism()): number {
  if (parallelism <= 1) return 0;
  return Math.max(1, Math.min(DEFAULT_MAX_THREADS, parallelism - 1));
}

interface SignJob {
  readonly signer: EctSigner;
  readonly claims: Readonly<EctClaims>;
  readonly input: string;
  resolve(compact: string): void;
  reject(error: unknown): void;
}

interface VerifyJob {
  readonly check: SignatureCheck;
  resolve(valid: boolean): void;
}

/**
 * Signs and verifies off the event loop, in `worker_threads` run by `piscina`. The event loop only
 * serialises payloads; operations travel to the workers in batches (one message per up to
 * `maxBatch` operations with one key, the key passed as a `KeyObject`), so the message cost is
 * shared. A batch a worker fails to run (a worker that died, a closed pool) is run in the calling
 * thread and reported to `onFallback`: no token is lost. `threads: 0` works in the calling thread.
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
  readonly #onFallback: (error: unknown, operations: number) => void;
  readonly #workerModule: URL;
  readonly #signing = new Map<EctSigner, SignJob[]>();
  readonly #verifying = new Map<KeyObject, VerifyJob[]>();
  #piscina: Promise<Piscina> | undefined;
  #flushScheduled = false;
  readonly #dispatching = new Set<Promise<void>>();
  #closed = false;

  constructor(options: CryptoPoolOptions = {}) {
    const threads = options.threads ?? defaultCryptoThreads();
    if (!Number.isInteger(threads) || threads < 0) {
      throw new RangeError(`threads must be a whole number ≥ 0, not ${threads}`);
    }
    this.threads = threads;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#onFallback = options.onFallback ?? (() => {});
    this.#workerModule = options.workerModule ?? new URL('./crypto-worker.mjs', import.meta.url);
  }

  /** True when operations run in worker threads (not closed, threads > 0). */
  get offThread(): boolean {
    return this.threads > 0 && !this.#closed;
  }

  /**
   * The compact form of a token: signed in a worker (or now, with no threads or a closed pool).
   * Rejects with `ECT_SIGNING_FAILED` only when the calling thread cannot sign it either.
   */
  sign(token: Signable): Promise<string> {
    if (token.signed || !this.offThread) {
      try {
        return Promise.resolve(token.compact());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    try {
      return token.compactAsync((signer, claims) => this.#enqueueSign(signer, claims));
    } catch (error) {
      // Claims built on demand may fail to build: a rejection, like any other signing failure.
      return Promise.reject(error);
    }
  }

  /**
   * Whether a signature verifies, checked in a worker (or now, with no threads or a closed pool).
   * Never rejects: a signature that cannot be checked does not verify.
   */
  verifySignature(check: SignatureCheck): Promise<boolean> {
    if (!this.offThread) return Promise.resolve(verifySignatureNow(check));
    return new Promise<boolean>((resolve) => {
      const jobs = this.#jobsFor(this.#verifying, check.key);
      jobs.push({ check, resolve });
      if (jobs.length >= this.#maxBatch) {
        this.#verifying.delete(check.key);
        this.#track(this.#dispatchVerify(jobs));
      } else {
        this.#scheduleFlush();
      }
    });
  }

  /** Runs what is queued, then stops the workers; later operations run in the calling thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // What is queued still goes to the workers; then the batches under way finish (or fall back)
    // before the workers stop. Never rejects: a shutdown must not cut the SDK's own short.
    this.#flush();
    await Promise.allSettled([...this.#dispatching]);
    const piscina = this.#piscina;
    this.#piscina = undefined;
    if (piscina !== undefined) await piscina.then((workers) => workers.close()).catch(() => {});
  }

  #enqueueSign(signer: EctSigner, claims: Readonly<EctClaims>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const jobs = this.#jobsFor(this.#signing, signer);
      jobs.push({ signer, claims, input: signer.signingInput(claims), resolve, reject });
      if (jobs.length >= this.#maxBatch) {
        this.#signing.delete(signer);
        this.#track(this.#dispatchSign(jobs));
      } else {
        this.#scheduleFlush();
      }
    });
  }

  #jobsFor<K, J>(queues: Map<K, J[]>, key: K): J[] {
    let jobs = queues.get(key);
    if (jobs === undefined) {
      jobs = [];
      queues.set(key, jobs);
    }
    return jobs;
  }

  // Operations asked for in the same turn (a batch of the pipeline, a slice of an export, the
  // tokens of one request) go to the workers together.
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const jobs of this.#signing.values()) this.#track(this.#dispatchSign(jobs));
    for (const jobs of this.#verifying.values()) this.#track(this.#dispatchVerify(jobs));
    this.#signing.clear();
    this.#verifying.clear();
  }

  async #dispatchSign(jobs: readonly SignJob[]): Promise<void> {
    const { signer } = jobs[0]!;
    let signatures: string[];
    try {
      signatures = await this.#run<string>(jobs.length, {
        op: 'sign',
        key: signer.key.privateKey,
        digest: signer.digest,
        inputs: jobs.map((job) => job.input),
      });
    } catch (error) {
      // A closed pool runs late batches in the thread by design: not a worker failure to count.
      if (!this.#closed) this.#onFallback(error, jobs.length);
      for (const job of jobs) signInThread(job);
      return;
    }
    for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(`${jobs[i]!.input}.${signatures[i]}`);
  }

  async #dispatchVerify(jobs: readonly VerifyJob[]): Promise<void> {
    const { key, digest } = jobs[0]!.check;
    let valid: boolean[];
    try {
      valid = await this.#run<boolean>(jobs.length, {
        op: 'verify',
        key,
        digest,
        inputs: jobs.map((job) => job.check.signingInput),
        signatures: jobs.map((job) => job.check.signatureB64),
      });
    } catch (error) {
      // A closed pool runs late batches in the thread by design: not a worker failure to count.
      if (!this.#closed) this.#onFallback(error, jobs.length);
      for (const job of jobs) job.resolve(verifySignatureNow(job.check));
      return;
    }
    for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(valid[i] === true);
  }

  /** Keeps a batch under way until it settles, so {@link CryptoPool.close} can wait for it. */
  #track(dispatch: Promise<void>): void {
    this.#dispatching.add(dispatch);
    void dispatch.finally(() => this.#dispatching.delete(dispatch));
  }

  async #run<R>(expected: number, batch: object): Promise<R[]> {
    // A pool closed before it ever started workers starts none now: the batch runs in the thread.
    if (this.#closed && this.#piscina === undefined) throw new Error('the crypto pool is closed');
    const piscina = await this.#workers();
    const results = (await piscina.run(batch)) as R[];
    if (!Array.isArray(results) || results.length !== expected) {
      throw new Error(`a worker returned ${String(results?.length)} of ${expected} results`);
    }
    return results;
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

function signInThread(job: SignJob): void {
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

/**
 * Checks a signature now, in the calling thread; false when it does not verify or cannot be checked.
 *
 * @example if (!verifySignatureNow(check)) throw new EctSignatureError();
 */
export function verifySignatureNow(check: SignatureCheck): boolean {
  try {
    return cryptoVerify(
      check.digest,
      Buffer.from(check.signingInput, 'latin1'),
      { key: check.key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(check.signatureB64, 'base64url'),
    );
  } catch {
    return false;
  }
}
