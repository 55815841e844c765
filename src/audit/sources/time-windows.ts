import { EctAuditSourceError } from '../../base/errors.js';

/** A half-open time range `[start, end)` in nanoseconds since the epoch. */
export interface TimeRange {
  start: bigint;
  end: bigint;
}

/** How a search is paged. */
export interface WindowWalkOptions {
  /** Traces asked for per request. */
  pageSize: number;
  /** Upper bound for a window that cannot be split any more (see {@link walkTimeWindows}). */
  maxPageSize: number;
  /** The narrowest window the backend can tell apart (Tempo: 1 s; Jaeger: 1 µs). */
  minWidth: bigint;
  /** Bound on requests for the whole walk. */
  maxRequests: number;
  /** Named in error messages, e.g. the search URL. */
  where: string;
}

/**
 * Pages a trace search over a time range when the backend's search only answers its first N traces
 * and has no cursor (Jaeger's `query.num_traces`, Tempo's `limit`). Each request covers one window
 * and asks for one trace more than the page size, so that an answer of more than a page tells that
 * the window holds more than the backend may have answered: such a window is split in two halves,
 * older first, until the answers are complete; a window already at `minWidth` is asked again with
 * twice the page size, up to `maxPageSize`. At most ~64 windows are pending at any time, and one
 * page is held at a time.
 *
 * A trace that reaches across window boundaries is answered by every window it touches; it is
 * yielded only by the window that owns it, the one holding `ownerTime(hit)` (its first matching
 * start, clamped to the range), so no set of every trace id seen has to be kept. A hit without an
 * owner time is yielded by the window that answered it.
 *
 * @example
 * for await (const hit of walkTimeWindows(range, opts, (w, limit) => search(w, limit), (h) => h.start)) use(hit);
 */
export async function* walkTimeWindows<T>(
  range: TimeRange,
  options: WindowWalkOptions,
  search: (window: TimeRange, limit: number) => Promise<T[]>,
  ownerTime: (hit: T) => bigint | undefined,
): AsyncGenerator<T> {
  if (range.end <= range.start) return;
  const pending: { window: TimeRange; limit: number }[] = [{ window: range, limit: options.pageSize }];
  let requests = 0;
  while (pending.length > 0) {
    const { window, limit } = pending.pop() as { window: TimeRange; limit: number };
    if (++requests > options.maxRequests) {
      throw new EctAuditSourceError(
        'ECT_AUDIT_SOURCE_LIMIT',
        `paging the search of ${options.where} took more than ${options.maxRequests} requests; narrow the time range or raise the page size`,
        { url: options.where },
      );
    }
    const hits = await search(window, limit + 1);
    if (hits.length > limit) {
      const mid = splitPoint(window, options.minWidth);
      if (mid !== undefined) {
        // Newer half first onto the stack, so the older half is searched (and yielded) first.
        pending.push(
          { window: { start: mid, end: window.end }, limit },
          { window: { start: window.start, end: mid }, limit },
        );
        continue;
      }
      if (limit < options.maxPageSize) {
        pending.push({ window, limit: Math.min(limit * 2, options.maxPageSize) });
        continue;
      }
      throw new EctAuditSourceError(
        'ECT_AUDIT_SOURCE_LIMIT',
        `${options.where}: more than ${limit} traces in the window ${isoOf(window.start)} – ${isoOf(window.end)}, which cannot be split further; raise the largest page size`,
        { url: options.where },
      );
    }
    for (const hit of hits) {
      const owner = ownerTime(hit);
      if (owner === undefined) {
        yield hit;
        continue;
      }
      // A trace that began before the range belongs to the window that opens it.
      let at = owner;
      if (at < range.start) at = range.start;
      if (at >= window.start && at < window.end) yield hit;
    }
  }
}

/** The middle of a window on a multiple of `minWidth` from its start, or `undefined` when it is that narrow. */
function splitPoint(window: TimeRange, minWidth: bigint): bigint | undefined {
  const steps = (window.end - window.start) / minWidth;
  if (steps < 2n) return undefined;
  return window.start + (steps / 2n) * minWidth;
}

/** Nanoseconds since the epoch as RFC 3339 with nine fractional digits (Go's `time.RFC3339Nano` parses it). */
export function rfc3339Nano(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = ns % 1_000_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${fraction.toString().padStart(9, '0')}Z`;
}

function isoOf(ns: bigint): string {
  return rfc3339Nano(ns);
}

/** A time given as a `Date`, or nanoseconds since the epoch, as nanoseconds. */
export function nanosOfTime(time: Date | bigint): bigint {
  return typeof time === 'bigint' ? time : BigInt(time.getTime()) * 1_000_000n;
}
