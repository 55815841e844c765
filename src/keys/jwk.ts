import { createHash, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { SUPPORTED_ALGORITHMS, type EctAlgorithm } from '../base/algorithms.js';
import { EctKeyError } from '../base/errors.js';
import type { SigningKey, VerificationKey } from './types.js';

/** A public JWK as this package writes it: key members, `kid`, `alg`, `use`, optional issuer binding. */
export interface EctPublicJwk extends JsonWebKey {
  kid: string;
  alg: EctAlgorithm;
  use?: string;
  /** Issuers this key may sign for (this package's JWK member for issuer binding). */
  ect_iss?: string | string[];
}

/** A JWK Set. */
export interface JwkSet {
  keys: JsonWebKey[];
}

const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url): the default `kid`. Synchronous, unlike `jose`'s,
 * because keys are loaded on paths that cannot await; a test holds it to `jose`'s result.
 *
 * @example jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '…' })
 */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? ''];
  if (members === undefined) throw new EctKeyError(`cannot compute a thumbprint for kty ${JSON.stringify(jwk.kty)}`);
  const record = jwk as Record<string, unknown>;
  const canonical: Record<string, unknown> = {};
  for (const name of members) {
    if (typeof record[name] !== 'string') throw new EctKeyError(`JWK is missing ${name}`);
    canonical[name] = record[name];
  }
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

/**
 * The algorithm a key is for, from its type and curve: P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA.
 *
 * @example algorithmOf(publicKey) // 'ES256'
 */
export function algorithmOf(key: KeyObject): EctAlgorithm {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === 'ec' && (curve === 'prime256v1' || curve === 'P-256')) return 'ES256';
  if (type === 'ec' && (curve === 'secp384r1' || curve === 'P-384')) return 'ES384';
  if (type === 'ed25519') return 'EdDSA';
  throw new EctKeyError(
    `unsupported key: ${type ?? 'unknown'}${curve === undefined ? '' : ` on ${curve}`} (ES256, ES384 or EdDSA/Ed25519 only)`,
  );
}

function checkedAlg(jwk: JsonWebKey, key: KeyObject): EctAlgorithm {
  const alg = algorithmOf(key);
  const declared = (jwk as { alg?: unknown }).alg;
  if (declared !== undefined && declared !== alg) {
    throw new EctKeyError(`JWK says alg ${String(declared)} but the key is for ${alg}`);
  }
  if (!SUPPORTED_ALGORITHMS.includes(alg)) throw new EctKeyError(`unsupported alg ${alg}`);
  return alg;
}

/**
 * The issuers a JWK is bound to by its `ect_iss` member (a string or an array of strings), or
 * `undefined` when it has none. Throws {@link EctKeyError} for any other value.
 *
 * @example issuersOf({ kty: 'EC', ect_iss: 'spiffe://example.org/a' }) // ['spiffe://example.org/a']
 */
export function issuersOf(jwk: JsonWebKey): string[] | undefined {
  const value = (jwk as { ect_iss?: unknown }).ect_iss;
  if (value === undefined) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw new EctKeyError('JWK member ect_iss must be a string or an array of strings');
}

/**
 * Imports a public JWK (private members are ignored) for verification.
 *
 * @example const key = importVerificationJwk(jwks.keys[0]);
 */
export function importVerificationJwk(jwk: JsonWebKey): VerificationKey {
  const publicJwk = { ...jwk };
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) delete (publicJwk as Record<string, unknown>)[member];
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: publicJwk, format: 'jwk' });
  } catch (cause) {
    throw new EctKeyError(`cannot import JWK: ${(cause as Error).message}`, { cause });
  }
  const alg = checkedAlg(jwk, publicKey);
  const kid =
    typeof (jwk as { kid?: unknown }).kid === 'string' ? (jwk as { kid: string }).kid : jwkThumbprint(publicJwk);
  const issuers = issuersOf(jwk);
  return issuers === undefined ? { kid, alg, publicKey } : { kid, alg, publicKey, issuers };
}

/**
 * Imports a private JWK for signing.
 *
 * @example const key = importSigningJwk(JSON.parse(fs.readFileSync('private.jwk.json', 'utf8')));
 */
export function importSigningJwk(jwk: JsonWebKey): SigningKey {
  if (typeof jwk.d !== 'string') throw new EctKeyError('JWK has no private part (d)');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (cause) {
    throw new EctKeyError(`cannot import private JWK: ${(cause as Error).message}`, { cause });
  }
  const alg = checkedAlg(jwk, privateKey);
  const kid =
    typeof (jwk as { kid?: unknown }).kid === 'string'
      ? (jwk as { kid: string }).kid
      : jwkThumbprint(publicJwkFields(privateKey));
  return { kid, alg, privateKey };
}

function publicJwkFields(key: KeyObject): JsonWebKey {
  return createPublicKey(key).export({ format: 'jwk' });
}

/**
 * The public JWK of a signing key, with `kid`, `alg`, `use: sig` and optional issuer binding.
 *
 * @example fs.writeFileSync('jwks.json', JSON.stringify({ keys: [publicJwkOf(key)] }));
 */
export function publicJwkOf(key: SigningKey, issuers?: readonly string[]): EctPublicJwk {
  const jwk: EctPublicJwk = { ...publicJwkFields(key.privateKey), kid: key.kid, alg: key.alg, use: 'sig' };
  if (issuers !== undefined && issuers.length > 0) jwk.ect_iss = [...issuers];
  return jwk;
}

/**
 * The private JWK of a signing key, with `kid` and `alg`.
 *
 * @example fs.writeFileSync('private.jwk.json', JSON.stringify(privateJwkOf(key)), { mode: 0o600 });
 */
export function privateJwkOf(key: SigningKey): JsonWebKey & { kid: string; alg: EctAlgorithm } {
  return { ...key.privateKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg };
}

/**
 * The verification key matching a signing key (the same `kid` and `alg`).
 *
 * @example const resolver = new JwksResolver([verificationKeyOf(signingKey)]);
 */
export function verificationKeyOf(key: SigningKey, issuers?: readonly string[]): VerificationKey {
  const publicKey = createPublicKey(key.privateKey);
  return issuers === undefined
    ? { kid: key.kid, alg: key.alg, publicKey }
    : { kid: key.kid, alg: key.alg, publicKey, issuers };
}
