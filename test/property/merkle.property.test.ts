/**
 * The stored-subtree proof generator against a brute-force reference written straight from the
 * RFC 9162 definitions over arrays (MTH, PATH, SUBPROOF), and both against the RFC's verifiers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  readerOverLeaves,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/merkle/index.js';

const k = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
const mth = (d: Buffer[]): Buffer =>
  d.length === 0
    ? emptyRoot()
    : d.length === 1
      ? (d[0] as Buffer)
      : nodeHash(mth(d.slice(0, k(d.length))), mth(d.slice(k(d.length))));
const path = (m: number, d: Buffer[]): Buffer[] => {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
};
const subproof = (m: number, d: Buffer[], whole: boolean): Buffer[] => {
  if (m === d.length) return whole ? [] : [mth(d)];
  const s = k(d.length);
  return m <= s
    ? [...subproof(m, d.slice(0, s), whole), mth(d.slice(s))]
    : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
};

const leavesOf = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
const flip = (h: Buffer, bit: number): Buffer => {
  const copy = Buffer.from(h);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
};
const throws = (run: () => void): boolean => {
  try {
    run();
    return false;
  } catch {
    return true;
  }
};

describe('Merkle tree against the brute-force reference', () => {
  it('roots, inclusion proofs and consistency proofs agree and verify', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 255 }),
        (n, rawIndex, rawOld, bit) => {
          const d = leavesOf(n);
          const read = readerOverLeaves(d);
          const root = treeRoot(read, n);
          expect(root).toEqual(mth(d));
          const index = rawIndex % n;
          const proof = inclusionProof(read, index, n);
          expect(proof).toEqual(path(index, d));
          verifyInclusion(d[index] as Buffer, index, n, proof, root);
          if (proof.length > 0) {
            const at = bit % proof.length;
            const bad = proof.map((p, i) => (i === at ? flip(p, bit) : p));
            expect(throws(() => verifyInclusion(d[index] as Buffer, index, n, bad, root))).toBe(true);
          }
          if (n > 1)
            expect(throws(() => verifyInclusion(d[index] as Buffer, (index + 1) % n, n, proof, root))).toBe(true);
          const m = 1 + (rawOld % n);
          const cproof = consistencyProof(read, m, n);
          expect(cproof).toEqual(m === n ? [] : subproof(m, d, true));
          const oldRoot = mth(d.slice(0, m));
          verifyConsistency(m, n, cproof, oldRoot, root);
          expect(throws(() => verifyConsistency(m, n, cproof, flip(oldRoot, bit), root))).toBe(true);
          if (cproof.length > 0) {
            const bad = cproof.map((p, i) => (i === bit % cproof.length ? flip(p, bit) : p));
            expect(throws(() => verifyConsistency(m, n, bad, oldRoot, root))).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
