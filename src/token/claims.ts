/**
 * The claims of an Execution Context Token, in the -01 shape (`pred`, `ect_ext`). Tokens read in
 * the -00 shape (`par`, `ext`) are normalised to this shape; {@link VerifiedEct.draft} says which
 * one was on the wire.
 */
import type { DraftVersion, EctAlgorithm } from '../base/algorithms.js';

/** A JSON value, as carried in `ect_ext`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object, as carried in `ect_ext`. */
export type JsonObject = { [key: string]: JsonValue };

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
