import { EctLedgerError, isEctError } from '../../base/errors.js';
import { claimsOf } from '../entry.js';
import { FileLedger } from '../file-store.js';
import type { ForwardOutcome, LedgerTarget } from './target.js';

/** Options of {@link FileLedgerTarget}. */
export interface FileLedgerTargetOptions {
  /** How long the writer lock is kept without a batch, ms, before other processes get a turn. Default 1,000. */
  holdMs?: number;
}

/**
 * Forwards into a ledger directory (the embedded {@link FileLedger}). Several services on one
 * machine may share it: the ledger has one writer at a time, so each takes the lock for its
 * batches and lets it go after `holdMs` without one; a lock held by another process is a
 * retryable failure (short delay). Tokens already in the ledger (a batch sent again after a
 * crash) are answered `duplicate`; another token under a stored `(wid, jti)` is `rejected`.
 *
 * Appends leave the event loop free (the fsyncs run on libuv's threads). Opening the ledger reads
 * its jti index synchronously (about 1.3 s at a million entries) the first time only: at each later
 * turn of the lock the index of the turn before is taken over, and only the entries the other
 * services appended meanwhile are read. Past a few services on one machine, point `ECT_LEDGER` at
 * a ledger server instead.
 *
 * @example const target = new FileLedgerTarget('.ect/ledger');
 */
export class FileLedgerTarget implements LedgerTarget {
  readonly description: string;
  readonly #dir: string;
  readonly #holdMs: number;
  #ledger: FileLedger | undefined;
  /** The ledger as this target last held it, closed. */
  #previous: FileLedger | undefined;
  #idle: NodeJS.Timeout | undefined;

  constructor(dir: string, options: FileLedgerTargetOptions = {}) {
    this.#dir = dir;
    this.description = dir;
    this.#holdMs = options.holdMs ?? 1_000;
  }

  async append(tokens: readonly string[], signal: AbortSignal): Promise<ForwardOutcome[]> {
    signal.throwIfAborted();
    clearTimeout(this.#idle);
    const ledger = this.#open();
    try {
      const outcomes: (ForwardOutcome | undefined)[] = [];
      const fresh: { position: number; token: string }[] = [];
      for (const [position, token] of tokens.entries()) {
        const known = this.#known(ledger, token);
        if (known !== undefined) outcomes[position] = known;
        else fresh.push({ position, token });
      }
      await this.#appendEach(ledger, fresh, outcomes);
      return outcomes as ForwardOutcome[];
    } catch (error) {
      // A ledger that failed mid-append recovers on the next open.
      this.#release();
      throw error;
    } finally {
      if (this.#ledger !== undefined) {
        this.#idle = setTimeout(() => this.#release(), this.#holdMs);
        this.#idle.unref();
      }
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#idle);
    this.#release();
    this.#previous = undefined;
  }

  #open(): FileLedger {
    if (this.#ledger !== undefined) return this.#ledger;
    try {
      this.#ledger = FileLedger.openSync({
        dir: this.#dir,
        ...(this.#previous === undefined ? {} : { resume: this.#previous }),
      });
      this.#previous = undefined;
    } catch (error) {
      if (isEctError(error, 'ECT_LEDGER_LOCKED')) {
        // Another service's turn: come back soon, not after the outage back-off.
        throw Object.assign(new EctLedgerError('ECT_LEDGER_LOCKED', error.message), {
          retryAfterMs: 20 + Math.random() * 80,
        });
      }
      throw error;
    }
    return this.#ledger;
  }

  #release(): void {
    this.#ledger?.close();
    // Kept closed: the next turn's open takes its jti index over (see FileLedgerOptions.resume).
    this.#previous = this.#ledger ?? this.#previous;
    this.#ledger = undefined;
  }

  /** `duplicate` when this very token is stored, `rejected` when another one holds its `(wid, jti)`. */
  #known(ledger: FileLedger, token: string): ForwardOutcome | undefined {
    let claims: { jti: string; wid?: string };
    try {
      claims = claimsOf(token);
    } catch (error) {
      return { status: 'rejected', code: 'ECT_LEDGER_ENTRY_INVALID', message: String(error) };
    }
    for (const index of ledger.indexesOf(claims.jti)) {
      const stored = ledger.entry(index);
      if (stored === token) return { status: 'duplicate' };
      if (claimsOf(stored).wid === claims.wid) {
        return {
          status: 'rejected',
          code: 'ECT_LEDGER_DUPLICATE',
          message: `jti ${claims.jti} is already in the ledger with another token (index ${index})`,
        };
      }
    }
    return undefined;
  }

  /** One batch; if the batch itself repeats a `(wid, jti)`, token by token so only the repeat is refused. */
  async #appendEach(
    ledger: FileLedger,
    fresh: readonly { position: number; token: string }[],
    outcomes: (ForwardOutcome | undefined)[],
  ): Promise<void> {
    if (fresh.length === 0) return;
    try {
      const { indexes } = await ledger.append(fresh.map((f) => f.token));
      fresh.forEach((f, k) => {
        outcomes[f.position] = { status: 'appended', index: indexes[k] as number };
      });
      return;
    } catch (error) {
      if (!isEctError(error, 'ECT_LEDGER_DUPLICATE') && !isEctError(error, 'ECT_LEDGER_ENTRY_INVALID')) throw error;
    }
    for (const f of fresh) {
      try {
        const { indexes } = await ledger.append([f.token]);
        outcomes[f.position] = { status: 'appended', index: indexes[0] as number };
      } catch (error) {
        if (!isEctError(error)) throw error;
        outcomes[f.position] = { status: 'rejected', code: error.code, message: error.message };
      }
    }
  }
}
