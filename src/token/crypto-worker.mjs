// A worker of the crypto pool (src/token/crypto-pool.ts), run by piscina: runs one task, a list of
// batches (each: sign or verify, with one key), and returns each batch's results in order. Plain
// JavaScript because piscina loads its workers by file name, and this file must load both from
// src/ (tests) and from dist/ (the build copies it: tsconfig allowJs).
import { sign, verify } from 'node:crypto';

/**
 * @typedef {{ op: 'sign', key: import('node:crypto').KeyObject, digest: string | null, inputs: string[] }} SignBatch
 * @typedef {{ op: 'verify', key: import('node:crypto').KeyObject, digest: string | null, inputs: string[], signatures: string[] }} VerifyBatch
 * @typedef {{ op: 'verify-compact', key: import('node:crypto').KeyObject, digest: string | null, bytes: ArrayBuffer, bounds: Uint32Array }} CompactBatch
 *   compact tokens' bytes back to back; per token its start, its last dot and its end in `bytes`
 */

/**
 * @param {{ batches: (SignBatch | VerifyBatch | CompactBatch)[] }} task
 * @returns {(string[] | boolean[] | Uint8Array)[]} per batch: base64url signatures, or whether each
 *   signature verified (a `Uint8Array` of 1 and 0 for compact tokens)
 */
export default function runTask(task) {
  return task.batches.map(runBatch);
}

/**
 * @param {SignBatch | VerifyBatch | CompactBatch} batch
 * @returns {string[] | boolean[] | Uint8Array}
 */
function runBatch(batch) {
  if (batch.op === 'verify-compact') return verifyCompacts(batch);
  const { key, digest, inputs } = batch;
  const options = { key, dsaEncoding: /** @type {const} */ ('ieee-p1363') };
  const results = new Array(inputs.length);
  if (batch.op === 'verify') {
    for (let i = 0; i < inputs.length; i++) {
      try {
        results[i] = verify(
          digest,
          Buffer.from(inputs[i], 'latin1'),
          options,
          Buffer.from(batch.signatures[i], 'base64url'),
        );
      } catch {
        results[i] = false;
      }
    }
    return results;
  }
  for (let i = 0; i < inputs.length; i++) {
    results[i] = sign(digest, Buffer.from(inputs[i], 'latin1'), options).toString('base64url');
  }
  return results;
}

/**
 * Verifies compact tokens where they lie in the transferred bytes: the signing input is a view of
 * them, not a copy.
 *
 * @param {CompactBatch} batch
 * @returns {Uint8Array}
 */
function verifyCompacts({ key, digest, bytes, bounds }) {
  const buffer = Buffer.from(bytes);
  const options = { key, dsaEncoding: /** @type {const} */ ('ieee-p1363') };
  const verdicts = new Uint8Array(bounds.length / 3);
  for (let i = 0; i < verdicts.length; i++) {
    const start = bounds[3 * i];
    const dot = bounds[3 * i + 1];
    const end = bounds[3 * i + 2];
    if (dot >= end) continue;
    try {
      const signature = Buffer.from(buffer.toString('latin1', dot + 1, end), 'base64url');
      verdicts[i] = verify(digest, buffer.subarray(start, dot), options, signature) ? 1 : 0;
    } catch {
      // A signature that cannot be checked does not verify.
    }
  }
  return verdicts;
}
