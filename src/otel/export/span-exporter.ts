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
import type { UnsettledResources } from './unsettled-resources.js';

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
  /**
   * Resources of started spans still waiting for asynchronous attributes
   * (`EctSpanProcessor.resources`): a shutdown waits for them, see {@link UnsettledResources}.
   */
  resources?: UnsettledResources;
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
  readonly #resources: UnsettledResources | undefined;
  /**
   * Batches taken from the SDK and not yet handed to the inner exporter (being tagged or signed),
   * each settled once it is handed over.
   */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(inner: SpanExporterLike<S>, tokens: TokenLookup, options: EctSpanExporterOptions = {}) {
    this.#inner = inner;
    this.#tokens = tokens;
    this.#stats = options.stats ?? new EctStats();
    this.#pool = options.pool ?? new CryptoPool({ threads: 0 });
    this.#verdicts = options.verdicts;
    this.#dropContent = options.dropHashedContent ?? false;
    this.#resources = options.resources;
  }

  export(spans: S[], resultCallback: (result: ExportResult) => void): void {
    let handedOver!: () => void;
    const inFlight = new Promise<void>((resolve) => {
      handedOver = resolve;
    });
    this.#inFlight.add(inFlight);
    this.#tagThenExport(spans, (count, tagged) => {
      this.#inFlight.delete(inFlight);
      handedOver();
      this.#exportTagged(count, tagged, resultCallback);
    });
  }

  #tagThenExport(spans: S[], exportTagged: (count: number, tagged: S[]) => void): void {
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
      if (signing.length === 0) exportTagged(spans.length, tagged);
      else {
        // Every promise here settles (failures are counted and leave the span untagged); should one
        // not, the batch still goes out as far as it was tagged, so the SDK is always answered.
        Promise.all(signing)
          .catch((error: unknown) => this.#stats.fail('hooks.failed', error))
          .finally(() => {
            for (let i = 0; i < spans.length; i++) tagged[i] ??= spans[i]!;
            exportTagged(spans.length, tagged);
          });
      }
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

  /**
   * Hands every batch still on its way to the inner exporter over to it, then shuts it down.
   * `BatchSpanProcessor.shutdown` flushes only the spans still in its queue, then shuts its
   * exporter down: a batch it had already taken is not waited for. Such a batch may be waiting for
   * the resource's asynchronous attributes (before the SDK calls `export`) or being tagged here
   * (signing leftover tokens: a crypto pool round trip); shut down under it, an OTLP JSON file
   * exporter refuses it and the batch is lost. So this waits for both first.
   */
  async shutdown(): Promise<void> {
    await this.#handedOver();
    await this.#inner.shutdown();
  }

  /** Hands every batch still on its way over to the inner exporter, then flushes it. */
  async forceFlush(): Promise<void> {
    await this.#handedOver();
    await this.#inner.forceFlush?.();
  }

  /** Settles once every batch the SDK has taken so far is in the inner exporter's hands. */
  async #handedOver(): Promise<void> {
    if (this.#resources !== undefined) {
      await this.#resources.settled();
      // The SDK calls `export` for a batch that waited on the resource a few microtasks after it
      // settles: all of them have run by the next turn.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Each batch is handed over once tagged: its signatures always settle (a failure is counted
    // and leaves the span without `ect.token`).
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
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
