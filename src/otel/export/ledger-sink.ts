import { join } from 'node:path';
import { context, diag } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { EctLedgerError, isEctError } from '../../base/errors.js';
import { LedgerForwarder } from '../../ledger/forward/forwarder.js';
import type { LedgerTarget } from '../../ledger/forward/target.js';
import { Spool } from '../../ledger/spool.js';
import { fileSafe } from '../config.js';
import type { EctStats } from '../stats.js';
import type { SignedToken, SignedTokenConsumer } from './token-pipeline.js';

/** Options of {@link LedgerSink}. */
export interface LedgerSinkOptions {
  /** Where the tokens go: a ledger server or a ledger directory. */
  target: LedgerTarget;
  /** Folder of the spools (`$ECT_HOME/spool`); this service's is `{spoolRoot}/{service}`. */
  spoolRoot: string;
  serviceName: string;
  /** Bytes spooled at most while the ledger cannot be reached; past it tokens are dropped, counted. Default 256 MiB. */
  maxSpoolBytes?: number;
  /** How long a flush or shutdown waits for the ledger to catch up, ms. Default 2,000. */
  flushWaitMs?: number;
  stats: EctStats;
}

/** Spools of one service name at most, when several instances share a machine. */
const MAX_INSTANCES = 16;

/**
 * The bridge's ledger sink: each signed token goes to a durable local spool, in issue order, and a
 * forwarder moves it to the ledger from there, so a ledger outage or a restart during one leaves no
 * hole in the audit trail. Spooling is batched per turn of the event loop and never blocks it;
 * a token past the spool's bound, or a spool that cannot be opened, is a counted drop
 * (`ect.ledger.dropped`), never an exception in the application. The forwarder's own requests are
 * not traced.
 *
 * A restarted service takes its spool back (`{spoolRoot}/{service}`) and forwards what the last
 * run left; a second instance on the same machine uses `{service}.1`, and so on.
 *
 * @example const sink = new LedgerSink({ target: new HttpLedgerTarget(url), spoolRoot: '.ect/spool', serviceName: 'orders', stats });
 */
export class LedgerSink implements SignedTokenConsumer {
  readonly #stats: EctStats;
  readonly #flushWaitMs: number;
  readonly #spool: Spool | undefined;
  readonly #forwarder: LedgerForwarder | undefined;
  #buffer: string[] = [];
  #scheduled = false;
  /** The spool writes under way, chained so they land in issue order. */
  #writing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: LedgerSinkOptions) {
    this.#stats = options.stats;
    this.#flushWaitMs = options.flushWaitMs ?? 2_000;
    const spool = openSpool(options);
    if (spool === undefined) return;
    this.#spool = spool;
    const stats = options.stats;
    const target = options.target;
    // The forwarder's requests must not be traced: each would sign a token of its own, forever.
    // Suppressed per call, not once at start: the SDK registers its context manager after us.
    const untraced: LedgerTarget = {
      description: target.description,
      append: (tokens, signal) => context.with(suppressTracing(context.active()), () => target.append(tokens, signal)),
      close: () => target.close(),
    };
    this.#forwarder = new LedgerForwarder(spool, untraced, {
      events: {
        forwarded: (appended, duplicates) => stats.add('ledger.forwarded', appended + duplicates),
        rejected: (tokens) =>
          stats.fail(
            'ledger.rejected',
            new Error(`${tokens[0]?.code}: ${tokens[0]?.message} (kept in ${join(spool.dir, 'rejected.jsonl')})`),
            tokens.length,
          ),
        retrying: (error, delayMs) =>
          // A lock held by a neighbour is taking turns, not an outage.
          isEctError(error, 'ECT_LEDGER_LOCKED')
            ? undefined
            : stats.fail('ledger.retries', new Error(`${messageOf(error)}; retrying in ${Math.round(delayMs)} ms`)),
      },
    });
    this.#forwarder.start();
  }

  /** The spool directory in use, if one could be opened. */
  get spoolDir(): string | undefined {
    return this.#spool?.dir;
  }

  push(token: SignedToken): void {
    if (this.#spool === undefined || this.#stopped) {
      this.#stats.fail('ledger.dropped', new Error(this.#stopped ? 'ledger sink is shut down' : 'no spool'));
      return;
    }
    this.#buffer.push(token.compact);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#write();
    });
  }

  /** Spools what is buffered, then waits (at most `flushWaitMs`) for the ledger to have it all. */
  async forceFlush(): Promise<void> {
    await this.#write();
    await this.#forwarder?.drain(this.#forwarder.failing ? 0 : this.#flushWaitMs);
  }

  /** {@link forceFlush}, then stops forwarding; what the ledger did not take stays spooled for the next run. */
  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.#stopped = true;
    await this.#forwarder?.stop();
    await this.#spool?.close().catch((error: unknown) => diag.warn(`otel-ect: closing the spool: ${String(error)}`));
  }

  #write(): Promise<void> {
    const tokens = this.#buffer.splice(0);
    if (tokens.length === 0 || this.#spool === undefined) return this.#writing;
    const spool = this.#spool;
    this.#writing = this.#writing.then(async () => {
      try {
        const taken = await spool.append(tokens);
        this.#stats.add('ledger.spooled', taken);
        if (taken < tokens.length) {
          this.#stats.fail(
            'ledger.dropped',
            new EctLedgerError('ECT_LEDGER_SPOOL_FULL', `spool ${spool.dir} is full (the ledger is behind)`),
            tokens.length - taken,
          );
        }
        if (taken > 0) this.#forwarder?.notify();
      } catch (error) {
        this.#stats.fail('ledger.dropped', error, tokens.length);
      }
    });
    return this.#writing;
  }
}

/** This service's spool: `{root}/{service}`, else the first `{service}.N` no live process owns. */
function openSpool(options: LedgerSinkOptions): Spool | undefined {
  const base = join(options.spoolRoot, fileSafe(options.serviceName));
  let last: unknown;
  for (let n = 0; n < MAX_INSTANCES; n++) {
    try {
      return Spool.open({
        dir: n === 0 ? base : `${base}.${n}`,
        ...(options.maxSpoolBytes === undefined ? {} : { maxBytes: options.maxSpoolBytes }),
      });
    } catch (error) {
      last = error;
      if (!isEctError(error, 'ECT_LEDGER_LOCKED')) break;
    }
  }
  // Every token pushed from now on is a counted drop; say why once, loudly.
  diag.error(
    `otel-ect: no ledger spool under ${options.spoolRoot}, tokens will not reach the ledger: ${messageOf(last)}`,
  );
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
