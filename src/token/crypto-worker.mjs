// A worker of the crypto pool (src/token/crypto-pool.ts), run by piscina: runs one task, a list of
// batches (each: sign or verify, with one key), and returns each batch's results in order. Plain
// JavaScript because piscina loads its workers by file name, and this file must load both from
// src/ (tests) and from dist/ (the build copies it: tsconfig allowJs).
import { sign, verify } from 'node:crypto';

/**
 * @typedef {{ op: 'sign', key: import('node:crypto').KeyObject, digest: string | null, inputs: string[] }} SignBatch
 * @typedef {{ op: 'verify', key: import('node:crypto').KeyObject, digest: string | null, inputs: string[], signatures: string[] }} VerifyBatch
 */

/**
 * @param {{ batches: (SignBatch | VerifyBatch)[] }} task
 * @returns {(string[] | boolean[])[]} per batch: base64url signatures, or whether each signature verified
 */
export default function runTask(task) {
  return task.batches.map(runBatch);
}

/**
 * @param {SignBatch | VerifyBatch} batch
 * @returns {string[] | boolean[]}
 */
function runBatch(batch) {
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
