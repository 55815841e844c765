import { ATTR, SPAN_BINDING_KEY } from '../../base/conventions.js';
import type { OtlpSpan } from '../../base/otlp-json.js';
import type { EctClaims, EctHeader } from '../../token/claims.js';
import type { AuditNode } from '../report/model.js';

/** What a token says of its span (its `ect_ext` binding), kept to compare with the span. */
export interface TokenBinding {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: string;
  status: string;
  errorType: string | undefined;
  httpStatus: number | undefined;
  /** A join token: bound to the span it was folded in, which has a token of its own. */
  join: boolean;
}

/** Signature state of a task's token. */
export type SignatureState = 'pending' | 'verified' | 'failed' | 'unchecked';

/**
 * One task as the index keeps it: the public {@link AuditNode} (what the report shows) and what
 * the checks need beside it. Only this is kept per token, never the compact token itself, so a
 * million-token audit holds a few hundred bytes per task.
 */
export interface Task {
  node: AuditNode;
  iat: number;
  /** Where the token was first read. */
  at: string;
  /** Digest of the compact token as first read. */
  digest: string;
  /** Digest of the ledger's entry with this jti, when the ledger holds one. */
  ledgerDigest: string | undefined;
  /** Digest of the token as read from a file or query API (not the ledger), when one was. */
  exportDigest: string | undefined;
  binding: TokenBinding | undefined;
  /** `trace id + span id` of the log record that carried the token, when it was one with ids. */
  logSpanKey: string | undefined;
  signature: SignatureState;
  /** `ect_ext.pol_decision === "rejected"`, for the DAG policy rule. */
  policyRejected: boolean;
}

/** A span as the index keeps it. */
export interface SpanEntry {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** Binding form: `INTERNAL` … `CONSUMER`. */
  kind: string;
  /** Binding form: `UNSET` | `OK` | `ERROR`. */
  status: string;
  statusMessage: string | undefined;
  errorType: string | undefined;
  httpStatus: number | undefined;
  service: string | undefined;
  /** Milliseconds since the epoch (NaN when not exported). */
  startMs: number;
  endMs: number;
  /** `ect.jti`, when the bridge tracked the span. */
  jti: string | undefined;
  /** `ect.pred` as exported (an array, or the JSON text some backends flatten arrays into). */
  pred: unknown;
  /** The span was issued a token: `ect.pred` or `ect.token` is set. */
  issued: boolean;
  /** `ect.incoming.rejected`. */
  rejected: number;
  at: string;
}

/**
 * Interns strings many tasks share (issuers, workflow ids, span names, trace ids).
 *
 * @example const strings = new Interner(); strings.of(a) === strings.of(b) // when a and b are equal
 */
export class Interner {
  readonly #strings = new Map<string, string>();

  of(value: string): string;
  of(value: string | undefined): string | undefined;
  of(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const known = this.#strings.get(value);
    if (known !== undefined) return known;
    this.#strings.set(value, value);
    return value;
  }
}

/** The findings list every node starts with, shared until a finding is about it (never pushed to). */
export const NO_FINDINGS: number[] = [];

/**
 * `trace id + span id`, lower-cased: how a log record's span is compared with a binding.
 *
 * @example spanKeyOf(record.traceId, record.spanId) === spanKeyOf(binding.traceId, binding.spanId)
 */
export function spanKeyOf(traceId: string, spanId: string): string {
  return `${traceId.toLowerCase()}${spanId.toLowerCase()}`;
}

/**
 * Spans by trace id, then span id: no per-span key string is made (the ids are held once, by the
 * span entries themselves).
 *
 * @example table.add(entry); table.get(entry.traceId, entry.spanId) === entry
 */
export class SpanTable {
  readonly #byTrace = new Map<string, Map<string, SpanEntry>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** True when the trace has at least one span. */
  hasTrace(traceId: string): boolean {
    return this.#byTrace.has(traceId);
  }

  get(traceId: string, spanId: string): SpanEntry | undefined {
    return this.#byTrace.get(traceId)?.get(spanId);
  }

  add(entry: SpanEntry): void {
    let trace = this.#byTrace.get(entry.traceId);
    if (trace === undefined) {
      trace = new Map();
      this.#byTrace.set(entry.traceId, trace);
    }
    trace.set(entry.spanId, entry);
    this.#size++;
  }

  /** Lets go of a span once the report holds it (the size stays what was read). */
  release(entry: SpanEntry): void {
    this.#byTrace.get(entry.traceId)?.delete(entry.spanId);
  }

  *values(): IterableIterator<SpanEntry> {
    for (const trace of this.#byTrace.values()) yield* trace.values();
  }
}

/**
 * The DAG index: tasks by `jti` and spans by trace and span id, each as small records.
 *
 * @example const index = new TaskIndex(); index.addTask(header, claims, 'spans.jsonl:3', digest);
 */
export class TaskIndex {
  readonly tasks = new Map<string, Task>();
  readonly spans = new SpanTable();
  readonly strings = new Interner();

  /** Adds a task from a token's (possibly unverified) claims. */
  addTask(header: EctHeader, claims: EctClaims, at: string, digest: string): Task {
    const s = this.strings;
    const node: AuditNode = {
      jti: claims.jti,
      iss: s.of(claims.iss),
      execAct: s.of(claims.exec_act),
      // Interned: tokens issued in the same second share one string.
      iat: s.of(isoOfSeconds(claims.iat)),
      exp: s.of(isoOfSeconds(claims.exp)),
      pred: claims.pred.map((p) => this.tasks.get(p)?.node.jti ?? p),
      kid: s.of(header.kid),
      verdict: 'verified',
      findings: NO_FINDINGS,
    };
    if (claims.wid !== undefined) node.wid = s.of(claims.wid);
    if (claims.inp_hash !== undefined) node.inpHash = claims.inp_hash;
    if (claims.out_hash !== undefined) node.outHash = claims.out_hash;
    const task: Task = {
      node,
      iat: claims.iat,
      at,
      digest,
      ledgerDigest: undefined,
      exportDigest: undefined,
      binding: this.#bindingOf(claims),
      logSpanKey: undefined,
      signature: 'pending',
      policyRejected: claims.ect_ext?.pol_decision === 'rejected',
    };
    this.tasks.set(claims.jti, task);
    return task;
  }

  /** Adds an exported span; a span read twice (two files, two backends) is kept once. */
  addSpan(span: OtlpSpan, at: string): SpanEntry {
    const s = this.strings;
    const traceIdLower = s.of(span.traceId.toLowerCase());
    const spanIdLower = span.spanId.toLowerCase();
    const known = this.spans.get(traceIdLower, spanIdLower);
    if (known !== undefined) return known;
    const a = span.attributes;
    const jti = a[ATTR.jti];
    const pred = a[ATTR.pred];
    const rejected = a[ATTR.incomingRejected];
    const errorType = a['error.type'];
    const http = a['http.response.status_code'] ?? a['http.status_code'];
    const traceId = traceIdLower;
    const task = typeof jti === 'string' ? this.tasks.get(jti) : undefined;
    // The token's binding usually names this very span: its id strings are then held once.
    const binding = task?.binding;
    const bound = binding !== undefined && binding.traceId === traceId && binding.spanId === spanIdLower;
    const parentSpanId = span.parentSpanId?.toLowerCase();
    const entry: SpanEntry = {
      traceId,
      spanId: bound ? binding.spanId : spanIdLower,
      parentSpanId: bound && binding.parentSpanId === parentSpanId ? binding.parentSpanId : parentSpanId,
      name: s.of(span.name),
      kind: span.kind === 'UNSPECIFIED' ? 'INTERNAL' : span.kind,
      status: span.status.code,
      statusMessage: span.status.message,
      errorType: typeof errorType === 'string' ? s.of(errorType) : undefined,
      httpStatus: typeof http === 'number' ? http : typeof http === 'string' ? Number(http) : undefined,
      service: s.of(span.service),
      startMs: span.startTimeUnixNano === undefined ? Number.NaN : Number(span.startTimeUnixNano / 1000n) / 1000,
      endMs: span.endTimeUnixNano === undefined ? Number.NaN : Number(span.endTimeUnixNano / 1000n) / 1000,
      jti: task?.node.jti ?? (typeof jti === 'string' ? jti : undefined),
      pred: Array.isArray(pred) ? this.#sharedPred(pred, task) : pred,
      issued: pred !== undefined || typeof a[ATTR.token] === 'string',
      rejected: typeof rejected === 'number' || typeof rejected === 'bigint' ? Number(rejected) : 0,
      at,
    };
    this.spans.add(entry);
    return entry;
  }

  /** A span's `ect.pred`: the task's own array when equal (most spans), so it is held once. */
  #sharedPred(pred: readonly unknown[], task: Task | undefined): unknown[] {
    const own = task?.node.pred;
    if (own !== undefined && own.length === pred.length && own.every((p, i) => p === pred[i])) return own;
    return pred.map((p) => (typeof p === 'string' ? (this.tasks.get(p)?.node.jti ?? p) : p));
  }

  #bindingOf(claims: EctClaims): TokenBinding | undefined {
    const b = claims.ect_ext?.[SPAN_BINDING_KEY];
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return undefined;
    const str = (v: unknown) => (typeof v === 'string' ? this.strings.of(v) : undefined);
    return {
      traceId: this.strings.of(String(b.trace_id ?? '').toLowerCase()),
      spanId: String(b.span_id ?? '').toLowerCase(),
      parentSpanId: str(b.parent_span_id)?.toLowerCase(),
      name: str(b.name) ?? '',
      kind: str(b.kind) ?? '',
      status: str(b.status) ?? 'UNSET',
      errorType: str(b.error_type),
      httpStatus: typeof b.http_status === 'number' ? b.http_status : undefined,
      join: b.join === true,
    };
  }
}

/**
 * ISO 8601 of seconds since the epoch (`undefined` when not a finite time).
 *
 * @example isoOfSeconds(0) // '1970-01-01T00:00:00.000Z'
 */
export function isoOfSeconds(seconds: number): string | undefined {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
