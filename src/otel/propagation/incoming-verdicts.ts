import type { SpanContext } from '@opentelemetry/api';
import { BoundedMap } from '../../base/bounded-map.js';
import { ATTR, EVENT } from '../../base/conventions.js';
import type { EctError } from '../../base/errors.js';
import type { EctWritableSpan } from '../span-types.js';

const NONE: readonly EctError[] = Object.freeze([]);

/** Where the span exporter and the token pipeline find verdicts that came too late for the span. */
export interface VerdictLookup {
  /**
   * The failures to add to a span's export: `undefined` when there are none left to add (all
   * verified, or written on the span before it ended); a promise while they are still being checked.
   */
  lateFailures(context: SpanContext): readonly EctError[] | Promise<readonly EctError[]> | undefined;
}

interface Entry {
  failures: readonly EctError[] | undefined;
  readonly verdict: Promise<readonly EctError[]>;
}

/**
 * Verdicts on a server span's incoming tokens that are checked off the request path (record mode
 * with a crypto pool; src/otel/DESIGN.md §3). A verdict that arrives while the span runs is
 * recorded on it (`ect.incoming.rejected` and one `ect.verification_failed` event per token);
 * one that arrives after the span ended is kept (bounded, newest first) for the span exporter and
 * the token pipeline to add before export.
 *
 * @example
 * verdicts.track(serverSpan, pendingVerdict);
 * const late = verdicts.lateFailures(span.spanContext());
 */
export class IncomingVerdicts implements VerdictLookup {
  readonly #late: BoundedMap<string, Entry>;

  constructor(capacity = 8192) {
    this.#late = new BoundedMap(capacity);
  }

  /** Records `verdict` on `span` when it settles, or keeps it for export if the span has ended. */
  track(span: EctWritableSpan, verdict: Promise<readonly EctError[]>): void {
    const key = keyOf(span.spanContext());
    const entry: Entry = { failures: undefined, verdict };
    this.#late.set(key, entry);
    void verdict.then((failures) => {
      if (failures.length === 0 || !span.ended) {
        if (failures.length > 0) recordIncomingFailures(span, failures);
        entry.failures = NONE;
        this.#late.delete(key);
        return;
      }
      entry.failures = failures;
    });
  }

  lateFailures(context: SpanContext): readonly EctError[] | Promise<readonly EctError[]> | undefined {
    const entry = this.#late.get(keyOf(context));
    if (entry === undefined) return undefined;
    if (entry.failures === undefined) return entry.verdict;
    return entry.failures.length === 0 ? undefined : entry.failures;
  }
}

/**
 * Records refused incoming tokens on a running span: `ect.incoming.rejected` and one
 * `ect.verification_failed` event per token.
 *
 * @example recordIncomingFailures(serverSpan, failures);
 */
export function recordIncomingFailures(span: EctWritableSpan, failures: readonly EctError[]): void {
  if (failures.length === 0) return;
  span.setAttribute(ATTR.incomingRejected, failures.length);
  for (const failure of failures) {
    span.addEvent(EVENT.verificationFailed, { [ATTR.errorCode]: failure.code, [ATTR.errorMessage]: failure.message });
  }
}

function keyOf(context: SpanContext): string {
  return context.traceId + context.spanId;
}
