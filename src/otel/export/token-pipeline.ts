import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { logs, SeverityNumber, type Logger, type LoggerProvider } from '@opentelemetry/api-logs';
import type { IssuedToken, TokenSink } from '../processor.js';
import { ATTR } from '../processor.js';
import { EctStats } from '../stats.js';

/** A token signed by the pipeline, as handed to extra sinks (the ledger, a file). */
export interface SignedToken {
  readonly compact: string;
  readonly jti: string;
  readonly issued: IssuedToken;
}

/** Options of {@link TokenPipeline}. */
export interface TokenPipelineOptions {
  /** Where token log records go. Default: the global logger provider at flush time. */
  loggerProvider?: LoggerProvider;
  /** Extra consumers of signed tokens, called in issue order; a throwing one is a counted drop. */
  sinks?: readonly ((token: SignedToken) => void)[];
  /** Tokens waiting at most; beyond, new ones are dropped and counted. Default 65,536. */
  maxQueueSize?: number;
  /** Tokens signed per turn of the event loop. Default 256. */
  maxBatchSize?: number;
  /** Delay before a batch is signed, ms. Default 100. */
  scheduledDelayMs?: number;
  stats?: EctStats;
}

const SCOPE = 'otel-ect';

/**
 * Signs issued tokens off the request path, in batches and in issue order, then emits one OTLP log
 * record per token (body = compact token; trace and span ids of its span; attributes `ect.jti`,
 * `ect.pred`, `ect.exec_act`) and feeds any extra sinks. A token that cannot be signed, or a full
 * queue, is a counted, logged drop; nothing reaches the application.
 *
 * @example const pipeline = new TokenPipeline({ loggerProvider });
 */
export class TokenPipeline implements TokenSink {
  readonly stats: EctStats;
  readonly #loggerProvider: LoggerProvider | undefined;
  readonly #sinks: readonly ((token: SignedToken) => void)[];
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #delay: number;
  #queue: IssuedToken[] = [];
  #timer: NodeJS.Timeout | undefined;
  #logger: Logger | undefined;
  #stopped = false;

  constructor(options: TokenPipelineOptions = {}) {
    this.#loggerProvider = options.loggerProvider;
    this.#sinks = options.sinks ?? [];
    this.#maxQueue = options.maxQueueSize ?? 65_536;
    this.#maxBatch = options.maxBatchSize ?? 256;
    this.#delay = options.scheduledDelayMs ?? 100;
    this.stats = options.stats ?? new EctStats();
  }

  /** Tokens waiting to be signed. */
  get pending(): number {
    return this.#queue.length;
  }

  push(token: IssuedToken): void {
    if (this.#stopped || this.#queue.length >= this.#maxQueue) {
      this.stats.fail('tokens.export_dropped', new Error(this.#stopped ? 'pipeline is shut down' : `queue full (${this.#maxQueue})`));
      return;
    }
    this.#queue.push(token);
    this.#schedule();
  }

  async forceFlush(): Promise<void> {
    while (this.#queue.length > 0) {
      this.#signBatch();
      // Yield between batches so a large backlog does not hold the event loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#signBatch();
      if (this.#queue.length > 0) this.#schedule();
    }, this.#queue.length >= this.#maxBatch ? 0 : this.#delay);
    // Pending tokens must not keep a finished process alive; shutdown flushes them.
    this.#timer.unref();
  }

  #signBatch(): void {
    const batch = this.#queue.splice(0, this.#maxBatch);
    for (const issued of batch) {
      let compact: string;
      try {
        compact = issued.pending.compact();
      } catch (error) {
        this.stats.fail('tokens.sign_failed', error);
        continue;
      }
      this.stats.add('tokens.signed');
      this.#emit(issued, compact);
      for (const sink of this.#sinks) {
        try {
          sink({ compact, jti: issued.pending.jti, issued });
        } catch (error) {
          this.stats.fail('tokens.export_dropped', error);
        }
      }
    }
  }

  #emit(issued: IssuedToken, compact: string): void {
    try {
      this.#logger ??= (this.#loggerProvider ?? logs.getLoggerProvider()).getLogger(SCOPE);
      const { claims } = issued.pending;
      this.#logger.emit({
        eventName: 'ect.token',
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        body: compact,
        attributes: { [ATTR.jti]: claims.jti, [ATTR.pred]: [...claims.pred], 'ect.exec_act': claims.exec_act },
        context: trace.setSpanContext(ROOT_CONTEXT, issued.spanContext),
      });
      this.stats.add('tokens.exported');
    } catch (error) {
      this.stats.fail('tokens.export_dropped', error);
    }
  }
}
