/**
 * Roots of ranges of leaves, computed from stored hashes of perfect subtrees. A perfect subtree
 * at `level` and `index` covers the 2^level leaves from `index · 2^level`; any range on the right
 * edge of a tree splits into O(log n) of them, which is why proofs read O(log n) stored hashes.
 */
import { emptyRoot, nodeHash } from './hash.js';

/**
 * Reads the stored hash of the perfect subtree at `level` (0 = leaves) and `index`. Called only
 * for subtrees that lie wholly inside the tree being asked about.
 */
export type NodeReader = (level: number, index: number) => Uint8Array;

/**
 * Largest power of two strictly below `n` (n ≥ 2): the split point `k` of RFC 9162 §2.1.1.
 *
 * @example splitPoint(7) // 4; splitPoint(8) // 4
 */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH(D[start:end]) for `start` aligned to the largest power of two ≤ end − start (which holds for
 * every range the RFC's recursion visits): one stored read when the range is a perfect subtree,
 * otherwise the hash of its left perfect part and its right remainder.
 *
 * @example rangeRoot(read, 0, 7) // the root of a 7-leaf tree
 */
export function rangeRoot(read: NodeReader, start: number, end: number): Buffer {
  const size = end - start;
  if (size <= 0) throw new RangeError(`empty range [${start}, ${end})`);
  if ((size & (size - 1)) === 0 && start % size === 0) {
    return Buffer.from(read(Math.log2(size), start / size));
  }
  const k = splitPoint(size);
  return nodeHash(rangeRoot(read, start, start + k), rangeRoot(read, start + k, end));
}

/**
 * Root of the tree of the first `size` leaves; the empty tree's root for size 0.
 *
 * @example treeRoot(read, 1_000_000) // reads 7 stored hashes (one per set bit of the size)
 */
export function treeRoot(read: NodeReader, size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid tree size ${size}`);
  return size === 0 ? emptyRoot() : rangeRoot(read, 0, size);
}

/**
 * A {@link NodeReader} over leaf hashes held in memory, hashing up each subtree it is asked for:
 * the brute-force reference the stored trees are checked against.
 *
 * @example treeRoot(readerOverLeaves(leaves), leaves.length)
 */
export function readerOverLeaves(leaves: readonly Uint8Array[]): NodeReader {
  const read: NodeReader = (level, index) => {
    if (level === 0) {
      const leaf = leaves[index];
      if (leaf === undefined) throw new RangeError(`no leaf ${index}`);
      return leaf;
    }
    return nodeHash(read(level - 1, index * 2), read(level - 1, index * 2 + 1));
  };
  return read;
}
