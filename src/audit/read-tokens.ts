import { readFile } from 'node:fs/promises';
import { ATTR } from '../base/conventions.js';

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

type AnyValue = { stringValue?: string; intValue?: number | string; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value?: AnyValue };
type OtlpSpan = {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number | string;
  attributes?: KeyValue[];
};

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

const KIND_NUMBERS: Record<string, number> = {
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

/**
 * The tokens inside one OTLP JSON export request (logs or traces, or Jaeger's `{"result": …}`), in
 * document order.
 *
 * @example tokensInOtlpJson(JSON.parse(line)).map((t) => t.token)
 */
export function tokensInOtlpJson(request: unknown): OtlpToken[] {
  const out: OtlpToken[] = [];
  const doc = ((request as { result?: unknown }).result ?? request) as {
    resourceLogs?: unknown[];
    resourceSpans?: unknown[];
  };
  for (const rl of (doc.resourceLogs ?? []) as { scopeLogs?: { logRecords?: { body?: AnyValue }[] }[] }[]) {
    for (const sl of rl.scopeLogs ?? []) {
      for (const record of sl.logRecords ?? []) {
        const body = record.body?.stringValue;
        if (typeof body === 'string' && body.split('.').length === 3) out.push({ token: body, kind: 'log' });
      }
    }
  }
  for (const rs of (doc.resourceSpans ?? []) as { scopeSpans?: { spans?: OtlpSpan[] }[] }[]) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const attribute = (key: string) => span.attributes?.find((a) => a.key === key)?.value;
        const token = attribute(ATTR.token)?.stringValue;
        if (typeof token !== 'string') continue;
        const pred = attribute(ATTR.pred);
        out.push({
          token,
          kind: 'span',
          span: {
            traceId: String(span.traceId ?? ''),
            spanId: String(span.spanId ?? ''),
            parentSpanId:
              span.parentSpanId === undefined || span.parentSpanId === '' ? undefined : String(span.parentSpanId),
            name: String(span.name ?? ''),
            kind: typeof span.kind === 'number' ? span.kind : (KIND_NUMBERS[String(span.kind)] ?? 0),
            jti: attribute(ATTR.jti)?.stringValue,
            pred: pred?.arrayValue ? (pred.arrayValue.values ?? []).map((v) => v.stringValue) : pred?.stringValue,
            rejectedIncoming: Number(attribute(ATTR.incomingRejected)?.intValue ?? 0),
          },
        });
      }
    }
  }
  return out;
}
