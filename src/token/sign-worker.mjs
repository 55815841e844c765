// A worker of the crypto pool (src/token/crypto-pool.ts), run by piscina: signs one batch of
// signing inputs with one key and returns the base64url signatures in the same order. Plain
// JavaScript because piscina loads its workers by file name, and this file must be loadable both
// from src/ (tests) and from dist/ (the build copies it: tsconfig allowJs).
import { sign } from 'node:crypto';

/**
 * @param {{ key: import('node:crypto').KeyObject, digest: string | null, inputs: string[] }} batch
 * @returns {string[]}
 */
export default function signBatch({ key, digest, inputs }) {
  const options = { key, dsaEncoding: /** @type {const} */ ('ieee-p1363') };
  const signatures = new Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    signatures[i] = sign(digest, Buffer.from(inputs[i], 'latin1'), options).toString('base64url');
  }
  return signatures;
}
