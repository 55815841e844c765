import type { OtlpSpan } from '../../base/otlp-json.js';
import type { AuditSource } from '../report/model.js';

/**
 * One record an audit source yields: a span as exported (its `ect.*` attributes included), or a
 * compact token with the span its log record was bound to, when it was.
 */
export type SourceRecord =
  | { kind: 'span'; span: OtlpSpan; at: string }
  | {
      kind: 'token';
      token: string;
      /** Where it was read, e.g. `export/tokens.jsonl:3` or `jaeger:trace 4bf9…`. */
      at: string;
      /** The trace and span ids of the log record that carried it, when there was one. */
      traceId?: string;
      spanId?: string;
      /**
       * Added: the `jti` the record names beside the token (the log record's `ect.jti` attribute),
       * when it names one. A hint to skip decoding a token read before; never trusted as a claim.
       */
      jti?: string;
    };

/**
 * A place an audit reads spans and tokens from (OTLP JSON files, Jaeger's or Tempo's query API).
 * `records()` streams: a reader holds one page, file line or trace at a time, never the whole set.
 */
export interface AuditSourceReader {
  readonly kind: AuditSource['kind'];
  /** File path or URL, credentials removed. */
  readonly location: string;
  records(signal?: AbortSignal): AsyncIterable<SourceRecord>;
  /**
   * How much of the source `records()` has read so far, in the source's own unit (a file's bytes),
   * when its end is known; absent or `undefined` otherwise (a backend's search, whose size is only
   * known once it is done). Drives the progress bar.
   */
  progress?(): { done: number; total: number } | undefined;
}
