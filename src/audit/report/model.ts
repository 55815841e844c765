/**
 * The audit report: what `ect audit` finds, as one JSON document (`--json`), and what the text,
 * HTML, Mermaid and DOT renderings are drawn from. The schema is versioned by {@link AUDIT_REPORT_SCHEMA};
 * a field is only ever added within a version, never renamed or given another meaning.
 */

/** Identifier and version of the report schema; bumped on any incompatible change. */
export const AUDIT_REPORT_SCHEMA = 'otel-ect/audit-report/v1';

/**
 * The audit's answer. `verified`: every check ran and held. `partial`: nothing failed but something
 * could not be checked or is missing (a predecessor outside the set, a span without a token, an
 * unchecked signature). `failed`: a check failed. Exit codes 0 / 3 / 1.
 */
export type AuditVerdict = 'verified' | 'partial' | 'failed';

/**
 * One task's standing. `verified`: its token verified and every check about it held. `failed`: a
 * check about it failed. `suspect`: it holds on its own but descends from a failed or revoked task.
 * `partial`: nothing failed, something about it could not be checked. `missing`: referenced as a
 * predecessor (or expected from a span) but no token was found.
 */
export type NodeVerdict = 'verified' | 'failed' | 'suspect' | 'partial' | 'missing';

/** The checks an audit runs, each reported on its own. */
export type AuditCheckName =
  | 'signature'
  | 'claims'
  | 'dag'
  | 'binding'
  | 'completeness'
  | 'ledger-inclusion'
  | 'ledger-consistency'
  | 'revocation';

/** `skipped`: the check could not run with the sources given (e.g. no ledger, no keys). */
export type CheckStatus = 'pass' | 'fail' | 'partial' | 'skipped';

/** Where something was read. */
export interface AuditSource {
  kind: 'otlp-file' | 'jaeger' | 'tempo' | 'ledger-file' | 'ledger-postgres' | 'ledger-http' | 'token-file';
  /** File path, URL (credentials removed) or connection string (password removed). */
  location: string;
  tokens: number;
  spans: number;
}

/** A span, as exported: what a token is bound to. */
export interface AuditSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** `internal` | `server` | `client` | `producer` | `consumer`. */
  kind: string;
  /** `unset` | `ok` | `error`. */
  status: string;
  /** Service name from the span's resource, when known. */
  service?: string;
  /** Start and end, ISO 8601. */
  start: string;
  end: string;
  /** Link into a Jaeger UI, when the audit was given one (`--jaeger-ui URL`). */
  url?: string;
}

/** One task: a token's claims, its span and its standing. */
export interface AuditNode {
  jti: string;
  /** Absent for a `missing` node. */
  iss?: string;
  wid?: string;
  execAct?: string;
  /** Issued at and expiry, ISO 8601. */
  iat?: string;
  exp?: string;
  /** Predecessor `jti`s. */
  pred: string[];
  inpHash?: string;
  outHash?: string;
  /** Key id the token was signed with. */
  kid?: string;
  verdict: NodeVerdict;
  span?: AuditSpan;
  /** The token's leaf in the ledger, when the ledger was a source. */
  ledgerIndex?: number;
  /** Indexes into {@link AuditReport.findings} about this task. */
  findings: number[];
}

/** A DAG edge: `from` is the predecessor of `to`. */
export interface AuditEdge {
  from: string;
  to: string;
}

/** One thing the audit found wrong or could not establish. */
export interface AuditFinding {
  check: AuditCheckName;
  /** `failed` breaks the audit; `partial` leaves it unproven. */
  severity: 'failed' | 'partial';
  /** Stable code: an `EctErrorCode` (e.g. `ECT_BAD_SIGNATURE`) or an audit code (e.g. `ECT_AUDIT_SPAN_WITHOUT_TOKEN`). */
  code: string;
  message: string;
  /** The tasks involved (first the one at fault). */
  jtis: string[];
  /** The spans involved. */
  spans: { traceId: string; spanId: string; name?: string }[];
  /** Where the offending record was read, e.g. `export/spans.jsonl:12` or `ledger:#41`. */
  at?: string;
}

/** One check's outcome. */
export interface AuditCheck {
  name: AuditCheckName;
  status: CheckStatus;
  /** How many findings this check produced. */
  findings: number;
  /** One line on what was checked, or why it was skipped. */
  detail: string;
}

/** The whole report (`ect audit --json`). */
export interface AuditReport {
  schema: typeof AUDIT_REPORT_SCHEMA;
  /** When the audit ran, ISO 8601. */
  generatedAt: string;
  verdict: AuditVerdict;
  summary: {
    tokens: number;
    spans: number;
    edges: number;
    /** Nodes by verdict. */
    verified: number;
    failed: number;
    suspect: number;
    partial: number;
    missing: number;
  };
  sources: AuditSource[];
  checks: AuditCheck[];
  /** In causal (topological) order; predecessors before successors. */
  nodes: AuditNode[];
  edges: AuditEdge[];
  findings: AuditFinding[];
  /**
   * Added in v1: the ledger as the audit found it, when one was a source. `checkpoint` is the
   * signed note read (what `--save-checkpoint` writes for the next audit's `--since-checkpoint`).
   */
  ledger?: AuditLedger;
}

/** The ledger an audit read (see {@link AuditReport.ledger}). */
export interface AuditLedger {
  kind: 'ledger-file' | 'ledger-postgres' | 'ledger-http';
  location: string;
  origin?: string;
  /** Tree size of the checkpoint read. */
  size?: number;
  /** Root hash, standard base64. */
  root?: string;
  /** The signed checkpoint note, as read. */
  checkpoint?: string;
  /** The checkpoint's signature was checked with a note key: `given` (`--ledger-key`) or the `ledger`'s own. */
  keySource: 'given' | 'ledger' | 'none';
  /** Every entry hashed back to the checkpoint's root. */
  rootMatches: boolean;
  /** Receipts served by the ledger that were checked. */
  receiptsChecked: number;
}
