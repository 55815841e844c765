/**
 * Receipts: everything needed to check, offline and years later, that a token is in the ledger —
 * the token, its leaf index, the inclusion proof and the signed checkpoint it leads to. Only the
 * ledger's public note key is needed to check one.
 */
import { EctLedgerError } from '../base/errors.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { leafHash } from './merkle/hash.js';
import { verifyInclusion } from './merkle/verify.js';
import type { NoteVerifier } from './note.js';

/** One token's receipt, as JSON. */
export interface Receipt {
  /** The compact token, exactly as logged. */
  token: string;
  /** Its position in the log, from 0. */
  leaf_index: number;
  /** RFC 9162 inclusion proof, standard base64 hashes, leaf end first. */
  inclusion_proof: string[];
  /** C2SP signed checkpoint (note text) of a tree that holds the token. */
  checkpoint: string;
}

function invalid(message: string): never {
  throw new EctLedgerError('ECT_LEDGER_PROOF_INVALID', message);
}

/**
 * Checks a receipt (parsed JSON or its text) against the ledger's public note key, and the origin
 * when given; returns the checkpoint it was checked against.
 *
 * @example verifyReceipt(JSON.parse(text), NoteVerifier.fromString(pub)).size
 */
export function verifyReceipt(
  receipt: unknown,
  verifier: NoteVerifier,
  origin?: string,
): Checkpoint & { index: number } {
  const value = typeof receipt === 'string' ? parseJson(receipt) : receipt;
  if (typeof value !== 'object' || value === null) invalid('a receipt is a JSON object');
  const { token, leaf_index: index, inclusion_proof: proof, checkpoint } = value as Record<string, unknown>;
  if (typeof token !== 'string' || token.length === 0) invalid('receipt.token must be a string');
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0)
    invalid('receipt.leaf_index must be an index');
  if (!Array.isArray(proof) || !proof.every((p) => typeof p === 'string'))
    invalid('receipt.inclusion_proof must be strings');
  if (typeof checkpoint !== 'string') invalid('receipt.checkpoint must be a signed note');
  const head = openCheckpoint(checkpoint, verifier, origin);
  const hashes = (proof as string[]).map((p) => {
    const hash = Buffer.from(p, 'base64');
    if (hash.toString('base64') !== p) invalid('inclusion proof hashes must be standard base64');
    return hash;
  });
  verifyInclusion(leafHash(Buffer.from(token, 'utf8')), index, head.size, hashes, head.root);
  return { ...head, index };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return invalid('receipt is not JSON');
  }
}
