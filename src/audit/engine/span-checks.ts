import { ATTR } from '../../base/conventions.js';
import { AUDIT_CODE } from '../codes.js';
import type { Findings, SpanRef } from './findings.js';
import { type SpanEntry, spanKeyOf, type Task, type TaskIndex } from './task-index.js';

/** What {@link checkSpans} reports beside its findings. */
export interface SpanCheckSummary {
  /** Tokens compared with their span. */
  bound: number;
  /** Tracked spans that passed their frontier through (no token by design). */
  passedThrough: number;
}

const ref = (span: SpanEntry): SpanRef => ({ traceId: span.traceId, spanId: span.spanId, name: span.name });

/**
 * Binding and completeness, from both sides. Each token is compared with the span its binding
 * names (ids, parent, name, kind, status, error type or HTTP status, the span's `ect.jti` and
 * `ect.pred`, and its `iat` within the span's times ± skew); each span that was issued a token
 * (`ect.pred`/`ect.token` set) must have it; spans that carry `ect.jti` only were passed over by
 * the bridge's selector and pass their frontier through (src/otel/DESIGN.md §2), which is no
 * finding. A token whose span is missing fails when its trace's other spans are there, and is
 * partial when the trace is in no span source at all. Runs only when some source held spans.
 *
 * @example const summary = checkSpans(index, findings, 30);
 */
export function checkSpans(index: TaskIndex, findings: Findings, skewSeconds: number): SpanCheckSummary {
  const skewMs = skewSeconds * 1000;
  let bound = 0;
  for (const task of index.tasks.values()) {
    const { jti } = task.node;
    const b = task.binding;
    if (b === undefined) {
      findings.partial(
        'binding',
        AUDIT_CODE.spanMismatch,
        `token ${jti} has no span binding: no span to compare`,
        [jti],
        [],
        task.at,
      );
      continue;
    }
    const key = spanKeyOf(b.traceId, b.spanId);
    if (task.logSpanKey !== undefined && task.logSpanKey !== key) {
      findings.fail(
        'binding',
        AUDIT_CODE.logRecordSpan,
        `token ${jti}'s log record is attached to span ${task.logSpanKey.slice(32)}, its binding names ${b.spanId}`,
        [jti],
        [{ traceId: b.traceId, spanId: b.spanId, name: b.name }],
        task.at,
      );
    }
    const span = index.spans.get(b.traceId, b.spanId);
    if (span === undefined) {
      const spanRef = { traceId: b.traceId, spanId: b.spanId, name: b.name };
      if (index.spans.hasTrace(b.traceId))
        findings.fail(
          'completeness',
          AUDIT_CODE.tokenWithoutSpan,
          `token ${jti} (${task.node.execAct}) is bound to span ${b.name} (${b.spanId}), which is missing from trace ${b.traceId}`,
          [jti],
          [spanRef],
          task.at,
        );
      else
        findings.partial(
          'completeness',
          AUDIT_CODE.traceNotExported,
          `token ${jti}'s trace ${b.traceId} is in no span source: span ${b.name} (${b.spanId}) not checked`,
          [jti],
          [spanRef],
          task.at,
        );
      continue;
    }
    bound++;
    const differences = differencesOf(task, span);
    if (differences.length > 0) {
      findings.fail(
        'binding',
        AUDIT_CODE.spanMismatch,
        `span ${span.name} (${span.spanId}) disagrees with token ${jti}: ${differences.join('; ')}`,
        [jti],
        [ref(span)],
        span.at,
      );
    }
    const iatMs = task.iat * 1000;
    // iat is whole seconds (rounded down): up to 1 s before the exact moment.
    if (iatMs + 1000 < span.startMs - skewMs || iatMs > span.endMs + skewMs) {
      findings.fail(
        'binding',
        AUDIT_CODE.spanTime,
        `span ${span.name} (${span.spanId}) runs ${isoOf(span.startMs)} … ${isoOf(span.endMs)}, but token ${jti} was issued at ${task.node.iat} (skew ${skewSeconds} s)`,
        [jti],
        [ref(span)],
        span.at,
      );
    }
  }

  let passedThrough = 0;
  for (const span of index.spans.values()) {
    if (span.rejected > 0) {
      findings.partial(
        'completeness',
        AUDIT_CODE.refusedIncoming,
        `span ${span.name} (${span.spanId}) refused ${span.rejected} incoming token(s): those edges were not recorded`,
        span.jti === undefined ? [] : [span.jti],
        [ref(span)],
        span.at,
      );
    }
    if (span.jti === undefined) continue;
    const task = index.tasks.get(span.jti);
    if (task === undefined) {
      if (!span.issued) {
        passedThrough++;
        continue;
      }
      findings.fail(
        'completeness',
        AUDIT_CODE.spanWithoutToken,
        `span ${span.name} (${span.spanId}) was issued token ${span.jti}, which is in no source`,
        [span.jti],
        [ref(span)],
        span.at,
      );
      continue;
    }
    const b = task.binding;
    if (b !== undefined && (b.traceId !== span.traceId || b.spanId !== span.spanId)) {
      findings.fail(
        'binding',
        AUDIT_CODE.spanMismatch,
        `span ${span.name} (${span.spanId}) carries ${ATTR.jti} ${span.jti}, but that token is bound to span ${b.name} (${b.spanId})`,
        [span.jti],
        [ref(span), { traceId: b.traceId, spanId: b.spanId, name: b.name }],
        span.at,
      );
    }
  }

  // Order of spans along each edge: a predecessor's span starts before its successor's ends.
  for (const task of index.tasks.values()) {
    const childSpan = spanOfTask(index, task);
    if (childSpan === undefined) continue;
    for (const pred of task.node.pred) {
      const predTask = index.tasks.get(pred);
      const predSpan = predTask === undefined ? undefined : spanOfTask(index, predTask);
      if (predSpan === undefined || !(predSpan.startMs > childSpan.endMs + skewMs)) continue;
      findings.fail(
        'binding',
        AUDIT_CODE.spanOrder,
        `span ${predSpan.name} (${predSpan.spanId}) of predecessor ${pred} starts at ${isoOf(predSpan.startMs)}, after span ${childSpan.name} (${childSpan.spanId}) of ${task.node.jti} ended at ${isoOf(childSpan.endMs)}`,
        [task.node.jti, pred],
        [ref(childSpan), ref(predSpan)],
        predSpan.at,
      );
    }
  }
  return { bound, passedThrough };
}

/**
 * The span a task's token is bound to, when a source held it.
 *
 * @example spanOfTask(index, task)?.name
 */
export function spanOfTask(index: TaskIndex, task: Task): SpanEntry | undefined {
  const b = task.binding;
  return b === undefined ? undefined : index.spans.get(b.traceId, b.spanId);
}

function differencesOf(task: Task, span: SpanEntry): string[] {
  const b = task.binding as NonNullable<Task['binding']>;
  const out: string[] = [];
  const differ = (what: string, spanValue: unknown, tokenValue: unknown) => {
    if (JSON.stringify(spanValue) !== JSON.stringify(tokenValue))
      out.push(`${what}: span says ${JSON.stringify(spanValue)}, token says ${JSON.stringify(tokenValue)}`);
  };
  // A join token is bound to the span it was folded in, whose own token is another.
  if (!b.join) {
    differ(ATTR.jti, span.jti, task.node.jti);
    if (span.pred !== undefined) {
      const pred = typeof span.pred === 'string' && span.pred.startsWith('[') ? safeJson(span.pred) : span.pred;
      differ(ATTR.pred, pred, task.node.pred);
    }
  }
  differ('parent span id', span.parentSpanId, b.parentSpanId);
  differ('name', span.name, b.name);
  differ('kind', span.kind, b.kind);
  if (b.httpStatus !== undefined) {
    // Issued early, with the response head: the span's status was set later; its HTTP status
    // code is what the token saw.
    if (span.httpStatus !== undefined) differ('http status', span.httpStatus, b.httpStatus);
  } else if (!b.join) {
    differ('status', span.status, b.status);
    const spanErrorType = span.errorType ?? (span.status === 'ERROR' ? span.statusMessage?.slice(0, 128) : undefined);
    differ('error type', spanErrorType, b.errorType);
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isoOf(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '(unknown)';
}
