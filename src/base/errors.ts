/**
 * Typed errors. Every failure the verifier, the header codec, the key loaders or the DAG rules can
 * report is an {@link EctError} subclass with a stable `code` (safe to match on, to log and to put
 * in a 403 body) and the HTTP status the draft assigns to it.
 */

/** Stable machine-readable failure codes. */
export type EctErrorCode =
  | 'ECT_MISSING'
  | 'ECT_TOO_LARGE'
  | 'ECT_MALFORMED'
  | 'ECT_TYP_INVALID'
  | 'ECT_ALG_NOT_ALLOWED'
  | 'ECT_KID_MISSING'
  | 'ECT_KEY_UNKNOWN'
  | 'ECT_SIGNATURE_INVALID'
  | 'ECT_CLAIM_MISSING'
  | 'ECT_CLAIM_INVALID'
  | 'ECT_ISS_MISMATCH'
  | 'ECT_AUD_MISMATCH'
  | 'ECT_EXPIRED'
  | 'ECT_IAT_FUTURE'
  | 'ECT_TOO_OLD'
  | 'ECT_REPLAY'
  | 'ECT_FORMAT_INVALID'
  | 'ECT_EXT_TOO_LARGE'
  | 'ECT_EXT_TOO_DEEP'
  | 'ECT_PRED_TOO_MANY'
  | 'ECT_DAG_DUPLICATE_JTI'
  | 'ECT_DAG_TEMPORAL'
  | 'ECT_DAG_CYCLE'
  | 'ECT_DAG_TRAVERSAL_LIMIT'
  | 'ECT_DAG_WID_MISMATCH'
  | 'ECT_DAG_TRUST_DOMAIN'
  | 'ECT_POLICY_REJECTED'
  | 'ECT_HEADER_LIMIT'
  | 'ECT_BUSY'
  | 'ECT_NOT_ENFORCING'
  | 'ECT_KEY_INVALID'
  | 'ECT_SIGNING_FAILED'
  | 'ECT_SPAN_MISMATCH'
  | 'ECT_LEDGER_DUPLICATE'
  | 'ECT_LEDGER_NOT_FOUND'
  | 'ECT_LEDGER_ENTRY_INVALID'
  | 'ECT_LEDGER_PROOF_INVALID'
  | 'ECT_LEDGER_NOTE_INVALID'
  | 'ECT_LEDGER_CORRUPT'
  | 'ECT_LEDGER_LOCKED'
  | 'ECT_LEDGER_UNAVAILABLE'
  | 'ECT_LEDGER_SPOOL_FULL'
  | 'ECT_LEDGER_BAD_RESPONSE'
  | 'ECT_LEDGER_RESPONSE_TOO_LARGE'
  | 'ECT_AUDIT_SOURCE_SPEC_INVALID'
  | 'ECT_AUDIT_SOURCE_UNREACHABLE'
  | 'ECT_AUDIT_SOURCE_TIMEOUT'
  | 'ECT_AUDIT_SOURCE_HTTP'
  | 'ECT_AUDIT_SOURCE_TOO_LARGE'
  | 'ECT_AUDIT_SOURCE_INVALID'
  | 'ECT_AUDIT_SOURCE_LIMIT'
  | 'ECT_AUDIT_TRACE_NOT_FOUND'
  | 'ECT_AUDIT_TRACE_PARTIAL';

/** Base class of every error this package throws on purpose. */
export class EctError extends Error {
  /** Stable code, see {@link EctErrorCode}. */
  readonly code: EctErrorCode;
  /** HTTP status the draft assigns: 403 for a token that fails verification, 401 when none was presented. */
  readonly status: number;
  /** The claim or header parameter at fault, when there is one. */
  readonly claim: string | undefined;

  constructor(code: EctErrorCode, message: string, options: { claim?: string; status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.claim = options.claim;
    this.status = options.status ?? (code === 'ECT_MISSING' ? 401 : 403);
  }

  /** A JSON-safe description, the body of a 403 answer. */
  toJSON(): { code: EctErrorCode; message: string; claim?: string } {
    return this.claim === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, claim: this.claim };
  }
}

/** The token could not be parsed as a compact JWS carrying JSON, or is over the size cap. */
export class EctFormatError extends EctError {}

/** A header parameter (`typ`, `alg`, `kid`) or the key it names was refused. */
export class EctHeaderError extends EctError {}

/** The signature does not verify under the resolved key. */
export class EctSignatureError extends EctError {
  constructor(message = 'signature verification failed') {
    super('ECT_SIGNATURE_INVALID', message);
  }
}

/** A claim is missing, has the wrong type or an invalid value, or breaks a configured limit. */
export class EctClaimError extends EctError {}

/** A time rule failed (`exp`, `iat` in the future, maximum age). */
export class EctTimeError extends EctError {}

/** The `jti` was already seen within its validity window. */
export class EctReplayError extends EctError {
  constructor(jti: string) {
    super('ECT_REPLAY', `token ${jti} was already presented`, { claim: 'jti' });
  }
}

/** A DAG rule failed; `jti` names the token at fault. */
export class EctDagError extends EctError {
  readonly jti: string;
  constructor(code: EctErrorCode, jti: string, message: string) {
    super(code, message, { claim: 'pred' });
    this.jti = jti;
  }
}

/** An `Execution-Context` header broke a per-message limit. */
export class EctHeaderLimitError extends EctError {
  constructor(message: string) {
    super('ECT_HEADER_LIMIT', message);
  }
}

/** A key could not be loaded, generated or used. */
export class EctKeyError extends EctError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ECT_KEY_INVALID', message, options);
  }
}

/** Default HTTP status of each ledger failure: what a ledger server answers with. */
const LEDGER_STATUS: Partial<Record<EctErrorCode, number>> = {
  ECT_LEDGER_DUPLICATE: 409,
  ECT_LEDGER_NOT_FOUND: 404,
  ECT_LEDGER_ENTRY_INVALID: 400,
  ECT_LEDGER_PROOF_INVALID: 422,
  ECT_LEDGER_NOTE_INVALID: 422,
  ECT_LEDGER_CORRUPT: 500,
  ECT_LEDGER_LOCKED: 503,
  ECT_LEDGER_UNAVAILABLE: 503,
  ECT_LEDGER_SPOOL_FULL: 507,
  // A ledger server read from (not this process) answered something unusable: a gateway's status.
  ECT_LEDGER_BAD_RESPONSE: 502,
  ECT_LEDGER_RESPONSE_TOO_LARGE: 502,
};

/**
 * A ledger failure: a duplicate `(wid, jti)`, an entry or proof that does not check, a note whose
 * signature fails, or stored files that disagree with each other. `index` names the first log
 * entry at fault when there is one.
 */
export class EctLedgerError extends EctError {
  readonly index: number | undefined;
  constructor(code: EctErrorCode, message: string, options: { index?: number; cause?: unknown } = {}) {
    super(code, message, { status: LEDGER_STATUS[code] ?? 400, cause: options.cause });
    this.index = options.index;
  }
}

/** Default HTTP status of each audit-source failure, as a gateway in front of the backend would answer. */
const AUDIT_SOURCE_STATUS: Partial<Record<EctErrorCode, number>> = {
  ECT_AUDIT_SOURCE_SPEC_INVALID: 400,
  ECT_AUDIT_SOURCE_UNREACHABLE: 502,
  ECT_AUDIT_SOURCE_TIMEOUT: 504,
  ECT_AUDIT_SOURCE_HTTP: 502,
  ECT_AUDIT_SOURCE_TOO_LARGE: 502,
  ECT_AUDIT_SOURCE_INVALID: 502,
  ECT_AUDIT_SOURCE_LIMIT: 507,
  ECT_AUDIT_TRACE_NOT_FOUND: 404,
  ECT_AUDIT_TRACE_PARTIAL: 502,
};

/**
 * A tracing backend an audit reads from (Jaeger's or Tempo's query API) failed or answered
 * something unusable: a bad source specification, an unreachable host, a timeout, an HTTP error,
 * an oversized or malformed answer, a search that cannot be paged within its bounds, an unknown or
 * partial trace. `url` is the request's URL with any credentials removed; `httpStatus` is the
 * backend's answer status when there was one.
 */
export class EctAuditSourceError extends EctError {
  readonly url: string | undefined;
  readonly httpStatus: number | undefined;
  constructor(
    code: EctErrorCode,
    message: string,
    options: { url?: string; httpStatus?: number; cause?: unknown } = {},
  ) {
    super(code, message, { status: AUDIT_SOURCE_STATUS[code] ?? 502, cause: options.cause });
    this.url = options.url;
    this.httpStatus = options.httpStatus;
  }
}

/** True when `value` is an {@link EctError}, optionally with the given code. */
export function isEctError(value: unknown, code?: EctErrorCode): value is EctError {
  return value instanceof EctError && (code === undefined || value.code === code);
}

/**
 * A caught error as a refusal: the {@link EctError} itself; anything else (a bug, not a refusal)
 * is thrown on.
 *
 * @example try { return verifier.verifySync(token); } catch (error) { return asEctError(error); }
 */
export function asEctError(error: unknown): EctError {
  if (isEctError(error)) return error;
  throw error;
}
