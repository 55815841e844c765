/**
 * Proof verification as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) specify it,
 * step by step, with the bit-twiddling over `fn`/`sn` that needs no tree in memory.
 */
import { EctLedgerError } from '../../base/errors.js';
import { HASH_SIZE, nodeHash } from './hash.js';

function fail(message: string): never {
  throw new EctLedgerError('ECT_LEDGER_PROOF_INVALID', message);
}

function checkHashes(what: string, hashes: readonly Uint8Array[]): void {
  for (const h of hashes) if (h.length !== HASH_SIZE) fail(`${what}: a hash is ${h.length} bytes, not ${HASH_SIZE}`);
}

// Sizes up to 2^53 do not fit 32-bit operators; halving and parity keep to exact doubles.
const lsb = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/**
 * The root that an inclusion proof leads to from `leaf` (a leaf hash) at `index` in a tree of
 * `size` leaves; throws `ECT_LEDGER_PROOF_INVALID` when the proof has the wrong shape.
 *
 * @example rootFromInclusionProof(leafHash(entry), 3, 7, proof).equals(root)
 */
export function rootFromInclusionProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Buffer {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    fail(`leaf index ${index} is not inside a tree of size ${size}`);
  }
  checkHashes('inclusion proof', [leaf, ...proof]);
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) fail('inclusion proof is longer than the tree is deep');
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn)) {
        while (!(lsb(fn) || fn === 0)) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('inclusion proof is shorter than the tree is deep');
  return r;
}

/**
 * Checks that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
 *
 * @example verifyInclusion(leafHash(entry), 3, 7, proof, root) // throws ECT_LEDGER_PROOF_INVALID if not
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  if (!rootFromInclusionProof(leaf, index, size, proof).equals(root)) {
    fail(`inclusion proof of leaf ${index} does not lead to the root of the tree of size ${size}`);
  }
}

/**
 * Checks that the tree of `oldSize` leaves with root `oldRoot` is a prefix of the tree of
 * `newSize` leaves with root `newRoot`.
 *
 * @example verifyConsistency(3, 7, proof, oldRoot, newRoot) // throws ECT_LEDGER_PROOF_INVALID if not
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): void {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) {
    fail(`a tree of size ${oldSize} cannot be a prefix of one of size ${newSize}`);
  }
  checkHashes('consistency proof', [oldRoot, newRoot, ...proof]);
  if (oldSize === newSize) {
    if (proof.length !== 0) fail('consistency proof between equal sizes must be empty');
    if (!Buffer.from(oldRoot).equals(newRoot)) fail(`two different roots for the tree of size ${oldSize}`);
    return;
  }
  if (oldSize === 0) {
    // Every tree extends the empty tree; there is nothing to prove.
    if (proof.length !== 0) fail('consistency proof from the empty tree must be empty');
    return;
  }
  if (proof.length === 0) fail('consistency proof is empty');
  // Step 2: an old tree that is a perfect subtree is its own first proof node.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (lsb(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = Buffer.from(fr);
  for (const c of path.slice(1)) {
    if (sn === 0) fail('consistency proof is longer than the trees are deep');
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn)) {
        while (!(lsb(fn) || fn === 0)) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('consistency proof is shorter than the trees are deep');
  if (!fr.equals(oldRoot)) fail(`consistency proof does not lead to the root of the tree of size ${oldSize}`);
  if (!sr.equals(newRoot)) fail(`consistency proof does not lead to the root of the tree of size ${newSize}`);
}

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}
