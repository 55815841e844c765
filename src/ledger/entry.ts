/**
 * What the ledger reads of an entry: the compact token bytes it hashes, and the `(wid, jti)` pair
 * that must be unique. The token is decoded without verifying it: whoever appends decides which
 * tokens are admitted (the CLI can verify them first); the ledger records bytes faithfully.
 */
import { createHash } from 'node:crypto';
import { EctLedgerError, isEctError } from '../base/errors.js';
import type { DagNode } from '../dag/types.js';
import { decodeUnverified } from '../token/decode.js';

/** An entry ready to be appended. */
export interface LedgerEntry {
  token: string;
  bytes: Buffer;
  jti: string;
  wid: string | undefined;
  /** First 16 bytes of SHA-256(jti), as a latin1 string: the key of the jti index. */
  jtiKey: string;
}

/** Bytes of one jti index record. */
export const JTI_KEY_SIZE = 16;

/**
 * The jti index key of `jti`.
 *
 * @example jtiKeyOf('3f2504e0-4f89-41d3-9a0c-0305e82c3301').length // 16
 */
export function jtiKeyOf(jti: string): string {
  return createHash('sha256').update(jti).digest().toString('latin1', 0, JTI_KEY_SIZE);
}

/**
 * Reads a token as a ledger entry; throws `ECT_LEDGER_ENTRY_INVALID` when it is not a compact
 * token with a string `jti`.
 *
 * @example toLedgerEntry(token).jti
 */
export function toLedgerEntry(token: string): LedgerEntry {
  const node = claimsOf(token);
  return { token, bytes: Buffer.from(token, 'latin1'), jti: node.jti, wid: node.wid, jtiKey: jtiKeyOf(node.jti) };
}

/**
 * The claims the DAG rules need, decoded from a stored token.
 *
 * @example claimsOf(token).pred
 */
export function claimsOf(token: string): DagNode {
  let payload: Record<string, unknown>;
  try {
    if (typeof token !== 'string' || /[^\x21-\x7e]/.test(token)) throw new Error('not printable ASCII');
    payload = decodeUnverified(token).payload;
  } catch (cause) {
    const reason = isEctError(cause) || cause instanceof Error ? cause.message : String(cause);
    throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', `not a compact token: ${reason}`, { cause });
  }
  const { jti, wid, iss, iat, exec_act } = payload;
  const pred = payload.pred ?? payload.par ?? [];
  if (typeof jti !== 'string' || jti.length === 0) {
    throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', 'token has no string jti');
  }
  if (wid !== undefined && typeof wid !== 'string')
    throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', 'wid is not a string');
  const node: DagNode = {
    jti,
    iss: typeof iss === 'string' ? iss : '',
    iat: typeof iat === 'number' ? iat : 0,
    pred: Array.isArray(pred) ? pred.filter((p): p is string => typeof p === 'string') : [],
  };
  if (wid !== undefined) node.wid = wid;
  if (typeof exec_act === 'string') node.exec_act = exec_act;
  return node;
}

/**
 * The compact token a {@link DagStore.add} node carries: the ledger stores signed tokens, not bare
 * claims, so the node must bring the `token` whose claims it is. Throws `ECT_LEDGER_ENTRY_INVALID`.
 *
 * @example await ledger.append([tokenOfNode({ ...verified.claims, token: verified.token })]);
 */
export function tokenOfNode(node: DagNode & { token?: string }): string {
  if (typeof node.token !== 'string') {
    throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', 'the ledger stores tokens: add({ ...claims, token })');
  }
  const claims = claimsOf(node.token);
  if (claims.jti !== node.jti || claims.wid !== node.wid) {
    throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', 'node.token does not carry the node’s jti and wid');
  }
  return node.token;
}
