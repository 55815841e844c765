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

type JobGroup = { op: 'sign'; jobs: readonly SignJob[] } | { op: 'verify'; jobs: readonly VerifyJob[] };

/** What a worker is sent for one group: the key travels as a `KeyObject`. */
function batchOf(group: JobGroup): object {
  if (group.op === 'sign') {
    const { signer } = group.jobs[0]!;
    return { op: 'sign', key: signer.key.privateKey, digest: signer.digest, inputs: group.jobs.map((j) => j.input) };
  }
  const { key, digest } = group.jobs[0]!.check;
  return {
    op: 'verify',
    key,
    digest,
    inputs: group.jobs.map((j) => j.check.signingInput),
    signatures: group.jobs.map((j) => j.check.signatureB64),
  };
}

/**
 * Signs and verifies off the event loop, in `worker_threads` run by `piscina`. The event loop only
 * serialises payloads; what was asked for in one turn of the event loop travels to a worker as one
 * task (batches of up to `maxBatch` operations with one key each, the key passed as a `KeyObject`),
 * so the message and wake-up cost is shared. A batch a worker fails to run (a worker that died, a closed pool) is run in the calling
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
        this.#track(this.#dispatch([{ op: 'verify', jobs }]));
      } else {
        this.#scheduleFlush();
      }
    });
  }

  /**
   * Whether each compact JWS (`header.payload.signature`) in a batch verifies under one key, in
   * ONE worker task: 1 where it verifies, 0 where not (or where it cannot be checked). For callers
   * that hold many tokens at once (the audit). The tokens travel as one transferred buffer of
   * bytes, not as cloned strings, and the worker verifies slices of it in place. Tokens are read
   * as latin1, like {@link verifySignatureNow}: give it ASCII text, as `parseCompact` ensures (any
   * other character is not base64url and the token is refused before this). Never rejects: a
   * task no worker could run is checked in the calling thread (and reported to `onFallback`).
   *
   * @example const verdicts = await pool.verifyCompacts(key.publicKey, 'sha256', tokens);
   */
  verifyCompacts(key: KeyObject, digest: string | null, compacts: readonly string[]): Promise<Uint8Array> {
    if (!this.offThread || compacts.length === 0) return Promise.resolve(verifyCompactsNow(key, digest, compacts));
    const dispatch = this.#runCompacts(key, digest, compacts);
    this.#track(dispatch.then(() => undefined));
    return dispatch;
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
        this.#track(this.#dispatch([{ op: 'sign', jobs }]));
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

  // Operations asked for in the same turn of the event loop (a batch of the pipeline, a slice of an
  // export, the tokens of every request read in that turn) go to the workers together. Each batch
  // costs a cross-thread wake-up, which dominated the event loop's share of the pool: flushing at
  // the end of the turn (setImmediate) instead of the end of each request's microtasks took the
  // HTTP bench's record service from 6.8× to 4.4× the official register's main-thread CPU per
  // request (511 → 370 µs, 2 cores); a 1 ms timer batched no better and adds latency.
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const groups: JobGroup[] = [
      ...[...this.#signing.values()].map((jobs) => ({ op: 'sign' as const, jobs })),
      ...[...this.#verifying.values()].map((jobs) => ({ op: 'verify' as const, jobs })),
    ];
    this.#signing.clear();
    this.#verifying.clear();
    if (groups.length > 0) this.#track(this.#dispatch(groups));
  }

  /**
   * Runs groups of jobs (one key each) as ONE worker task: what costs the event loop is the
   * cross-thread message and wake-up per task, not the size of the task.
   */
  async #dispatch(groups: readonly JobGroup[]): Promise<void> {
    let results: ArrayLike<unknown>[];
    try {
      results = await this.#run(
        groups.map(batchOf),
        groups.map((group) => group.jobs.length),
      );
    } catch (error) {
      // A closed pool runs late batches in the thread by design: not a worker failure to count.
      const operations = groups.reduce((n, group) => n + group.jobs.length, 0);
      if (!this.#closed) this.#onFallback(error, operations);
      for (const group of groups) {
        if (group.op === 'sign') for (const job of group.jobs) signInThread(job);
        else for (const job of group.jobs) job.resolve(verifySignatureNow(job.check));
      }
      return;
    }
    groups.forEach((group, g) => {
      const out = results[g] as ArrayLike<unknown>;
      if (group.op === 'sign') {
        for (const [i, job] of group.jobs.entries()) job.resolve(`${job.input}.${out[i] as string}`);
      } else {
        for (const [i, job] of group.jobs.entries()) job.resolve(out[i] === true);
      }
    });
  }

  async #runCompacts(key: KeyObject, digest: string | null, compacts: readonly string[]): Promise<Uint8Array> {
    const { bytes, bounds } = packCompacts(compacts);
    try {
      const [verdicts] = await this.#run(
        [{ op: 'verify-compact', key, digest, bytes, bounds }],
        [compacts.length],
        [bytes, bounds.buffer as ArrayBuffer],
      );
      return verdicts as Uint8Array;
    } catch (error) {
      // The buffer went to the worker (detached here): the strings are checked again in the thread.
      if (!this.#closed) this.#onFallback(error, compacts.length);
      return verifyCompactsNow(key, digest, compacts);
    }
  }

  /** Keeps a batch under way until it settles, so {@link CryptoPool.close} can wait for it. */
  #track(dispatch: Promise<void>): void {
    this.#dispatching.add(dispatch);
    void dispatch.finally(() => this.#dispatching.delete(dispatch));
  }

  async #run(
    batches: readonly object[],
    expected: readonly number[],
    transferList?: ArrayBuffer[],
  ): Promise<ArrayLike<unknown>[]> {
    // A pool closed before it ever started workers starts none now: the batch runs in the thread.
    if (this.#closed && this.#piscina === undefined) throw new Error('the crypto pool is closed');
    const piscina = await this.#workers();
    const results = (await piscina.run({ batches }, transferList && { transferList })) as unknown[];
    const ok =
      Array.isArray(results) &&
      results.length === expected.length &&
      results.every((r, i) => (Array.isArray(r) || r instanceof Uint8Array) && r.length === expected[i]);
    if (!ok) throw new Error('a worker returned results that do not match its task');
    return results as ArrayLike<unknown>[];
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

/**
 * Compact tokens as one buffer of their bytes (latin1: a compact JWS is ASCII, and a token that is
 * not fails its signature either way) and, per token, where it starts, where its signature starts
 * and where it ends. Copying the text into bytes costs the event loop well under a microsecond per
 * token; a cloned string array is copied twice (into the message, out of it) and then once more
 * into a Buffer by the worker.
 */
function packCompacts(compacts: readonly string[]): { bytes: ArrayBuffer; bounds: Uint32Array } {
  let total = 0;
  for (const compact of compacts) total += compact.length;
  const bytes = new ArrayBuffer(total);
  const buffer = Buffer.from(bytes);
  const bounds = new Uint32Array(compacts.length * 3);
  let at = 0;
  compacts.forEach((compact, i) => {
    const end = at + buffer.write(compact, at, 'latin1');
    const dot = compact.lastIndexOf('.');
    bounds[3 * i] = at;
    // No dot: an empty signature at the end, which does not verify.
    bounds[3 * i + 1] = dot < 0 ? end : at + dot;
    bounds[3 * i + 2] = end;
    at = end;
  });
  return { bytes, bounds };
}

/** {@link CryptoPool.verifyCompacts} in the calling thread. */
function verifyCompactsNow(key: KeyObject, digest: string | null, compacts: readonly string[]): Uint8Array {
  const verdicts = new Uint8Array(compacts.length);
  compacts.forEach((compact, i) => {
    const dot = compact.lastIndexOf('.');
    if (dot < 0) return;
    const check = { key, digest, signingInput: compact.slice(0, dot), signatureB64: compact.slice(dot + 1) };
    verdicts[i] = verifySignatureNow(check) ? 1 : 0;
  });
  return verdicts;
}
