import type { AuditCheckName, AuditFinding } from '../report/model.js';

/** A span as a finding names it. */
export interface SpanRef {
  traceId: string;
  spanId: string;
  name?: string;
}

/**
 * The findings of one audit, in the order they were made, with a count per check. A check may
 * produce very many (every token of a bad key); all are kept, and the text summary shows the first.
 *
 * @example findings.fail('dag', 'ECT_DAG_CYCLE', 'token … lies on a cycle', [jti]);
 */
export class Findings {
  readonly list: AuditFinding[] = [];
  readonly #perCheck = new Map<AuditCheckName, { failed: number; partial: number }>();

  add(
    check: AuditCheckName,
    severity: AuditFinding['severity'],
    code: string,
    message: string,
    jtis: readonly string[],
    spans: readonly SpanRef[] = [],
    at?: string,
  ): number {
    const finding: AuditFinding = { check, severity, code, message, jtis: [...jtis], spans: spans.map(spanOf) };
    if (at !== undefined) finding.at = at;
    this.list.push(finding);
    const counts = this.#perCheck.get(check) ?? { failed: 0, partial: 0 };
    counts[severity]++;
    this.#perCheck.set(check, counts);
    return this.list.length - 1;
  }

  fail(
    check: AuditCheckName,
    code: string,
    message: string,
    jtis: readonly string[],
    spans?: readonly SpanRef[],
    at?: string,
  ): number {
    return this.add(check, 'failed', code, message, jtis, spans, at);
  }

  partial(
    check: AuditCheckName,
    code: string,
    message: string,
    jtis: readonly string[],
    spans?: readonly SpanRef[],
    at?: string,
  ): number {
    return this.add(check, 'partial', code, message, jtis, spans, at);
  }

  /** Findings of a check by severity. */
  counts(check: AuditCheckName): { failed: number; partial: number } {
    return this.#perCheck.get(check) ?? { failed: 0, partial: 0 };
  }
}

function spanOf(span: SpanRef): SpanRef {
  return span.name === undefined
    ? { traceId: span.traceId, spanId: span.spanId }
    : { traceId: span.traceId, spanId: span.spanId, name: span.name };
}
