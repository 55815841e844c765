import { ATTR } from '../../base/conventions.js';
import type { OtlpSpan } from '../../base/otlp-json.js';
import type { SourceRecord } from './types.js';

/**
 * The records of one trace read from a backend: every span (so the audit can tell spans without a
 * token), each followed by the compact token of its `ect.token` attribute when it carries one.
 */
export function* recordsOfTrace(spans: readonly OtlpSpan[], at: (span: OtlpSpan) => string): Generator<SourceRecord> {
  for (const span of spans) {
    const where = at(span);
    yield { kind: 'span', span, at: where };
    const token = span.attributes[ATTR.token];
    if (typeof token === 'string' && token !== '') {
      yield { kind: 'token', token, at: where, traceId: span.traceId, spanId: span.spanId };
    }
  }
}

/** Spans grouped by trace id, traces and spans in the order first seen. */
export function spansByTrace(spans: readonly OtlpSpan[]): Map<string, OtlpSpan[]> {
  const traces = new Map<string, OtlpSpan[]>();
  for (const span of spans) {
    const list = traces.get(span.traceId);
    if (list === undefined) traces.set(span.traceId, [span]);
    else list.push(span);
  }
  return traces;
}

/** A caller's signal and the reader's own, as one (either aborts). */
export function eitherSignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return AbortSignal.any([a, b]);
}
