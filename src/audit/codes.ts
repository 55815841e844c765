/**
 * Stable codes of the audit's own findings (beside the `EctErrorCode`s of token verification and
 * the DAG rules, which findings reuse as they are).
 */
export const AUDIT_CODE = {
  /** A span carries `ect.jti` and was issued a token (`ect.pred` set), but no source holds the token. */
  spanWithoutToken: 'ECT_AUDIT_SPAN_WITHOUT_TOKEN',
  /** A token names a span (its binding) that no source holds, though the trace's other spans are there. */
  tokenWithoutSpan: 'ECT_AUDIT_TOKEN_WITHOUT_SPAN',
  /** A token's trace is not in any span source at all: its span could not be looked for. */
  traceNotExported: 'ECT_AUDIT_TRACE_NOT_EXPORTED',
  /** A `pred` names a task no source holds. */
  danglingPred: 'ECT_AUDIT_DANGLING_PRED',
  /** A service refused incoming tokens (`ect.incoming.rejected`): those edges were never recorded. */
  refusedIncoming: 'ECT_AUDIT_REFUSED_INCOMING',
  /** A span and its token disagree (ids, name, kind, status, error type, `ect.jti`, `ect.pred`). */
  spanMismatch: 'ECT_SPAN_MISMATCH',
  /** A span's times do not contain its token's `iat` (within the clock skew). */
  spanTime: 'ECT_AUDIT_SPAN_TIME',
  /** A predecessor's span starts after its successor's span ended. */
  spanOrder: 'ECT_AUDIT_SPAN_ORDER',
  /** A token log record is attached to another span than the token's binding names. */
  logRecordSpan: 'ECT_AUDIT_LOG_RECORD_SPAN',
  /** Two different compact tokens carry the same `jti`. */
  tokenConflict: 'ECT_AUDIT_TOKEN_CONFLICT',
  /** A token is not in the ledger. */
  notInLedger: 'ECT_AUDIT_NOT_IN_LEDGER',
  /** A token differs from the ledger's entry with its `jti`. */
  ledgerDiffers: 'ECT_AUDIT_LEDGER_DIFFERS',
  /** The ledger's entries do not hash to its signed checkpoint's root. */
  ledgerRoot: 'ECT_AUDIT_LEDGER_ROOT',
  /** The ledger could not be read (unreachable server, database error, missing entry bundle). */
  ledgerUnreadable: 'ECT_AUDIT_LEDGER_UNREADABLE',
  /** The ledger's checkpoint does not verify with the note key. */
  ledgerCheckpoint: 'ECT_AUDIT_LEDGER_CHECKPOINT',
  /** A receipt the ledger serves does not verify. */
  ledgerReceipt: 'ECT_AUDIT_LEDGER_RECEIPT',
  /** The ledger is smaller than, or not an extension of, a checkpoint the auditor saved earlier. */
  ledgerInconsistent: 'ECT_AUDIT_LEDGER_INCONSISTENT',
  /** No note key was given and the ledger offers none: its checkpoint signature was not checked. */
  ledgerUnsigned: 'ECT_AUDIT_LEDGER_KEY_UNKNOWN',
  /** A token was signed with a revoked key at or after the revocation time. */
  keyRevoked: 'ECT_AUDIT_KEY_REVOKED',
  /** A token descends from a failed task. */
  suspect: 'ECT_AUDIT_SUSPECT',
  /** Signatures were not checked (no keys given). */
  unchecked: 'ECT_AUDIT_SIGNATURE_UNCHECKED',
} as const;

/** One of {@link AUDIT_CODE}'s values. */
export type AuditCode = (typeof AUDIT_CODE)[keyof typeof AUDIT_CODE];
