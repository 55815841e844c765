import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { Attributes } from '@opentelemetry/api';
import { ATTR } from '../processor.js';
import type { EctSpanProcessor } from '../processor.js';
import type { EctReadableSpan } from '../span-types.js';
import type { EctStats } from '../stats.js';

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
}

const GEN_AI_CONTENT = ['gen_ai.tool.call.arguments', 'gen_ai.tool.call.result', 'gen_ai.input.messages', 'gen_ai.output.messages'];

/**
 * Wraps any span exporter: signs the batch's tokens that are not signed yet (off the request path,
 * where `BatchSpanProcessor` calls it) and exports each span with its compact token as `ect.token`.
 * A token that cannot be signed leaves the span without `ect.token` (counted), never fails the batch.
 *
 * @example new BatchSpanProcessor(new EctSpanExporter(new OTLPTraceExporter(), processor))
 */
export class EctSpanExporter<S extends EctReadableSpan> implements SpanExporterLike<S> {
  readonly #inner: SpanExporterLike<S>;
  readonly #processor: EctSpanProcessor;
  readonly #stats: EctStats;
  readonly #dropContent: boolean;

  constructor(inner: SpanExporterLike<S>, processor: EctSpanProcessor, options: EctSpanExporterOptions = {}) {
    this.#inner = inner;
    this.#processor = processor;
    this.#stats = processor.stats;
    this.#dropContent = options.dropHashedContent ?? false;
  }

  export(spans: S[], resultCallback: (result: ExportResult) => void): void {
    let tagged: S[];
    try {
      tagged = spans.map((span) => this.#withToken(span));
    } catch (error) {
      this.#stats.fail('hooks.failed', error);
      tagged = spans;
    }
    try {
      // A failed export (backend down, queue full downstream) is counted as dropped spans.
      this.#inner.export(tagged, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) this.#stats.fail('spans.export_failed', result.error ?? new Error('export failed'), spans.length);
        resultCallback(result);
      });
    } catch (error) {
      this.#stats.fail('tokens.export_dropped', error, spans.length);
      resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }

  #withToken(span: S): S {
    const token = this.#processor.tokenOf(span);
    if (token === undefined) return span;
    let compact: string;
    try {
      compact = token.compact();
    } catch (error) {
      this.#stats.fail('tokens.sign_failed', error);
      return span;
    }
    const attributes: Attributes = { ...span.attributes, [ATTR.token]: compact };
    if (this.#dropContent) for (const key of GEN_AI_CONTENT) delete attributes[key];
    // A view of the ended span with one more attribute; every other member reads through.
    return new Proxy(span, {
      get: (target, property, receiver) => (property === 'attributes' ? attributes : Reflect.get(target, property, receiver)),
    });
  }
}
