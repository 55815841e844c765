/**
 * The signature algorithms and token types of the profile. The ground floor: imported by the key
 * loaders, the signer and the verifier alike, importing nothing itself.
 */

/** Signature algorithms of the allowlist. ES256 is the default and always supported. */
export type EctAlgorithm = 'ES256' | 'ES384' | 'EdDSA';

/** Every algorithm this package can sign and verify. */
export const SUPPORTED_ALGORITHMS: readonly EctAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];

/** Draft versions this package reads and can emit. */
export type DraftVersion = '00' | '01';

/** `typ` of a -01 token (emitted by default). */
export const TYP_01 = 'exec+jwt';
/** `typ` of a -00 token (accepted, and emitted with `draft: '00'`). */
export const TYP_00 = 'wimse-exec+jwt';

/** The `node:crypto` digest of each algorithm; `null` where the algorithm hashes itself (Ed25519). */
export const DIGEST: Readonly<Record<EctAlgorithm, string | null>> = { ES256: 'sha256', ES384: 'sha384', EdDSA: null };

/** Bytes of a raw (IEEE P1363 / RFC 8032) signature of each algorithm. */
export const SIGNATURE_BYTES: Readonly<Record<EctAlgorithm, number>> = { ES256: 64, ES384: 96, EdDSA: 64 };
