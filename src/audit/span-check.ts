import { ATTR, SPAN_BINDING_KEY, SPAN_KIND_NAMES } from '../base/conventions.js';
import type { EctClaims } from '../token/claims.js';
import type { SpanRecord } from './read-tokens.js';

/**
 * Compares a verified token with a span that carried it: the span's `ect.jti` and `ect.pred`, and
 * the token's binding (trace, span and parent ids, name, kind). Returns what disagrees, empty when
 * the token describes its span. Catches spans edited in a tracing backend after the fact.
 *
 * @example spanMismatches(verified.claims, spanRecord) // ['name: span says "x", token says "y"']
 */
export function spanMismatches(claims: EctClaims, span: SpanRecord): string[] {
  const out: string[] = [];
  const differ = (what: string, spanValue: unknown, tokenValue: unknown) => {
    if (JSON.stringify(spanValue) !== JSON.stringify(tokenValue))
      out.push(`${what}: span says ${JSON.stringify(spanValue)}, token says ${JSON.stringify(tokenValue)}`);
  };
  differ(ATTR.jti, span.jti, claims.jti);
  // Jaeger's v1 API flattens array attributes into a JSON string.
  const pred =
    typeof span.pred === 'string' && span.pred.startsWith('[') ? (JSON.parse(span.pred) as unknown) : span.pred;
  differ(ATTR.pred, pred, claims.pred);
  const binding = claims.ect_ext?.[SPAN_BINDING_KEY];
  if (binding === null || typeof binding !== 'object' || Array.isArray(binding)) {
    out.push('token has no span binding');
    return out;
  }
  differ('trace id', span.traceId.toLowerCase(), binding.trace_id);
  differ('span id', span.spanId.toLowerCase(), binding.span_id);
  differ('parent span id', span.parentSpanId?.toLowerCase(), binding.parent_span_id);
  differ('name', span.name, binding.name);
  differ('kind', SPAN_KIND_NAMES[span.kind - 1] ?? String(span.kind), binding.kind);
  return out;
}
