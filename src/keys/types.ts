import type { KeyObject } from 'node:crypto';
import type { EctAlgorithm } from '../base/algorithms.js';

/** A private key ready to sign, with the `kid` and `alg` it signs under. */
export interface SigningKey {
  kid: string;
  alg: EctAlgorithm;
  privateKey: KeyObject;
}

/** A public key ready to verify, with its optional issuer binding. */
export interface VerificationKey {
  kid: string;
  alg: EctAlgorithm;
  publicKey: KeyObject;
  /**
   * Issuers (`iss`) this key may sign for. Empty or absent: no binding stored with the key
   * (then the verifier's issuer map, or its strict option, decides).
   */
  issuers?: readonly string[];
}

/**
 * Finds the verification key for a `kid`. `resolveSync` serves the synchronous paths (the
 * propagator's `extract` cannot await); `resolve`, when present, may fetch (a remote JWK Set).
 */
export interface KeyResolver {
  resolveSync(kid: string): VerificationKey | undefined;
  resolve?(kid: string): Promise<VerificationKey | undefined>;
}
