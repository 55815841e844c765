import { EctAuditSourceError } from '../../base/errors.js';
import { type JaegerSourceOptions, jaegerSource } from './jaeger.js';
import { type TempoSourceOptions, tempoSource } from './tempo.js';
import type { AuditSourceReader } from './types.js';

/**
 * The command-line form of a tracing-backend source, for `--help`:
 * the backend, a colon, its base URL, and the reader's options as query parameters (which are
 * taken off the URL; one the reader does not know is an error, so a typo never widens an audit).
 */
export const TRACE_SOURCE_SPEC_HELP = `jaeger:URL[?OPTIONS] | tempo:URL[?OPTIONS]
  URL: the query service's base URL (Jaeger: port 16686; Tempo: the query frontend, port 3200);
       user:password@ in it is sent as HTTP Basic authentication and never printed.
  trace=ID[,ID…]   read these traces (hex ids; repeatable) instead of searching
  service=NAME     search: traces with a span of this service
  since=DURATION   search: from this long ago until now (e.g. 90s, 15m, 2h, 7d; default 1h)
  from=TIME to=TIME  search: an explicit range (RFC 3339, e.g. 2026-11-29T01:00:00Z)
  page=N           traces per search request (Jaeger 20, Tempo 100)
  timeout=DURATION per request (default 30s)
  Tempo only: q=TRACEQL (search query), tags=LOGFMT (tag search, Tempo 1.x),
              api=v1|v2 (trace-by-id API, default v2), tenant=ID (X-Scope-OrgID)
  e.g. jaeger:http://127.0.0.1:16686?service=orders&since=2h
       tempo:http://127.0.0.1:3200?trace=4bf92f3577b34da6a3ce929d0e0e4736&api=v1`;

/** A parsed source specification: which backend, and the options of its reader. */
export type TraceSourceSpec =
  | { kind: 'jaeger'; options: JaegerSourceOptions }
  | { kind: 'tempo'; options: TempoSourceOptions };

const COMMON_PARAMETERS = ['trace', 'service', 'since', 'from', 'to', 'page', 'timeout'] as const;
const TEMPO_PARAMETERS = ['q', 'tags', 'api', 'tenant'] as const;

/**
 * Reads the command-line form of a Jaeger or Tempo source (see {@link TRACE_SOURCE_SPEC_HELP}).
 * Throws `ECT_AUDIT_SOURCE_SPEC_INVALID` naming the part at fault (never the credentials).
 *
 * @example parseTraceSourceSpec('jaeger:http://127.0.0.1:16686?service=orders&since=2h').options.service // 'orders'
 */
export function parseTraceSourceSpec(spec: string, clock: { now?: () => Date } = {}): TraceSourceSpec {
  const match = /^(jaeger|tempo):(.*)$/i.exec(spec.trim());
  if (match === null) {
    throw invalid(
      `a tracing source is jaeger:URL or tempo:URL, got ${JSON.stringify(hideCredentials(spec).slice(0, 100))}`,
    );
  }
  const kind = (match[1] as string).toLowerCase() as 'jaeger' | 'tempo';
  let url: URL;
  try {
    url = new URL(match[2] as string);
  } catch {
    throw invalid(`${kind}: not a URL: ${JSON.stringify(hideCredentials(match[2] as string).slice(0, 100))}`);
  }
  const params = url.searchParams;
  const known: readonly string[] = kind === 'tempo' ? [...COMMON_PARAMETERS, ...TEMPO_PARAMETERS] : COMMON_PARAMETERS;
  for (const name of new Set(params.keys())) {
    if (!known.includes(name)) {
      throw invalid(`${kind}: unknown option ${JSON.stringify(name)} (known: ${known.join(', ')})`);
    }
    if (name !== 'trace' && params.getAll(name).length > 1) throw invalid(`${kind}: option ${name} given twice`);
  }
  const one = (name: string) => params.get(name) ?? undefined;
  const traceIds = params
    .getAll('trace')
    .flatMap((value) => value.split(','))
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const now = clock.now ?? (() => new Date());
  const since = one('since');
  const from = one('from');
  const to = one('to');
  if (since !== undefined && from !== undefined) throw invalid(`${kind}: give since or from, not both`);
  const end = to === undefined ? undefined : timeOption('to', to);
  const start =
    from !== undefined
      ? timeOption('from', from)
      : since !== undefined
        ? new Date((end ?? now()).getTime() - durationMs('since', since))
        : undefined;
  const page = one('page');
  const timeout = one('timeout');
  const service = one('service');
  const tempoOptions = {
    query: one('q'),
    tags: one('tags'),
    api: one('api'),
    tenant: one('tenant'),
  };
  url.search = '';
  const options: JaegerSourceOptions = {
    url: url.href,
    ...(traceIds.length > 0 ? { traceIds } : {}),
    ...(service === undefined ? {} : { service }),
    ...(start === undefined ? {} : { start }),
    ...(end === undefined ? {} : { end }),
    ...(page === undefined ? {} : { pageSize: integerOption('page', page) }),
    ...(timeout === undefined ? {} : { timeoutMs: durationMs('timeout', timeout) }),
    now,
  };
  if (kind === 'jaeger') return { kind, options };
  const { query, tags, api, tenant } = tempoOptions;
  if (api !== undefined && api !== 'v1' && api !== 'v2')
    throw invalid(`tempo: api is v1 or v2, not ${JSON.stringify(api)}`);
  return {
    kind,
    options: {
      ...options,
      ...(query === undefined ? {} : { query }),
      ...(tags === undefined ? {} : { tags }),
      ...(api === undefined ? {} : { api }),
      ...(tenant === undefined ? {} : { tenant }),
    },
  };
}

/**
 * The reader a command-line source specification names, with `extra` options (a signal, bounds, an
 * `onPartialTrace` callback) laid over it.
 *
 * @example const source = traceSourceFromSpec('tempo:http://127.0.0.1:3200?service=orders&since=15m');
 */
export function traceSourceFromSpec(
  spec: string,
  extra: Partial<Omit<TempoSourceOptions, 'url'>> = {},
): AuditSourceReader {
  const parsed = parseTraceSourceSpec(spec, extra.now === undefined ? {} : { now: extra.now });
  if (parsed.kind === 'jaeger') {
    const { query: _q, tags: _t, api: _a, tenant: _n, onPartialTrace: _p, ...jaegerExtra } = extra;
    return jaegerSource({ ...parsed.options, ...jaegerExtra });
  }
  return tempoSource({ ...parsed.options, ...extra });
}

/** The text with any `user:password@` after a `//` removed (the text need not be a URL). */
function hideCredentials(text: string): string {
  return text.replace(/\/\/[^/@\s?#]*@/g, '//');
}

function invalid(message: string): EctAuditSourceError {
  return new EctAuditSourceError('ECT_AUDIT_SOURCE_SPEC_INVALID', message);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function durationMs(name: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw invalid(`${name} must be a duration such as 500ms, 90s, 15m, 2h or 7d, got ${JSON.stringify(value)}`);
  }
  return Math.round(ms);
}

function timeOption(name: string, value: string): Date {
  // RFC 3339 only: a bare number would be ambiguous between seconds, milliseconds and nanoseconds.
  const date = /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw invalid(`${name} must be an RFC 3339 time such as 2026-11-29T01:00:00Z, got ${JSON.stringify(value)}`);
  }
  return date;
}

function integerOption(name: string, value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw invalid(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
