import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { EctAlgorithm } from '../base/algorithms.js';
import { EctKeyError } from '../base/errors.js';
import { jwkThumbprint } from './jwk.js';
import type { SigningKey } from './types.js';

/**
 * Generates a fresh signing key; its `kid` is the RFC 7638 thumbprint of the public key.
 *
 * @example const key = generateSigningKey('ES256');
 */
export function generateSigningKey(alg: EctAlgorithm = 'ES256'): SigningKey {
  let privateKey: KeyObject;
  if (alg === 'ES256') ({ privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  else if (alg === 'ES384') ({ privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' }));
  else if (alg === 'EdDSA') ({ privateKey } = generateKeyPairSync('ed25519'));
  else throw new EctKeyError(`cannot generate a key for alg ${String(alg)}`);
  const kid = jwkThumbprint(privateKey.export({ format: 'jwk' }));
  return { kid, alg, privateKey };
}
