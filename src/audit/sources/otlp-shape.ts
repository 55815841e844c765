import { EctAuditSourceError } from '../../base/errors.js';

/**
 * A trace id as the user wrote it, checked and in the form OTLP JSON uses: 32 lower-case hex
 * digits (a shorter id, as Tempo's search writes ids without their leading zeros, is padded).
 *
 * @example traceIdArgument('4BF92F3577B34DA6A3CE929D0E0E4736') // '4bf92f3577b34da6a3ce929d0e0e4736'
 */
export function traceIdArgument(id: string): string {
  const hex = id.trim().toLowerCase();
  if (!/^[0-9a-f]{1,32}$/.test(hex) || /^0+$/.test(hex)) {
    throw new EctAuditSourceError(
      'ECT_AUDIT_SOURCE_SPEC_INVALID',
      `not a trace id (1 to 32 hex digits, not all zero): ${JSON.stringify(id.slice(0, 80))}`,
    );
  }
  return hex.padStart(32, '0');
}

/**
 * A trace or span id from a backend's OTLP-like JSON as lower-case hex. OTLP JSON writes ids as hex;
 * Tempo's JSON (gogo/protobuf `jsonpb`) writes the raw bytes in base64, e.g. `"W47/95gDgQPSabYzgT/HAA=="`.
 * `octets` is 16 for a trace id, 8 for a span id. Anything else is returned as it was (the audit's
 * binding check then reports the span, rather than this reader guessing).
 *
 * @example hexId('7uGbfsPBsQA=', 8) // 'eee19b7ec3c1b100'
 */
export function hexId(value: unknown, octets: 8 | 16): unknown {
  if (typeof value !== 'string' || value === '') return value;
  if (value.length === octets * 2 && /^[0-9a-fA-F]+$/.test(value)) return value.toLowerCase();
  const base64Length = Math.ceil(octets / 3) * 4;
  if (value.length === base64Length && /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const bytes = Buffer.from(value, 'base64');
    if (bytes.length === octets) return bytes.toString('hex');
  }
  return value;
}

type JsonObject = Record<string, unknown>;

function objectOf(value: unknown): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

function listOf(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.map(objectOf) : [];
}

/**
 * A list of OTLP `ResourceSpans` as a backend wrote them, in the shape `otlpRecordsInJson` reads:
 * `instrumentationLibrarySpans` (OTLP before 0.15, still written by Tempo 1.x) become `scopeSpans`,
 * and span, parent and link ids become lower-case hex (see {@link hexId}).
 *
 * @example otlpRecordsInJson({ resourceSpans: otlpResourceSpans(tempoAnswer.batches) })
 */
export function otlpResourceSpans(list: unknown): JsonObject[] {
  return listOf(list).map((rs) => {
    const scopes = Array.isArray(rs.scopeSpans)
      ? listOf(rs.scopeSpans)
      : listOf(rs.instrumentationLibrarySpans).map(
          (ils): Record<string, unknown> => ({ ...ils, scope: ils.instrumentationLibrary }),
        );
    return {
      ...rs,
      scopeSpans: scopes.map((ss) => ({
        ...ss,
        spans: listOf(ss.spans).map((span) => ({
          ...span,
          traceId: hexId(span.traceId, 16),
          spanId: hexId(span.spanId, 8),
          parentSpanId: hexId(span.parentSpanId, 8),
          links: listOf(span.links).map((link) => ({
            ...link,
            traceId: hexId(link.traceId, 16),
            spanId: hexId(link.spanId, 8),
          })),
        })),
      })),
    };
  });
}
