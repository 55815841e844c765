import type { EctHeader } from './claims.js';
import { decodeJsonObject, parseCompact } from './parse.js';
import { SUPPORTED_ALGORITHMS } from '../base/algorithms.js';
import { LIMITS } from '../base/limits.js';

/**
 * Reads a token's header and raw payload WITHOUT verifying it: for display, routing and error
 * reports only. Never trust what this returns.
 *
 * @example const { payload } = decodeUnverified(token); console.log(payload.exec_act);
 */
export function decodeUnverified(
  token: string,
  maxTokenBytes: number = LIMITS.maxTokenBytes,
): { header: EctHeader; payload: Record<string, unknown> } {
  const parsed = parseCompact(token, { maxTokenBytes, algorithms: SUPPORTED_ALGORITHMS });
  return { header: parsed.header, payload: decodeJsonObject(parsed.payloadB64, 'payload') };
}
