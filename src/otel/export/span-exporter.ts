import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { Attributes } from '@opentelemetry/api';
import { ATTR, EVENT, GEN_AI_CONTENT_KEYS } from '../../base/conventions.js';
import type { EctError } from '../../base/errors.js';
import { CryptoPool } from '../../token/crypto-pool.js';
import type { TokenRef } from '../processor/token-ref.js';
import type { TokenLookup } from '../processor/token-registry.js';
import type { VerdictLookup } from '../propagation/incoming-verdicts.js';
import type { EctReadableSpan } from '../span-types.js';
import { EctStats } from '../stats.js';

/** The exporter interface both SDK lines share, structurally. */
export interface SpanExporterLike<S> {
  export(spans: S[], resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/** Options of {@link EctSpanExporter}. */
export interface EctSpanExporterOptions {
  /** Leave GenAI content attributes (already hashed into the token) out of exported spans. Default false. */
  dropHashedContent?: boolean;
  /** Where failures are counted; share the processor's. Default a new one. */
  stats?: EctStats;
  /** Where tokens not yet signed at export are signed. Default in the exporting thread. */
  pool?: CryptoPool;
  /** Verdicts on incoming tokens that came after their span ended (`EctSpanProcessor.verdicts`). */
  verdicts?: VerdictLookup;
}

// Spans tagged per turn of the event loop: at most ~32 signatures (~0.7 ms) between yields.
const SLICE = 32;

/**
 * Wraps any span exporter: signs the batch's tokens that are not signed yet (off the request path,
 * where `BatchSpanProcessor` calls it) and exports each span with its compact token as `ect.token`.
 * A token that cannot be signed leaves the span without `ect.token` (counted), never fails the batch.
 *
 * @example new BatchSpanProcessor(new EctSpanExporter(new OTLPTraceExporter(), processor.tokens, { stats: processor.stats }))
 */
export class EctSpanExporter<S extends EctReadableSpan> implements SpanExporterLike<S> {
  readonly #inner: SpanExporterLike<S>;
  readonly #tokens: TokenLookup;
  readonly #pool: CryptoPool;
  readonly #verdicts: VerdictLookup | undefined;
  readonly #stats: EctStats;
  readonly #dropContent: boolean;

  constructor(inner: SpanExporterLike<S>, tokens: TokenLookup, options: EctSpanExporterOptions = {}) {
    this.#inner = inner;
    this.#tokens = tokens;
    this.#stats = options.stats ?? new EctStats();
    this.#pool = options.pool ?? new CryptoPool({ threads: 0 });
    this.#verdicts = options.verdicts;
    this.#dropContent = options.dropHashedContent ?? false;
  }

  export(spans: S[], resultCallback: (result: ExportResult) => void): void {
    // BatchSpanProcessor may call export from inside the `end()` of the span that filled its batch,
    // on the application's request path. Signing the batch's unsigned tokens there would stall that
    // request (512 × ~20 µs), so tagging starts on a later turn and yields between slices.
    const tagged: S[] = new Array<S>(spans.length);
    // Tokens still unsigned (the pipeline had not reached them) are signed in the crypto pool.
    const signing: Promise<void>[] = [];
    let next = 0;
    const step = () => {
      try {
        const end = Math.min(spans.length, next + SLICE);
        for (; next < end; next++) {
          const span = this.#withToken(spans[next]!, next);
          if (span instanceof Promise) {
            signing.push(
              span.then((done) => {
                tagged[done.index] = done.span;
              }),
            );
          } else {
            tagged[next] = span;
          }
        }
        if (next < spans.length) {
          setImmediate(step);
          return;
        }
      } catch (error) {
        this.#stats.fail('hooks.failed', error);
        for (; next < spans.length; next++) tagged[next] = spans[next]!;
      }
      if (signing.length === 0) this.#exportTagged(spans.length, tagged, resultCallback);
      else void Promise.all(signing).then(() => this.#exportTagged(spans.length, tagged, resultCallback));
    };
    setImmediate(step);
  }

  #exportTagged(count: number, tagged: S[], resultCallback: (result: ExportResult) => void): void {
    try {
      // A failed export (backend down, queue full downstream) is counted as dropped spans.
      this.#inner.export(tagged, (result) => {
        if (result.code !== ExportResultCode.SUCCESS)
          this.#stats.fail('spans.export_failed', result.error ?? new Error('export failed'), count);
        resultCallback(result);
      });
    } catch (error) {
      this.#stats.fail('tokens.export_dropped', error, count);
      resultCallback({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }

  #withToken(span: S, index = 0): S | Promise<{ index: number; span: S }> {
    const context = span.spanContext();
    const late = this.#verdicts?.lateFailures(context);
    const compact = this.#compactOf(span, this.#tokens.tokenFor(context));
    if (compact instanceof Promise || late instanceof Promise) {
      return Promise.all([compact, late]).then(([token, failures]) => ({
        index,
        span: this.#view(span, token, failures),
      }));
    }
    return this.#view(span, compact, late);
  }

  /** The span's compact token: now, or from the pool when it is not signed yet; undefined if it has none. */
  #compactOf(span: S, token: TokenRef | undefined): string | Promise<string | undefined> | undefined {
    if (token === undefined) {
      // The span had a token (`ect.pred` is written with it) that is no longer held: the exporter
      // lagged more than the processor's maxKnownTokens spans behind.
      if (span.attributes[ATTR.pred] !== undefined) {
        this.#stats.fail(
          'tokens.export_dropped',
          new Error('span exported after its token left the recent tokens (raise maxKnownTokens)'),
        );
      }
      return undefined;
    }
    if (!token.signed && this.#pool.offThread) {
      return this.#pool.sign(token).catch((error: unknown) => {
        this.#stats.fail('tokens.sign_failed', error);
        return undefined;
      });
    }
    try {
      return token.compact();
    } catch (error) {
      this.#stats.fail('tokens.sign_failed', error);
      return undefined;
    }
  }

  /**
   * A view of the ended span with its token as `ect.token` and the verdict on its incoming tokens
   * if it came after the span ended; every other member reads through.
   */
  #view(span: S, compact: string | undefined, failures: readonly EctError[] | undefined): S {
    if (compact === undefined && failures === undefined && !this.#dropContent) return span;
    const attributes: Attributes = { ...span.attributes };
    if (compact !== undefined) attributes[ATTR.token] = compact;
    if (this.#dropContent) for (const key of GEN_AI_CONTENT_KEYS) delete attributes[key];
    let events: unknown;
    if (failures !== undefined && failures.length > 0) {
      attributes[ATTR.incomingRejected] = failures.length;
      const time = span.endTime;
      events = [
        ...((span as { events?: unknown[] }).events ?? []),
        ...failures.map((failure) => ({
          name: EVENT.verificationFailed,
          attributes: { [ATTR.errorCode]: failure.code, [ATTR.errorMessage]: failure.message },
          time,
          droppedAttributesCount: 0,
        })),
      ];
    }
    return new Proxy(span, {
      get: (target, property, receiver) =>
        property === 'attributes'
          ? attributes
          : property === 'events' && events !== undefined
            ? events
            : Reflect.get(target, property, receiver),
    });
  }
}
