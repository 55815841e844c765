/**
 * The claims of an Execution Context Token, in the -01 shape (`pred`, `ect_ext`). Tokens read in
 * the -00 shape (`par`, `ext`) are normalised to this shape; {@link VerifiedEct.draft} says which
 * one was on the wire.
 */

/** A JSON value, as carried in `ect_ext`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object, as carried in `ect_ext`. */
export type JsonObject = { [key: string]: JsonValue };

/** Draft versions this package reads and can emit. */
export type DraftVersion = '00' | '01';

/** Signature algorithms of the allowlist. ES256 is the default and always supported. */
export type EctAlgorithm = 'ES256' | 'ES384' | 'EdDSA';

/** Every algorithm this package can sign and verify. */
export const SUPPORTED_ALGORITHMS: readonly EctAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];

/** `typ` header values: the -01 form is emitted by default, both are accepted. */
export const TYP_01 = 'exec+jwt';
export const TYP_00 = 'wimse-exec+jwt';

/** Normalised ECT claims. */
export interface EctClaims {
  /** Issuer workload identity, e.g. `spiffe://example.org/ns/prod/sa/payments`. */
  iss: string;
  /** Every party expected to verify. */
  aud: string | string[];
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Token id, which is also the task id: a UUID. */
  jti: string;
  /** Workflow id (UUID). */
  wid?: string;
  /** The action performed. */
  exec_act: string;
  /** Predecessor task ids; `[]` for a root task. */
  pred: string[];
  /** base64url SHA-256 of the task's input. */
  inp_hash?: string;
  /** base64url SHA-256 of the task's output. */
  out_hash?: string;
  /** Extension object, reverse-DNS keys. */
  ect_ext?: JsonObject;
}

/** The protected header of a token. */
export interface EctHeader {
  alg: EctAlgorithm;
  typ: string;
  kid: string;
}

/** A token that passed verification. */
export interface VerifiedEct {
  /** The compact serialisation as received. */
  token: string;
  header: EctHeader;
  claims: EctClaims;
  /** Which draft's claim names the token used. */
  draft: DraftVersion;
}

/** Limits from the profile; all can be tightened by configuration. */
export const LIMITS = {
  /** Whole compact token, checked before any decoding. */
  maxTokenBytes: 4096,
  /** Serialized `ect_ext`. */
  maxExtBytes: 4096,
  /** Nesting depth of `ect_ext` (the object itself is depth 1). */
  maxExtDepth: 5,
  /** Entries in `pred`. */
  maxPred: 100,
  /** Clock skew tolerated on `iat` and in the DAG temporal rule, seconds. */
  clockSkewSeconds: 30,
  /** Maximum token age for live traffic, seconds. */
  maxAgeSeconds: 900,
  /** Default lifetime, seconds. */
  defaultTtlSeconds: 600,
  /** Tokens per `Execution-Context` message. */
  maxHeaderTokens: 8,
  /** Bytes of all `Execution-Context` values of one message. */
  maxHeaderBytes: 8192,
} as const;
