import { createHash } from 'node:crypto';
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
} from '../../../src/ledger/merkle/index.js';
import { isEctError } from '../../../src/base/errors.js';

const entries = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6'].map((s) => Buffer.from(s));
const leaves = entries.map(leafHash);
const read = readerOverLeaves(leaves);
// The nodes of the 7-leaf example tree of RFC 9162 §2.1.5 (a..f, j leaves; g, h, i, k, l interior).
const [a, b, c, d, e, f, j] = leaves as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
const g = nodeHash(a, b);
const h = nodeHash(c, d);
const i = nodeHash(e, f);
const k = nodeHash(g, h);
const l = nodeHash(i, j);
const root7 = nodeHash(k, l);

describe('RFC 9162 worked examples (§2.1.5)', () => {
  it('hashes leaves and nodes with the 0x00 / 0x01 prefixes', () => {
    expect(leafHash(Buffer.from('x'))).toEqual(
      createHash('sha256')
        .update(Buffer.from([0, 0x78]))
        .digest(),
    );
    expect(nodeHash(a, b)).toEqual(
      createHash('sha256')
        .update(Buffer.from([1]))
        .update(a)
        .update(b)
        .digest(),
    );
    expect(emptyRoot().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('computes the root of the 7-leaf tree', () => {
    expect(treeRoot(read, 7)).toEqual(root7);
  });

  it('gives the audit paths the RFC lists', () => {
    expect(inclusionProof(read, 0, 7)).toEqual([b, h, l]);
    expect(inclusionProof(read, 3, 7)).toEqual([c, g, l]);
    expect(inclusionProof(read, 4, 7)).toEqual([f, j, k]);
    expect(inclusionProof(read, 6, 7)).toEqual([i, k]);
  });

  it('gives the consistency proofs the RFC lists', () => {
    expect(consistencyProof(read, 3, 7)).toEqual([c, d, g, l]);
    expect(consistencyProof(read, 4, 7)).toEqual([l]);
    expect(consistencyProof(read, 6, 7)).toEqual([i, j, k]);
  });

  it('verifies those proofs and refuses altered ones', () => {
    verifyInclusion(d, 3, 7, [c, g, l], root7);
    verifyConsistency(3, 7, [c, d, g, l], nodeHash(g, c), root7);
    verifyConsistency(4, 7, [l], k, root7);
    verifyConsistency(6, 7, [i, j, k], nodeHash(k, i), root7);
    const refused = (run: () => void) => {
      try {
        run();
        return false;
      } catch (error) {
        return isEctError(error, 'ECT_LEDGER_PROOF_INVALID');
      }
    };
    expect(refused(() => verifyInclusion(d, 2, 7, [c, g, l], root7))).toBe(true);
    expect(refused(() => verifyInclusion(d, 3, 7, [c, g], root7))).toBe(true);
    expect(refused(() => verifyInclusion(d, 3, 7, [c, g, l, l], root7))).toBe(true);
    expect(refused(() => verifyInclusion(d, 7, 7, [c, g, l], root7))).toBe(true);
    expect(refused(() => verifyConsistency(4, 7, [], k, root7))).toBe(true);
    expect(refused(() => verifyConsistency(4, 7, [k], k, root7))).toBe(true);
    expect(refused(() => verifyConsistency(5, 4, [l], k, root7))).toBe(true);
    expect(refused(() => verifyConsistency(7, 7, [], k, root7))).toBe(true);
  });
});
