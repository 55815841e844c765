import { EctAuditSourceError } from '../../base/errors.js';
import type { HttpRequestOptions } from './http-json.js';
import { traceIdArgument } from './otlp-shape.js';
import { nanosOfTime, type TimeRange } from './time-windows.js';

/** How far back a search looks when no start is given. */
export const DEFAULT_SEARCH_SPAN_MS = 60 * 60 * 1000;
/** Requests a whole search may take by default (see `walkTimeWindows`). */
export const DEFAULT_MAX_REQUESTS = 10_000;

/** What both tracing-backend readers take. */
export interface TraceBackendOptions extends HttpRequestOptions {
  /** The backend's base URL (Jaeger's query service, Tempo's query frontend); credentials allowed. */
  url: string | URL;
  /** Read these traces only (hex ids); otherwise (also when empty) search. */
  traceIds?: readonly string[];
  /** Search: only traces with a span of this service (`service.name`). */
  service?: string;
  /** Search: traces with spans starting at or after this time (default: an hour before `end`). */
  start?: Date | bigint;
  /** Search: … and before this time (default: now). Bigints are nanoseconds since the epoch. */
  end?: Date | bigint;
  /** Traces asked for per search request (the backends' limit parameter). */
  pageSize?: number;
  /** Largest page size asked for when a window cannot be split further. */
  maxPageSize?: number;
  /** Bound on the requests of one search (default {@link DEFAULT_MAX_REQUESTS}). */
  maxRequests?: number;
  /** The clock for the default search range (tests). */
  now?: () => Date;
}

/** The options checked once, when a reader is made, so a bad option fails before any request. */
export interface CheckedBackendOptions {
  traceIds: string[] | undefined;
  range: TimeRange;
  pageSize: number;
  maxPageSize: number;
  maxRequests: number;
}

/** Checks the options shared by both readers; throws `ECT_AUDIT_SOURCE_SPEC_INVALID` naming the bad one. */
export function checkBackendOptions(
  options: TraceBackendOptions,
  defaults: { pageSize: number; maxPageSize: number },
): CheckedBackendOptions {
  // An empty list reads as no list (a search), so a caller can pass `--trace` values through as they come.
  const traceIds =
    options.traceIds === undefined || options.traceIds.length === 0
      ? undefined
      : [...new Set(options.traceIds.map(traceIdArgument))];
  const end = options.end === undefined ? nanosOfTime(options.now?.() ?? new Date()) : nanosOfTime(options.end);
  const start =
    options.start === undefined ? end - BigInt(DEFAULT_SEARCH_SPAN_MS) * 1_000_000n : nanosOfTime(options.start);
  if (start < 0n || end <= start) {
    throw new EctAuditSourceError(
      'ECT_AUDIT_SOURCE_SPEC_INVALID',
      `the search range must start at or after 1970 and end after it starts (start ${start} ns, end ${end} ns)`,
    );
  }
  const pageSize = positive('pageSize', options.pageSize ?? defaults.pageSize);
  const maxPageSize = positive('maxPageSize', options.maxPageSize ?? Math.max(defaults.maxPageSize, pageSize));
  if (maxPageSize < pageSize) {
    throw new EctAuditSourceError(
      'ECT_AUDIT_SOURCE_SPEC_INVALID',
      `maxPageSize ${maxPageSize} is below pageSize ${pageSize}`,
    );
  }
  return {
    traceIds,
    range: { start, end },
    pageSize,
    maxPageSize,
    maxRequests: positive('maxRequests', options.maxRequests ?? DEFAULT_MAX_REQUESTS),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EctAuditSourceError('ECT_AUDIT_SOURCE_SPEC_INVALID', `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
