import { readFile } from 'node:fs/promises';
import { SPAN_KIND_NAMES, SPAN_STATUS_NAMES } from './conventions.js';

/**
 * An OTLP `AnyValue` as a plain value: strings, booleans and doubles as themselves, `intValue` as a
 * number (a `bigint` beyond 2^53, where a number would lose digits), `bytesValue` as octets,
 * `arrayValue` as an array, `kvlistValue` as an object. A value with none of these reads as
 * `undefined`.
 */
export type OtlpValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | readonly OtlpValue[]
  | { readonly [key: string]: OtlpValue }
  | undefined;

/** OTLP `KeyValue` lists as an object (a key given twice keeps its last value). */
export type OtlpAttributes = Record<string, OtlpValue>;

/** Where a record was read: file and 1-based line (set by {@link readOtlpFiles}). */
export interface OtlpSource {
  file: string;
  line: number;
}

/** OTLP span kinds by name; `UNSPECIFIED` also stands for a kind this reader does not know. */
export type OtlpSpanKind = 'UNSPECIFIED' | (typeof SPAN_KIND_NAMES)[number];

/** One span of an OTLP traces document, with its resource's service name and its scope. */
export interface OtlpSpan {
  source?: OtlpSource;
  /** The resource's `service.name`. */
  service: string | undefined;
  resource: OtlpAttributes;
  scope: string | undefined;
  traceId: string;
  spanId: string;
  /** `undefined` for a root span (OTLP JSON writes an empty string or nothing). */
  parentSpanId: string | undefined;
  name: string;
  kind: OtlpSpanKind;
  /** Nanoseconds since the epoch. */
  startTimeUnixNano: bigint | undefined;
  endTimeUnixNano: bigint | undefined;
  status: { code: (typeof SPAN_STATUS_NAMES)[number]; message: string | undefined };
  attributes: OtlpAttributes;
  events: { name: string; timeUnixNano: bigint | undefined; attributes: OtlpAttributes }[];
  links: { traceId: string; spanId: string; attributes: OtlpAttributes }[];
}

/** One log record of an OTLP logs document, with its resource's service name and its scope. */
export interface OtlpLogRecord {
  source?: OtlpSource;
  service: string | undefined;
  resource: OtlpAttributes;
  scope: string | undefined;
  /** `undefined` when the record is bound to no span. */
  traceId: string | undefined;
  spanId: string | undefined;
  eventName: string | undefined;
  timeUnixNano: bigint | undefined;
  severityText: string | undefined;
  body: OtlpValue;
  attributes: OtlpAttributes;
}

/** The spans and log records of one or more OTLP documents, each in document order. */
export interface OtlpRecords {
  spans: OtlpSpan[];
  logRecords: OtlpLogRecord[];
}

/**
 * The spans and log records of one OTLP JSON export request (`ExportTraceServiceRequest` and/or
 * `ExportLogsServiceRequest`, as the bridge's file exporter and the Collector's `file` exporter
 * write them, one per line), also wrapped as Jaeger's `/api/v3/traces` answer (`{"result": …}`).
 * Span kinds and status codes may be numbers or enum names; anything else is read leniently (a
 * missing list is empty, a missing id an empty string).
 *
 * @example const { spans } = otlpRecordsInJson(JSON.parse(line)); spans[0]?.attributes['ect.jti']
 */
export function otlpRecordsInJson(request: unknown): OtlpRecords {
  const doc = objectOf(objectOf(request).result ?? request);
  const spans: OtlpSpan[] = [];
  const logRecords: OtlpLogRecord[] = [];
  for (const rs of listOf(doc.resourceSpans)) {
    const resource = attributesOf(objectOf(rs.resource).attributes);
    const service = stringOf(resource['service.name']);
    for (const ss of listOf(rs.scopeSpans)) {
      const scope = stringOf(objectOf(ss.scope).name);
      for (const span of listOf(ss.spans)) {
        const status = objectOf(span.status);
        spans.push({
          service,
          resource,
          scope,
          traceId: stringOf(span.traceId) ?? '',
          spanId: stringOf(span.spanId) ?? '',
          parentSpanId: stringOf(span.parentSpanId) || undefined,
          name: stringOf(span.name) ?? '',
          kind: enumName(span.kind, ['UNSPECIFIED', ...SPAN_KIND_NAMES], 'SPAN_KIND_') ?? 'UNSPECIFIED',
          startTimeUnixNano: nanosOf(span.startTimeUnixNano),
          endTimeUnixNano: nanosOf(span.endTimeUnixNano),
          status: {
            code: enumName(status.code, SPAN_STATUS_NAMES, 'STATUS_CODE_') ?? 'UNSET',
            message: stringOf(status.message) || undefined,
          },
          attributes: attributesOf(span.attributes),
          events: listOf(span.events).map((e) => ({
            name: stringOf(e.name) ?? '',
            timeUnixNano: nanosOf(e.timeUnixNano),
            attributes: attributesOf(e.attributes),
          })),
          links: listOf(span.links).map((l) => ({
            traceId: stringOf(l.traceId) ?? '',
            spanId: stringOf(l.spanId) ?? '',
            attributes: attributesOf(l.attributes),
          })),
        });
      }
    }
  }
  for (const rl of listOf(doc.resourceLogs)) {
    const resource = attributesOf(objectOf(rl.resource).attributes);
    const service = stringOf(resource['service.name']);
    for (const sl of listOf(rl.scopeLogs)) {
      const scope = stringOf(objectOf(sl.scope).name);
      for (const record of listOf(sl.logRecords)) {
        logRecords.push({
          service,
          resource,
          scope,
          traceId: stringOf(record.traceId) || undefined,
          spanId: stringOf(record.spanId) || undefined,
          eventName: stringOf(record.eventName) || undefined,
          timeUnixNano: nanosOf(record.timeUnixNano),
          severityText: stringOf(record.severityText) || undefined,
          body: anyValueOf(record.body),
          attributes: attributesOf(record.attributes),
        });
      }
    }
  }
  return { spans, logRecords };
}

/**
 * Reads OTLP JSON lines files (any mix of traces and logs documents, one per line, or Jaeger's
 * `{"result": …}` answers) into spans and log records, each with the file and line it came from.
 * Blank lines, `#` comments and lines that are not JSON objects (e.g. plain compact tokens) are
 * skipped; a line that starts with `{` but is not JSON throws a `SyntaxError` naming file and line.
 *
 * @example
 * const { spans, logRecords } = await readOtlpFiles(['export/spans-api-1.jsonl', 'export/tokens-api-1.jsonl']);
 * const tokens = logRecords.filter((r) => r.eventName === 'ect.token').map((r) => r.body);
 */
export async function readOtlpFiles(paths: readonly string[]): Promise<OtlpRecords> {
  const out: OtlpRecords = { spans: [], logRecords: [] };
  for (const file of paths) {
    const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
    for (const [i, raw] of lines.entries()) {
      const text = raw.trim();
      if (!text.startsWith('{')) continue;
      let request: unknown;
      try {
        request = JSON.parse(text);
      } catch (error) {
        throw new SyntaxError(`${file}:${i + 1}: not JSON: ${(error as Error).message}`, { cause: error });
      }
      const source = { file, line: i + 1 };
      const { spans, logRecords } = otlpRecordsInJson(request);
      for (const span of spans) out.spans.push({ source, ...span });
      for (const record of logRecords) out.logRecords.push({ source, ...record });
    }
  }
  return out;
}

// ---- the OTLP JSON mapping -----------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

function objectOf(value: unknown): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

function listOf(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.map(objectOf) : [];
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** An enum field written as its number (index into `names`) or as its name, with or without `prefix`. */
function enumName<T extends string>(value: unknown, names: readonly T[], prefix: string): T | undefined {
  if (typeof value === 'number') return names[value];
  if (typeof value !== 'string') return undefined;
  const name = value.startsWith(prefix) ? value.slice(prefix.length) : value;
  return names.find((n) => n === name);
}

/** A fixed64 timestamp: OTLP JSON writes it as a decimal string (or, from some writers, a number). */
function nanosOf(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  return undefined;
}

/** An int64 `intValue`: a number while that is exact, a bigint beyond. */
function intOf(value: unknown): number | bigint | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : BigInt(value);
}

function anyValueOf(raw: unknown): OtlpValue {
  const v = objectOf(raw);
  if ('stringValue' in v) return stringOf(v.stringValue);
  if ('boolValue' in v) return typeof v.boolValue === 'boolean' ? v.boolValue : undefined;
  if ('intValue' in v) return intOf(v.intValue);
  // proto3 JSON writes the non-finite doubles as the strings "NaN", "Infinity", "-Infinity".
  if ('doubleValue' in v)
    return typeof v.doubleValue === 'number'
      ? v.doubleValue
      : typeof v.doubleValue === 'string'
        ? Number(v.doubleValue)
        : undefined;
  if ('arrayValue' in v) return listOf(objectOf(v.arrayValue).values).map(anyValueOf);
  if ('kvlistValue' in v) return attributesOf(objectOf(v.kvlistValue).values);
  if ('bytesValue' in v) return typeof v.bytesValue === 'string' ? bytesOf(v.bytesValue) : undefined;
  return undefined;
}

function bytesOf(base64: string): Uint8Array {
  // Node's base64 decoder accepts both alphabets (proto3 JSON allows either).
  const buffer = Buffer.from(base64, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

function attributesOf(list: unknown): OtlpAttributes {
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  return Object.fromEntries(listOf(list).map((kv) => [String(kv.key ?? ''), anyValueOf(kv.value)]));
}
