import { SpanStatusCode, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { SPAN_BINDING_KEY, SPAN_KIND_NAMES, SPAN_STATUS_NAMES } from '../../base/conventions.js';
import type { EctClaims, JsonObject } from '../../token/claims.js';
import type { EctReadableSpan } from '../span-types.js';

/** What a token records of its span, under {@link SPAN_BINDING_KEY}. */
export interface SpanBinding {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  name: string;
  kind: string;
  status: 'UNSET' | 'OK' | 'ERROR';
  /** `error.type` when the span failed. */
  error_type?: string;
  /** HTTP status code, for server spans whose token is issued with the response head. */
  http_status?: number;
  /** True for a join token, which folds a wide or stale frontier. */
  join?: boolean;
}

/**
 * The binding of a span as it stands now (status and attributes may still change until it ends).
 *
 * @example claims.ect_ext = { [SPAN_BINDING_KEY]: spanBinding(span) };
 */
export function spanBinding(span: EctReadableSpan, extra?: Partial<SpanBinding>): SpanBinding {
  const context = span.spanContext();
  const binding: SpanBinding = {
    trace_id: context.traceId,
    span_id: context.spanId,
    name: span.name,
    kind: SPAN_KIND_NAMES[span.kind] ?? 'INTERNAL',
    status: SPAN_STATUS_NAMES[span.status.code] ?? 'UNSET',
  };
  const parent = span.parentSpanContext?.spanId;
  if (parent !== undefined) binding.parent_span_id = parent;
  const errorType = span.attributes['error.type'];
  if (typeof errorType === 'string') binding.error_type = errorType;
  else if (span.status.code === SpanStatusCode.ERROR && span.status.message)
    binding.error_type = span.status.message.slice(0, 128);
  // Most tokens have no extra members; the spread would copy every binding once more.
  return extra === undefined ? binding : { ...binding, ...extra };
}

/**
 * The span a token describes, from its binding: used to link to a remote predecessor's span.
 *
 * @example const ctx = boundSpanContext(verified.claims); if (ctx) span.addLink({ context: ctx });
 */
export function boundSpanContext(claims: Pick<EctClaims, 'ect_ext'>): SpanContext | undefined {
  const binding = claims.ect_ext?.[SPAN_BINDING_KEY];
  if (binding === null || typeof binding !== 'object' || Array.isArray(binding)) return undefined;
  const { trace_id: traceId, span_id: spanId } = binding as JsonObject;
  if (typeof traceId !== 'string' || !/^[0-9a-f]{32}$/.test(traceId)) return undefined;
  if (typeof spanId !== 'string' || !/^[0-9a-f]{16}$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

/**
 * A W3C trace id as a UUID, the default workflow id.
 *
 * @example traceIdToUuid('0af7651916cd43dd8448eb211c80319c') // '0af76519-16cd-43dd-8448-eb211c80319c'
 */
export function traceIdToUuid(traceId: string): string {
  return `${traceId.slice(0, 8)}-${traceId.slice(8, 12)}-${traceId.slice(12, 16)}-${traceId.slice(16, 20)}-${traceId.slice(20, 32)}`;
}
