import { isEctError } from '../../base/errors.js';
import type { RejectedToken, Spool } from '../spool.js';
import type { ForwardOutcome, LedgerTarget, RetryHint } from './target.js';

/** What a {@link LedgerForwarder} reports, for counters and logs. */
export interface ForwarderEvents {
  /** Tokens the ledger took (`duplicate`: already there). */
  forwarded?(appended: number, duplicates: number): void;
  /** Tokens the ledger refused for good; they are kept in the spool's `rejected.jsonl`. */
  rejected?(tokens: readonly RejectedToken[]): void;
  /** A batch that could not be delivered and will be retried. */
  retrying?(error: unknown, delayMs: number): void;
}

/** Options of {@link LedgerForwarder}. */
export interface LedgerForwarderOptions {
  /** Tokens per batch at most. Default 256. */
  maxBatch?: number;
  /** Bytes per batch, about. Default 512 KiB (a ledger server takes 1 MiB bodies by default). */
  maxBatchBytes?: number;
  /** First retry delay, ms; doubled per failure up to `maxBackoffMs`, with jitter. Default 100. */
  minBackoffMs?: number;
  /** Default 5,000: a ledger back after an outage is caught up within seconds. */
  maxBackoffMs?: number;
  events?: ForwarderEvents;
}

/**
 * Moves tokens from a {@link Spool} to a ledger, oldest first, one batch at a time so the ledger
 * sees them in issue order. The spool's cursor moves only after the ledger answered for a batch;
 * a failure is retried with exponential back-off (and the ledger's `Retry-After`) for as long as
 * it takes. It never throws: everything is reported through `events`.
 *
 * @example
 * const forwarder = new LedgerForwarder(spool, new HttpLedgerTarget(url));
 * forwarder.start();
 * await spool.append(tokens); forwarder.notify();
 * await forwarder.drain(5_000); await forwarder.stop();
 */
export class LedgerForwarder {
  readonly #spool: Spool;
  readonly #target: LedgerTarget;
  readonly #events: ForwarderEvents;
  #maxBatch: number;
  readonly #maxBatchBytes: number;
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #idle: (() => void)[] = [];
  #empty = false;
  /** Set by {@link notify}: the spool may hold more than the last read found. */
  #notified = false;
  #failures = 0;
  #outage = false;

  constructor(spool: Spool, target: LedgerTarget, options: LedgerForwarderOptions = {}) {
    this.#spool = spool;
    this.#target = target;
    this.#events = options.events ?? {};
    this.#maxBatch = options.maxBatch ?? 256;
    this.#maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
    this.#minBackoff = options.minBackoffMs ?? 100;
    this.#maxBackoff = options.maxBackoffMs ?? 5_000;
  }

  /** True while the last attempt failed (the ledger is unreachable or refusing): a flush need not wait. */
  get failing(): boolean {
    return this.#outage;
  }

  /** Starts forwarding what the spool holds, and whatever is appended after a {@link notify}. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Says the spool has new tokens. */
  notify(): void {
    this.#empty = false;
    this.#notified = true;
    this.#wake?.();
  }

  /**
   * Resolves `true` once everything spooled so far is in the ledger, `false` if `timeoutMs` passes
   * first (the rest stays spooled, for later or for the next process).
   *
   * @example if (!(await forwarder.drain(5_000))) console.warn('ledger behind');
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.#running === undefined || this.#abort.signal.aborted) return this.#spool.pendingBytes === 0;
    if (this.#empty && this.#spool.pendingBytes === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return drained;
  }

  /** Stops after the batch under way (abandoning its wait or retry); closes the target. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#running;
    await this.#target.close().catch(() => undefined);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let delay = 0;
      try {
        this.#notified = false;
        const batch = await this.#spool.read(this.#maxBatch, this.#maxBatchBytes);
        if (batch.tokens.length === 0) {
          if (this.#notified) continue; // appended while we read
          this.#empty = true;
          for (const resolve of this.#idle.splice(0)) resolve();
          await this.#sleep(undefined);
          continue;
        }
        const outcomes = await this.#target.append(batch.tokens, signal);
        await this.#settle(batch.tokens, outcomes);
        await this.#spool.commit(batch.end);
        this.#failures = 0;
        this.#outage = false;
      } catch (error) {
        if (signal.aborted) break;
        if ((error as { tooLarge?: boolean }).tooLarge && this.#maxBatch > 1) {
          this.#maxBatch = Math.max(1, this.#maxBatch >> 1);
          continue;
        }
        this.#failures++;
        this.#outage = !isEctError(error, 'ECT_LEDGER_LOCKED');
        const backoff = Math.min(this.#maxBackoff, this.#minBackoff * 2 ** Math.min(this.#failures - 1, 16));
        const hint = (error as RetryHint).retryAfterMs;
        delay = hint !== undefined ? Math.min(hint, this.#maxBackoff) : backoff * (0.5 + Math.random() / 2);
        this.#events.retrying?.(error, delay);
      }
      if (delay > 0) await this.#sleep(delay);
    }
  }

  async #settle(tokens: readonly string[], outcomes: readonly ForwardOutcome[]): Promise<void> {
    let appended = 0;
    let duplicates = 0;
    const rejected: RejectedToken[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'appended') appended++;
      else if (outcome.status === 'duplicate') duplicates++;
      else rejected.push({ token: tokens[i] as string, code: outcome.code, message: outcome.message });
    });
    if (rejected.length > 0) {
      await this.#spool.reject(rejected);
      this.#events.rejected?.(rejected);
    }
    this.#events.forwarded?.(appended, duplicates);
  }

  /** Waits for a notify, a stop, or `ms` (none: until notified). Keeps no process alive. */
  #sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const signal = this.#abort.signal;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = ms === undefined ? done : () => undefined;
      if (signal.aborted) {
        done();
        return;
      }
      signal.addEventListener('abort', done, { once: true });
      if (ms !== undefined) {
        timer = setTimeout(done, ms);
        timer.unref();
      }
    });
  }
}
