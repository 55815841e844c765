import { EctAuditSourceError } from '../../base/errors.js';
import { type OtlpSpan, otlpRecordsInJson } from '../../base/otlp-json.js';
import { checkBackendOptions, type TraceBackendOptions } from './backend-options.js';
import {
  type BackendEndpoint,
  backendEndpoint,
  endpointUrl,
  type HttpRequestOptions,
  httpError,
  httpGet,
  jsonValues,
  redact,
} from './http-json.js';
import { otlpResourceSpans, traceIdArgument } from './otlp-shape.js';
import { type TimeRange, walkTimeWindows } from './time-windows.js';
import { eitherSignal, recordsOfTrace } from './trace-records.js';
import type { AuditSourceReader, SourceRecord } from './types.js';

/** Traces per search request by default (Tempo's own default `limit` is 20). */
export const TEMPO_DEFAULT_PAGE_SIZE = 100;
/** Largest `limit` asked for when many traces fall within one second. */
export const TEMPO_DEFAULT_MAX_PAGE_SIZE = 5000;
/** Tempo's search takes `start` and `end` in whole seconds. */
const SECOND_NS = 1_000_000_000n;

/** Options of {@link tempoSource}. */
export interface TempoSourceOptions extends TraceBackendOptions {
  /**
   * TraceQL query of the search (default `{ resource.service.name = "…" }` with `service`, or `{}`:
   * every trace in the range). Ignored when `tags` is given.
   */
  query?: string;
  /** A tag search in logfmt (`service.name=orders`), for Tempo releases without TraceQL. */
  tags?: string;
  /**
   * Trace-by-id API: `v2` (`/api/v2/traces/{id}`, which also says when a trace was returned in
   * part) or `v1` (`/api/traces/{id}`, served by every release). Default `v2`.
   */
  api?: 'v1' | 'v2';
  /** Tempo tenant, sent as `X-Scope-OrgID` (multi-tenant Tempo). */
  tenant?: string;
  /**
   * Called when Tempo says it returned a trace only in part (v2 `status: PARTIAL`, e.g. over its
   * size limit); the spans it did return are still yielded. Without it, such a trace throws
   * `ECT_AUDIT_TRACE_PARTIAL`: an audit should not silently read half a trace.
   */
  onPartialTrace?: (traceId: string, message: string) => void;
}

/** One hit of Tempo's search answer. */
interface TempoHit {
  traceId: string;
  start: bigint | undefined;
}

/**
 * An audit source reading spans and tokens from Grafana Tempo's HTTP API: the given traces
 * (`GET /api/v2/traces/{id}` or `/api/traces/{id}`), or the traces a search finds
 * (`GET /api/search?q=…&start=…&end=…&limit=…`, TraceQL, or `tags=` for Tempo 1.x), each then read
 * in full by id. Tempo's search answers only its first `limit` traces and has no cursor, so the range
 * is split where an answer is full (see `walkTimeWindows`); a trace is owned by the window holding
 * its start as the search reports it. Tempo answers ids in base64 (protobuf JSON); records carry
 * them as hex, like OTLP JSON.
 *
 * Tempo could not be installed where this was written (its licence keeps it out of the package
 * registries there): this reader is tested against a loopback server answering documents shaped
 * exactly as Tempo's API documentation shows, not against a live Tempo.
 *
 * @example
 * const source = tempoSource({ url: 'http://127.0.0.1:3200', service: 'orders', start: new Date(Date.now() - 900_000) });
 * for await (const record of source.records()) console.log(record.kind, record.at);
 */
export function tempoSource(options: TempoSourceOptions): AuditSourceReader {
  const headers =
    options.tenant === undefined ? options.headers : { ...options.headers, 'x-scope-orgid': options.tenant };
  const endpoint = backendEndpoint(options.url, headers);
  const checked = checkBackendOptions(options, {
    pageSize: TEMPO_DEFAULT_PAGE_SIZE,
    maxPageSize: TEMPO_DEFAULT_MAX_PAGE_SIZE,
  });
  const api = options.api ?? 'v2';
  if (api !== 'v1' && api !== 'v2') {
    throw new EctAuditSourceError('ECT_AUDIT_SOURCE_SPEC_INVALID', `Tempo's trace API is v1 or v2, not ${String(api)}`);
  }
  const filter = searchFilter(options);
  // Whole seconds, so that every window the walk makes is too.
  const range: TimeRange = {
    start: (checked.range.start / SECOND_NS) * SECOND_NS,
    end: ((checked.range.end + SECOND_NS - 1n) / SECOND_NS) * SECOND_NS,
  };
  return {
    kind: 'tempo',
    location: endpoint.location,
    async *records(signal?: AbortSignal): AsyncIterable<SourceRecord> {
      const http: HttpRequestOptions = {
        signal: eitherSignal(options.signal, signal),
        timeoutMs: options.timeoutMs,
        maxAnswerBytes: options.maxAnswerBytes,
        headers: endpoint.headers,
        fetch: options.fetch,
      };
      const read = (traceId: string) => getTrace(endpoint, api, traceId, http, options.onPartialTrace);
      if (checked.traceIds !== undefined) {
        for (const traceId of checked.traceIds) yield* recordsOfTrace(await read(traceId), spanAt);
        return;
      }
      const walk = walkTimeWindows(
        range,
        {
          pageSize: checked.pageSize,
          maxPageSize: checked.maxPageSize,
          maxRequests: checked.maxRequests,
          minWidth: SECOND_NS,
          where: redact(endpointUrl(endpoint, '/api/search').href),
        },
        (window, limit) => searchPage(endpoint, filter, window, limit, http),
        (hit) => hit.start,
      );
      for await (const hit of walk) yield* recordsOfTrace(await read(hit.traceId), spanAt);
    },
  };
}

function spanAt(span: OtlpSpan): string {
  return `tempo:trace ${span.traceId} span ${span.spanId}`;
}

/** The search's filter parameters: `tags` (logfmt) as given, or a TraceQL query. */
function searchFilter(options: TempoSourceOptions): Record<string, string> {
  const service = options.service === '' ? undefined : options.service;
  if (options.tags !== undefined) {
    // Tag search matches values as case-insensitive substrings: `service.name=orders` also finds
    // `orders-v2`. TraceQL (the default) matches exactly.
    const tags = [options.tags.trim(), service === undefined ? '' : `service.name=${logfmtValue(service)}`];
    return { tags: tags.filter((t) => t !== '').join(' ') };
  }
  if (options.query !== undefined) return { q: options.query };
  return { q: service === undefined ? '{}' : `{ resource.service.name = ${JSON.stringify(service)} }` };
}

function logfmtValue(value: string): string {
  return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}

async function searchPage(
  endpoint: BackendEndpoint,
  filter: Record<string, string>,
  window: TimeRange,
  limit: number,
  http: HttpRequestOptions,
): Promise<TempoHit[]> {
  const url = endpointUrl(endpoint, '/api/search', {
    ...filter,
    start: String(window.start / SECOND_NS),
    end: String(window.end / SECOND_NS),
    limit,
    // One span per span set: the walk needs trace ids and start times, not the matched spans.
    spss: 1,
  });
  const answer = await httpGet(url, http);
  if (answer.status >= 300) throw httpError(url, answer);
  const [body, ...more] = jsonValues(answer.text, url, answer.status);
  const object = body as { traces?: unknown; metrics?: unknown } | null;
  if (more.length > 0 || object === null || typeof object !== 'object' || Array.isArray(object)) {
    throw notTempo(url, 'a search answer ({"traces": […], "metrics": {…}})');
  }
  // Protobuf JSON leaves an empty list out: no `traces` is no hit.
  if (object.traces !== undefined && !Array.isArray(object.traces)) {
    throw notTempo(url, 'a search answer ({"traces": […], "metrics": {…}})');
  }
  const hits: TempoHit[] = [];
  for (const raw of object.traces ?? []) {
    const hit = (raw ?? {}) as { traceID?: unknown; startTimeUnixNano?: unknown };
    let traceId: string;
    try {
      traceId = traceIdArgument(String(hit.traceID ?? ''));
    } catch (error) {
      throw new EctAuditSourceError(
        'ECT_AUDIT_SOURCE_INVALID',
        `${redact(url.href)} answered a search hit without a valid traceID: ${JSON.stringify(hit.traceID)}`,
        { url: redact(url.href), cause: error },
      );
    }
    const start =
      typeof hit.startTimeUnixNano === 'string' && /^\d+$/.test(hit.startTimeUnixNano)
        ? BigInt(hit.startTimeUnixNano)
        : undefined;
    hits.push({ traceId, start });
  }
  return hits;
}

async function getTrace(
  endpoint: BackendEndpoint,
  api: 'v1' | 'v2',
  traceId: string,
  http: HttpRequestOptions,
  onPartialTrace: TempoSourceOptions['onPartialTrace'],
): Promise<OtlpSpan[]> {
  const url = endpointUrl(endpoint, api === 'v2' ? `/api/v2/traces/${traceId}` : `/api/traces/${traceId}`);
  const answer = await httpGet(url, http);
  const notFound = () =>
    new EctAuditSourceError(
      'ECT_AUDIT_TRACE_NOT_FOUND',
      `Tempo at ${endpoint.location} has no trace ${traceId}${api === 'v2' ? ' (Tempo releases without /api/v2/traces answer 404 too: try the v1 API)' : ''}`,
      { url: redact(url.href), httpStatus: answer.status },
    );
  if (answer.status === 404) throw notFound();
  if (answer.status >= 300) throw httpError(url, answer);
  const [body, ...more] = jsonValues(answer.text, url, answer.status);
  const object = body as { trace?: unknown; batches?: unknown; status?: unknown; message?: unknown } | null;
  if (more.length > 0 || object === null || typeof object !== 'object' || Array.isArray(object)) {
    throw notTempo(url, api === 'v2' ? 'a trace ({"trace": {"resourceSpans": […]}})' : 'a trace ({"batches": […]})');
  }
  // v2: {"trace": {"resourceSpans": […]}, "status": "PARTIAL"?, "message": …}; v1: {"batches": […]}.
  const trace = (object.trace ?? {}) as { resourceSpans?: unknown; batches?: unknown };
  const batches = object.batches ?? trace.resourceSpans ?? trace.batches;
  if (batches !== undefined && !Array.isArray(batches)) {
    throw notTempo(url, 'a trace whose batches are a list');
  }
  if (object.status === 'PARTIAL' || object.status === 1) {
    const message = typeof object.message === 'string' && object.message !== '' ? object.message : 'partial trace';
    if (onPartialTrace === undefined) {
      throw new EctAuditSourceError(
        'ECT_AUDIT_TRACE_PARTIAL',
        `Tempo at ${endpoint.location} returned trace ${traceId} only in part: ${message}`,
        { url: redact(url.href), httpStatus: answer.status },
      );
    }
    onPartialTrace(traceId, message);
  }
  const spans = otlpRecordsInJson({ resourceSpans: otlpResourceSpans(batches) }).spans;
  if (spans.length === 0) throw notFound();
  return spans;
}

function notTempo(url: URL, what: string): EctAuditSourceError {
  return new EctAuditSourceError('ECT_AUDIT_SOURCE_INVALID', `${redact(url.href)} did not answer ${what}`, {
    url: redact(url.href),
  });
}
