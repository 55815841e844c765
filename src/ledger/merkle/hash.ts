/**
 * The hashes of the RFC 9162 (§2.1.1) Merkle tree: SHA-256 with a one-byte domain separator so
 * that a leaf can never be passed off as an interior node and the reverse.
 */
import { createHash } from 'node:crypto';

/** Bytes of one hash. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/**
 * Hash of a leaf: SHA-256(0x00 ‖ entry). The ledger's entries are compact token bytes.
 *
 * @example leafHash(Buffer.from(token, 'ascii')).length // 32
 */
export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

/**
 * Hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
 *
 * @example nodeHash(leafHash(a), leafHash(b))
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * Root of the empty tree: SHA-256 of no bytes.
 *
 * @example emptyRoot().toString('hex').startsWith('e3b0c442') // true
 */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}
