import { createRequire } from 'node:module';
import * as api from '@opentelemetry/api';
import { ROOT_CONTEXT, trace, type Attributes, type Context } from '@opentelemetry/api';
import type { IssuedToken, TokenSink } from '../processor/token-issuer.js';
import { ATTR, INSTRUMENTATION_SCOPE, TOKEN_LOG_EVENT } from '../../base/conventions.js';
import { CryptoPool } from '../../token/crypto-pool.js';
import type { VerdictLookup } from '../propagation/incoming-verdicts.js';
import { EctStats } from '../stats.js';

/** The log record this pipeline emits (the shape of `LogRecord` in api-logs 0.2xx and api 1.10). */
export interface EctLogRecord {
  eventName: string;
  severityNumber: number;
  severityText: string;
  body: string;
  attributes: Attributes;
  context: Context;
}

/** A logger, structurally: SDK 2.x (`@opentelemetry/api-logs`) and 3.x (`@opentelemetry/api` logs) alike. */
export interface EctLogger {
  emit(record: EctLogRecord): void;
}

/** A logger provider, structurally. */
export interface EctLoggerProvider {
  getLogger(name: string, version?: string): EctLogger;
}

// SeverityNumber.INFO in both API lines.
const SEVERITY_INFO = 9;
/** How long a flush waits for verdicts on incoming tokens still being checked. */
const VERDICT_WAIT_MS = 1000;

/**
 * The global logger provider: `@opentelemetry/api` ≥ 1.10 carries the logs API itself; before
 * that it lives in `@opentelemetry/api-logs` (an optional peer, loaded synchronously so no token
 * issued at start-up waits for it). Looked up per call: the SDK may register it after we start.
 */
function globalLoggerProvider(): EctLoggerProvider | undefined {
  const inApi = (api as { logs?: { getLoggerProvider(): EctLoggerProvider } }).logs;
  if (inApi !== undefined) return inApi.getLoggerProvider();
  try {
    const apiLogs = createRequire(import.meta.url)('@opentelemetry/api-logs') as {
      logs: { getLoggerProvider(): EctLoggerProvider };
    };
    return apiLogs.logs.getLoggerProvider();
  } catch {
    return undefined;
  }
}

/** A token signed by the pipeline, as handed to extra sinks (the ledger, a file). */
export interface SignedToken {
  readonly compact: string;
  readonly jti: string;
  readonly issued: IssuedToken;
}

/**
 * A consumer of signed tokens besides the log records (the ledger sink): `push` is called in issue
 * order and must not throw or block (a throw is a counted drop); the pipeline's flush and shutdown
 * wait for the consumer's, after handing it everything.
 */
export interface SignedTokenConsumer {
  push(token: SignedToken): void;
  forceFlush?(): Promise<void>;
  shutdown?(): Promise<void>;
}

/** Options of {@link TokenPipeline}. */
export interface TokenPipelineOptions {
  /** Where token log records go. Default: the global logger provider (api-logs or api ≥ 1.10). */
  loggerProvider?: EctLoggerProvider;
  /** Extra consumers of signed tokens, fed in issue order; a throwing one is a counted drop. */
  sinks?: readonly SignedTokenConsumer[];
  /** Tokens waiting at most; beyond, new ones are dropped and counted. Default 65,536. */
  maxQueueSize?: number;
  /**
   * Where tokens are signed: off the event loop in a pool's worker threads, or (`threads: 0`, the
   * default) in this thread. The pipeline closes it when it shuts down.
   */
  pool?: CryptoPool;
  /**
   * Verdicts on incoming tokens that came after their span ended (`EctSpanProcessor.verdicts`): a
   * server span's token log record then carries `ect.incoming.rejected`. A batch and a flush wait
   * for verdicts still pending; a shutdown does not.
   */
  verdicts?: VerdictLookup;
  /** Tokens signed per batch (each ~20–40 µs of CPU for ES256). Default 64. */
  maxBatchSize?: number;
  /** Delay before a batch is signed, ms. Default 100. */
  scheduledDelayMs?: number;
  stats?: EctStats;
}

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
  readonly #loggerProvider: EctLoggerProvider | undefined;
  readonly #sinks: readonly SignedTokenConsumer[];
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #delay: number;
  #queue: IssuedToken[] = [];
  #timer: NodeJS.Timeout | undefined;
  #logger: EctLogger | undefined;
  readonly #pool: CryptoPool;
  readonly #verdicts: VerdictLookup | undefined;
  /** The batch being signed in the pool, if any. */
  #inFlight: IssuedToken[] | undefined;
  #stopped = false;

  constructor(options: TokenPipelineOptions = {}) {
    this.#loggerProvider = options.loggerProvider;
    this.#sinks = options.sinks ?? [];
    this.#maxQueue = options.maxQueueSize ?? 65_536;
    this.#maxBatch = options.maxBatchSize ?? 64;
    this.#delay = options.scheduledDelayMs ?? 100;
    this.stats = options.stats ?? new EctStats();
    this.#pool = options.pool ?? new CryptoPool({ threads: 0 });
    this.#verdicts = options.verdicts;
  }

  /** Tokens waiting to be signed. */
  get pending(): number {
    return this.#queue.length;
  }

  push(token: IssuedToken): void {
    if (this.#stopped || this.#queue.length >= this.#maxQueue) {
      this.stats.fail(
        'tokens.export_dropped',
        new Error(this.#stopped ? 'pipeline is shut down' : `queue full (${this.#maxQueue})`),
      );
      return;
    }
    this.#queue.push(token);
    this.#schedule();
  }

  /**
   * Signs and emits everything pending, in issue order, in this thread. Verdicts on incoming tokens
   * still being checked are waited for (at most `VERDICT_WAIT_MS`) so the records carry them.
   */
  async forceFlush(): Promise<void> {
    const pending = this.#pendingVerdicts([...(this.#inFlight ?? []), ...this.#queue]);
    if (pending.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, VERDICT_WAIT_MS);
      });
      await Promise.race([Promise.all(pending), timeout]);
      clearTimeout(timer);
    }
    this.#flushNow();
    await this.#settleSinks('forceFlush');
  }

  /**
   * Flushes without waiting for anything: the SDK shuts the log pipeline down beside the span
   * processors, and a record emitted after that yield would be dropped.
   */
  async shutdown(): Promise<void> {
    this.#flushNow();
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await Promise.all([this.#pool.close(), this.#settleSinks('shutdown')]);
  }

  /** Runs the sinks' flush or shutdown; a failing one is counted, never thrown. */
  async #settleSinks(step: 'forceFlush' | 'shutdown'): Promise<void> {
    await Promise.all(
      this.#sinks.map((sink) =>
        Promise.resolve()
          .then(() => sink[step]?.())
          .catch((error: unknown) => this.stats.fail('hooks.failed', error)),
      ),
    );
  }

  #flushNow(): void {
    const batch = this.#queue.splice(0);
    if (this.#inFlight !== undefined) batch.unshift(...this.#inFlight);
    this.#inFlight = undefined;
    const signed = batch.map((issued) => {
      try {
        return issued.pending.compact();
      } catch (error) {
        this.stats.fail('tokens.sign_failed', error);
        return undefined;
      }
    });
    this.#deliver(batch, signed);
  }

  #pendingVerdicts(batch: readonly IssuedToken[]): Promise<unknown>[] {
    const verdicts = this.#verdicts;
    if (verdicts === undefined) return [];
    const pending: Promise<unknown>[] = [];
    for (const issued of batch) {
      const late = issued.spanContext === undefined ? undefined : verdicts.lateFailures(issued.spanContext);
      if (late instanceof Promise) pending.push(late);
    }
    return pending;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#signBatch().catch((error: unknown) => this.stats.fail('hooks.failed', error));
      },
      this.#queue.length >= this.#maxBatch ? 0 : this.#delay,
    );
    // Pending tokens must not keep a finished process alive; shutdown flushes them.
    this.#timer.unref();
  }

  /** Signs the next batch in the pool; the batch after it is scheduled when it is delivered. */
  async #signBatch(): Promise<void> {
    if (this.#inFlight !== undefined) return;
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    this.#inFlight = batch;
    let signed: (string | undefined)[] = [];
    try {
      signed = await Promise.all(
        batch.map((issued) =>
          this.#pool.sign(issued.pending).catch((error: unknown) => {
            this.stats.fail('tokens.sign_failed', error);
            return undefined;
          }),
        ),
      );
      const pending = this.#pendingVerdicts(batch);
      if (pending.length > 0) await Promise.all(pending);
    } catch (error) {
      this.stats.fail('tokens.export_dropped', error, batch.length);
    } finally {
      // A flush meanwhile delivered this batch itself; else deliver what was signed, and go on.
      if (this.#inFlight === batch) {
        this.#inFlight = undefined;
        this.#deliver(batch, signed);
        if (this.#queue.length > 0) this.#schedule();
      }
    }
  }

  /** Emits the log record and feeds the sinks for each signed token of `batch`, in order. */
  #deliver(batch: readonly IssuedToken[], signed: readonly (string | undefined)[]): void {
    for (let i = 0; i < batch.length; i++) {
      const issued = batch[i]!;
      const compact = signed[i];
      if (compact === undefined) continue;
      this.stats.add('tokens.signed');
      this.#emit(issued, compact);
      for (const sink of this.#sinks) {
        try {
          sink.push({ compact, jti: issued.pending.jti, issued });
        } catch (error) {
          this.stats.fail('tokens.export_dropped', error);
        }
      }
    }
  }

  #attributesOf(issued: IssuedToken): Attributes {
    const { claims } = issued.pending;
    const attributes: Attributes = {
      [ATTR.jti]: claims.jti,
      [ATTR.pred]: [...claims.pred],
      [ATTR.execAct]: claims.exec_act,
    };
    const late = issued.spanContext === undefined ? undefined : this.#verdicts?.lateFailures(issued.spanContext);
    if (Array.isArray(late) && late.length > 0) attributes[ATTR.incomingRejected] = late.length;
    return attributes;
  }

  #emit(issued: IssuedToken, compact: string): void {
    try {
      if (this.#logger === undefined) {
        const provider = this.#loggerProvider ?? globalLoggerProvider();
        if (provider === undefined)
          throw new Error('no logger provider: install @opentelemetry/api-logs or pass loggerProvider');
        this.#logger = provider.getLogger(INSTRUMENTATION_SCOPE);
      }
      this.#logger.emit({
        eventName: TOKEN_LOG_EVENT,
        severityNumber: SEVERITY_INFO,
        severityText: 'INFO',
        body: compact,
        attributes: this.#attributesOf(issued),
        context:
          issued.spanContext === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, issued.spanContext),
      });
      this.stats.add('tokens.exported');
    } catch (error) {
      this.stats.fail('tokens.export_dropped', error);
    }
  }
}
