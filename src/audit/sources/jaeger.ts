import { EctAuditSourceError } from '../../base/errors.js';
import { type OtlpSpan, otlpRecordsInJson } from '../../base/otlp-json.js';
import { checkBackendOptions, type TraceBackendOptions } from './backend-options.js';
import {
  type BackendEndpoint,
  backendEndpoint,
  endpointUrl,
  errorMessageOf,
  type HttpAnswer,
  type HttpRequestOptions,
  httpError,
  httpGet,
  jsonValues,
  redact,
} from './http-json.js';
import { otlpResourceSpans } from './otlp-shape.js';
import { rfc3339Nano, type TimeRange, walkTimeWindows } from './time-windows.js';
import { eitherSignal, recordsOfTrace, spansByTrace } from './trace-records.js';
import type { AuditSourceReader, SourceRecord } from './types.js';

/** Traces per search request by default: small pages, since every span carries a token. */
export const JAEGER_DEFAULT_PAGE_SIZE = 20;
/** Largest page asked for when many traces start within one microsecond. */
export const JAEGER_DEFAULT_MAX_PAGE_SIZE = 1000;
/** Jaeger's storage backends keep microseconds: a narrower window tells nothing apart. */
const JAEGER_MIN_WINDOW_NS = 1_000n;

/** Options of {@link jaegerSource}. */
export type JaegerSourceOptions = TraceBackendOptions;

/**
 * An audit source reading spans and tokens from Jaeger's query API v3 (Jaeger 2.x, and 1.x from
 * the version that serves `/api/v3`): the given traces (`GET /api/v3/traces/{id}`), or a search
 * by service and time range (`GET /api/v3/traces?query.service_name=…&query.start_time_min=…`),
 * paged by splitting the range where an answer is full (see `walkTimeWindows`). Traces are asked
 * for raw (`raw_traces=true`): Jaeger's clock-skew adjustment would move span times away from what
 * the tokens bind. Every span is yielded, and each `ect.token` attribute as a token record bound
 * to its span, one trace (or one search page) held at a time.
 *
 * @example
 * const source = jaegerSource({ url: 'http://127.0.0.1:16686', service: 'orders', start: new Date(Date.now() - 3_600_000) });
 * for await (const record of source.records()) console.log(record.kind, record.at);
 */
export function jaegerSource(options: JaegerSourceOptions): AuditSourceReader {
  const endpoint = backendEndpoint(options.url, options.headers);
  const checked = checkBackendOptions(options, {
    pageSize: JAEGER_DEFAULT_PAGE_SIZE,
    maxPageSize: JAEGER_DEFAULT_MAX_PAGE_SIZE,
  });
  const service = options.service === '' ? undefined : options.service;
  return {
    kind: 'jaeger',
    location: endpoint.location,
    async *records(signal?: AbortSignal): AsyncIterable<SourceRecord> {
      const http: HttpRequestOptions = {
        signal: eitherSignal(options.signal, signal),
        timeoutMs: options.timeoutMs,
        maxAnswerBytes: options.maxAnswerBytes,
        headers: endpoint.headers,
        fetch: options.fetch,
      };
      if (checked.traceIds !== undefined) {
        for (const traceId of checked.traceIds) {
          yield* recordsOfTrace(await getTrace(endpoint, traceId, http), spanAt);
        }
        return;
      }
      const search = (window: TimeRange, limit: number) => searchPage(endpoint, service, window, limit, http);
      // Whole microseconds, the resolution Jaeger's storage backends keep, so windows never split one.
      const range: TimeRange = {
        start: (checked.range.start / JAEGER_MIN_WINDOW_NS) * JAEGER_MIN_WINDOW_NS,
        end: ((checked.range.end + JAEGER_MIN_WINDOW_NS - 1n) / JAEGER_MIN_WINDOW_NS) * JAEGER_MIN_WINDOW_NS,
      };
      const walk = walkTimeWindows(
        range,
        {
          pageSize: checked.pageSize,
          maxPageSize: checked.maxPageSize,
          maxRequests: checked.maxRequests,
          minWidth: JAEGER_MIN_WINDOW_NS,
          where: redact(endpointUrl(endpoint, '/api/v3/traces').href),
        },
        search,
        (trace) => firstStart(trace, service),
      );
      for await (const trace of walk) yield* recordsOfTrace(trace, spanAt);
    },
  };
}

function spanAt(span: OtlpSpan): string {
  return `jaeger:trace ${span.traceId} span ${span.spanId}`;
}

/** One trace, all its spans; `ECT_AUDIT_TRACE_NOT_FOUND` when Jaeger does not have it. */
async function getTrace(endpoint: BackendEndpoint, traceId: string, http: HttpRequestOptions): Promise<OtlpSpan[]> {
  const url = endpointUrl(endpoint, `/api/v3/traces/${traceId}`, { raw_traces: 'true' });
  const answer = await httpGet(url, http);
  const notFound = () =>
    new EctAuditSourceError('ECT_AUDIT_TRACE_NOT_FOUND', `Jaeger at ${endpoint.location} has no trace ${traceId}`, {
      url: redact(url.href),
      httpStatus: answer.status,
    });
  if (answer.status === 404) {
    if (isJaegerError(answer)) throw notFound();
    throw httpError(url, answer, 'is this the base URL of a Jaeger query service that serves /api/v3?');
  }
  const spans = spansOfAnswer(url, answer).filter((span) => span.traceId === traceId);
  // Jaeger before the hand-written v3 gateway answered an unknown trace with an empty result.
  if (spans.length === 0) throw notFound();
  return spans;
}

/** One search request: the traces Jaeger answers for the window (at most `limit`), each a list of spans. */
async function searchPage(
  endpoint: BackendEndpoint,
  service: string | undefined,
  window: TimeRange,
  limit: number,
  http: HttpRequestOptions,
): Promise<OtlpSpan[][]> {
  const url = endpointUrl(endpoint, '/api/v3/traces', {
    'query.service_name': service,
    'query.start_time_min': rfc3339Nano(window.start),
    'query.start_time_max': rfc3339Nano(window.end),
    // Jaeger's HTTP gateway calls the depth `num_traces`; the proto field (and so the gRPC-gateway
    // of older releases) `search_depth`. Each ignores the other's name.
    'query.num_traces': limit,
    'query.search_depth': limit,
    'query.raw_traces': 'true',
  });
  const answer = await httpGet(url, http);
  // Jaeger 2.x answers a search that found nothing with 404 {"error":{"message":"No traces found"}}.
  if (answer.status === 404 && isJaegerError(answer)) return [];
  if (answer.status === 404) {
    throw httpError(url, answer, 'is this the base URL of a Jaeger query service that serves /api/v3?');
  }
  return [...spansByTrace(spansOfAnswer(url, answer)).values()];
}

/** The spans of a 2xx answer of `/api/v3/traces`: one or more `{"result": TracesData}` objects. */
function spansOfAnswer(url: URL, answer: HttpAnswer): OtlpSpan[] {
  if (answer.status >= 300) throw httpError(url, answer);
  const spans: OtlpSpan[] = [];
  for (const value of jsonValues(answer.text, url, answer.status)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw notTraces(url);
    const object = value as { result?: unknown; resourceSpans?: unknown; error?: unknown };
    // A streaming gateway reports a failure inside the stream, after a 200 status.
    if (object.error !== undefined) {
      throw new EctAuditSourceError(
        'ECT_AUDIT_SOURCE_HTTP',
        `${redact(url.href)} failed while streaming: ${errorMessageOf(JSON.stringify(object))}`,
        { url: redact(url.href), httpStatus: answer.status },
      );
    }
    let resourceSpans: unknown;
    if ('result' in object) {
      // `{"result": {}}` (or null) is an empty answer.
      const result = object.result ?? {};
      if (typeof result !== 'object' || Array.isArray(result)) throw notTraces(url);
      resourceSpans = (result as { resourceSpans?: unknown }).resourceSpans;
    } else if ('resourceSpans' in object) {
      resourceSpans = object.resourceSpans;
    } else {
      throw notTraces(url);
    }
    if (resourceSpans !== undefined && !Array.isArray(resourceSpans)) throw notTraces(url);
    spans.push(...otlpRecordsInJson({ resourceSpans: otlpResourceSpans(resourceSpans) }).spans);
  }
  return spans;
}

function notTraces(url: URL): EctAuditSourceError {
  return new EctAuditSourceError(
    'ECT_AUDIT_SOURCE_INVALID',
    `${redact(url.href)} did not answer Jaeger api_v3 traces ({"result": {"resourceSpans": […]}})`,
    { url: redact(url.href) },
  );
}

/** Jaeger's own error body (`{"error":{"httpCode":404,"message":…}}`), as opposed to a proxy's or a router's. */
function isJaegerError(answer: HttpAnswer): boolean {
  try {
    const body = JSON.parse(answer.text) as { error?: { message?: unknown } };
    return typeof body.error?.message === 'string';
  } catch {
    return false;
  }
}

/**
 * The earliest start among the trace's spans that the search matches (the service's, when one was
 * given): the time the search finds the trace by, so the window holding it owns the trace.
 */
function firstStart(spans: readonly OtlpSpan[], service: string | undefined): bigint | undefined {
  let first: bigint | undefined;
  for (const span of spans) {
    if (service !== undefined && span.service !== service) continue;
    const start = span.startTimeUnixNano;
    if (start !== undefined && (first === undefined || start < first)) first = start;
  }
  return first;
}
