/**
 * Inclusion and consistency proofs generated exactly as RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1
 * (PROOF / SUBPROOF) define them, over stored subtree hashes.
 */
import { rangeRoot, splitPoint, type NodeReader } from './range.js';

function checkSizes(what: string, low: number, high: number, inclusiveHigh: boolean): void {
  const ok =
    Number.isSafeInteger(low) && Number.isSafeInteger(high) && low >= 0 && (inclusiveHigh ? low <= high : low < high);
  if (!ok) throw new RangeError(`${what}: invalid bounds ${low}, ${high}`);
}

/**
 * The audit path of leaf `index` in the tree of the first `size` leaves, leaf end first.
 *
 * @example inclusionProof(read, 3, 7) // [c, g, l] in the RFC's 7-leaf example
 */
export function inclusionProof(read: NodeReader, index: number, size: number): Buffer[] {
  checkSizes('inclusion proof', index, size, false);
  const path: Buffer[] = [];
  // PATH(m, D[start:end]) is PATH of the half holding m, followed by the root of the other half.
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(rangeRoot(read, start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(rangeRoot(read, start, start + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/**
 * The proof that the tree of the first `oldSize` leaves is a prefix of the tree of the first
 * `newSize`: empty when the sizes are equal or the old tree is empty.
 *
 * @example consistencyProof(read, 3, 7) // [c, d, g, l] in the RFC's example
 */
export function consistencyProof(read: NodeReader, oldSize: number, newSize: number): Buffer[] {
  checkSizes('consistency proof', oldSize, newSize, true);
  const proof: Buffer[] = [];
  if (oldSize === 0 || oldSize === newSize) return proof;
  const sub = (m: number, start: number, end: number, wholeOldTree: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!wholeOldTree) proof.push(rangeRoot(read, start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, start + k, wholeOldTree);
      proof.push(rangeRoot(read, start + k, end));
    } else {
      sub(m - k, start + k, end, false);
      proof.push(rangeRoot(read, start, start + k));
    }
  };
  sub(oldSize, 0, newSize, true);
  return proof;
}
