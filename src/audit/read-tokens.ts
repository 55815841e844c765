import { readFile } from 'node:fs/promises';

/** Where a token was found: file and line, and for OTLP input which record carried it. */
export interface TokenSource {
  file: string;
  line: number;
  /** `log` (an OTLP log record body), `span` (an `ect.token` span attribute) or `line` (plain). */
  kind: 'line' | 'log' | 'span';
}

/** A token read from an export, with where it came from. */
export interface FoundToken {
  token: string;
  source: TokenSource;
}

type AnyValue = { stringValue?: string };
type KeyValue = { key: string; value?: AnyValue };

/**
 * Reads compact tokens from files in any of the forms the bridge and the Collector write: one
 * compact token per line; OTLP JSON lines of logs (`resourceLogs`, token in the body); OTLP JSON
 * lines of traces (`resourceSpans`, token in the `ect.token` attribute). Blank lines and `#`
 * comments are skipped; a token found twice (in a span and in its log record) is kept once.
 *
 * @example const tokens = await readTokenFiles(['spans.jsonl', 'tokens.jsonl']);
 */
export async function readTokenFiles(paths: readonly string[]): Promise<FoundToken[]> {
  const seen = new Set<string>();
  const found: FoundToken[] = [];
  const add = (token: string, source: TokenSource) => {
    if (seen.has(token)) return;
    seen.add(token);
    found.push({ token, source });
  };
  for (const file of paths) {
    const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
    lines.forEach((raw, i) => {
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) return;
      if (!text.startsWith('{')) return add(text, { file, line: i + 1, kind: 'line' });
      for (const [token, kind] of tokensInOtlpJson(JSON.parse(text) as unknown)) add(token, { file, line: i + 1, kind });
    });
  }
  return found;
}

/**
 * The tokens inside one OTLP JSON export request (logs or traces), in document order.
 *
 * @example tokensInOtlpJson(JSON.parse(line)) // [['eyJ…', 'log'], …]
 */
export function tokensInOtlpJson(request: unknown): [string, 'log' | 'span'][] {
  const out: [string, 'log' | 'span'][] = [];
  const doc = request as { resourceLogs?: unknown[]; resourceSpans?: unknown[] };
  for (const rl of (doc.resourceLogs ?? []) as { scopeLogs?: { logRecords?: { body?: AnyValue }[] }[] }[]) {
    for (const sl of rl.scopeLogs ?? []) {
      for (const record of sl.logRecords ?? []) {
        const body = record.body?.stringValue;
        if (typeof body === 'string' && body.split('.').length === 3) out.push([body, 'log']);
      }
    }
  }
  for (const rs of (doc.resourceSpans ?? []) as { scopeSpans?: { spans?: { attributes?: KeyValue[] }[] }[] }[]) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const token = span.attributes?.find((a) => a.key === 'ect.token')?.value?.stringValue;
        if (typeof token === 'string') out.push([token, 'span']);
      }
    }
  }
  return out;
}
