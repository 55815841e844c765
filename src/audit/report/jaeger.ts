import { EctFormatError } from '../../base/errors.js';
import { safeHttpUrl } from './escape.js';
import type { AuditSpan } from './model.js';

/**
 * The base URL of a Jaeger UI, checked: absolute `http(s)`, no trailing slash.
 *
 * @throws {EctFormatError} `ECT_FORMAT_INVALID` when it is not an http(s) URL.
 * @example
 * jaegerBase('http://127.0.0.1:16686/') // 'http://127.0.0.1:16686'
 */
export function jaegerBase(jaegerUi: string): string {
  const safe = safeHttpUrl(jaegerUi);
  if (safe === undefined) {
    throw new EctFormatError(
      'ECT_FORMAT_INVALID',
      `the Jaeger UI address must be an http(s) URL, got ${JSON.stringify(jaegerUi)}`,
    );
  }
  return safe.replace(/\/+$/, '');
}

/**
 * Where a span is shown in Jaeger: `${base}/trace/${traceId}?uiFind=${spanId}` when a Jaeger UI
 * base is given, else the span's own `url` if it is http(s), else nothing.
 *
 * @example
 * spanLink({ traceId: 'ab', spanId: 'cd' } as AuditSpan, 'http://jaeger:16686') // 'http://jaeger:16686/trace/ab?uiFind=cd'
 */
export function spanLink(span: AuditSpan | undefined, base: string | undefined): string | undefined {
  if (span === undefined) return undefined;
  if (base !== undefined) {
    return `${base}/trace/${encodeURIComponent(span.traceId)}?uiFind=${encodeURIComponent(span.spanId)}`;
  }
  return span.url === undefined ? undefined : safeHttpUrl(span.url);
}
