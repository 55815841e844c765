import { readFile } from 'node:fs/promises';
import { ATTR, SPAN_KIND_NAMES } from '../base/conventions.js';
import { otlpRecordsInJson, type OtlpValue } from '../base/otlp-json.js';

/** Where a token was found: file and line, and for OTLP input which record carried it. */
export interface TokenSource {
  file: string;
  line: number;
  /** `log` (an OTLP log record body), `span` (an `ect.token` span attribute) or `line` (plain). */
  kind: 'line' | 'log' | 'span';
}

/** A span that carried a token, as exported: what the token must describe. */
export interface SpanRecord {
  source: TokenSource;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP span kind number (1 internal … 5 consumer). */
  kind: number;
  /** The span's `ect.jti` and `ect.pred` attributes, as exported. */
  jti: unknown;
  pred: unknown;
  /** `ect.incoming.rejected`: incoming tokens this span's service refused (edges not recorded). */
  rejectedIncoming: number;
}

/** A token read from an export, with where it came from and every span that carried it. */
export interface FoundToken {
  token: string;
  source: TokenSource;
  spans: SpanRecord[];
}

/**
 * Reads compact tokens from files in any of the forms the bridge, the Collector and Jaeger write:
 * one compact token per line; OTLP JSON lines of logs (`resourceLogs`, token in the body); OTLP
 * JSON lines of traces (`resourceSpans`, token in the `ect.token` attribute), also wrapped as
 * Jaeger's `/api/v3/traces` answers (`{"result": …}`). Blank lines and `#` comments are skipped; a
 * token found twice (in a span and in its log record) is kept once, with every span that carried it.
 *
 * @example const tokens = await readTokenFiles(['spans.jsonl', 'tokens.jsonl']);
 */
export async function readTokenFiles(paths: readonly string[]): Promise<FoundToken[]> {
  const byToken = new Map<string, FoundToken>();
  const add = (token: string, source: TokenSource, span?: Omit<SpanRecord, 'source'>) => {
    let found = byToken.get(token);
    if (found === undefined) {
      found = { token, source, spans: [] };
      byToken.set(token, found);
    }
    if (span !== undefined) found.spans.push({ ...span, source });
  };
  for (const file of paths) {
    const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
    for (const [i, raw] of lines.entries()) {
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) continue;
      const line = i + 1;
      if (!text.startsWith('{')) {
        add(text, { file, line, kind: 'line' });
        continue;
      }
      for (const entry of tokensInOtlpJson(JSON.parse(text) as unknown)) {
        add(entry.token, { file, line, kind: entry.kind }, entry.span);
      }
    }
  }
  return [...byToken.values()];
}

/** One token inside an OTLP document, with its span when it came from one. */
export interface OtlpToken {
  token: string;
  kind: 'log' | 'span';
  span?: Omit<SpanRecord, 'source'>;
}

/**
 * The tokens inside one OTLP JSON export request (logs or traces, or Jaeger's `{"result": …}`), in
 * document order: log record bodies first, then `ect.token` span attributes. Read with
 * {@link otlpRecordsInJson}.
 *
 * @example tokensInOtlpJson(JSON.parse(line)).map((t) => t.token)
 */
export function tokensInOtlpJson(request: unknown): OtlpToken[] {
  const out: OtlpToken[] = [];
  const { spans, logRecords } = otlpRecordsInJson(request);
  for (const record of logRecords) {
    const body = record.body;
    if (typeof body === 'string' && body.split('.').length === 3) out.push({ token: body, kind: 'log' });
  }
  for (const span of spans) {
    const token = span.attributes[ATTR.token];
    if (typeof token !== 'string') continue;
    const pred = span.attributes[ATTR.pred];
    const rejected = span.attributes[ATTR.incomingRejected];
    out.push({
      token,
      kind: 'span',
      span: {
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId,
        name: span.name,
        kind: SPAN_KIND_NAMES.indexOf(span.kind as (typeof SPAN_KIND_NAMES)[number]) + 1,
        jti: typeof span.attributes[ATTR.jti] === 'string' ? span.attributes[ATTR.jti] : undefined,
        // An array of ids as exported, or the JSON string some backends flatten arrays into.
        pred: Array.isArray(pred)
          ? pred.map((p: OtlpValue) => (typeof p === 'string' ? p : undefined))
          : typeof pred === 'string'
            ? pred
            : undefined,
        rejectedIncoming: typeof rejected === 'number' || typeof rejected === 'bigint' ? Number(rejected) : 0,
      },
    });
  }
  return out;
}
