import { isCanonicalBase64url } from './base64url.js';
import type { JsonValue } from './claims.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HASH = /^[A-Za-z0-9_-]{43}$/;

/**
 * True for an RFC 9562 UUID in its canonical text form (any version).
 *
 * @example isUuid('0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e6f') // true
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * True for an `inp_hash`/`out_hash` value: unpadded base64url of 32 bytes, no algorithm prefix.
 *
 * @example isHashValue(sha256Base64url('x')) // true
 */
export function isHashValue(value: unknown): value is string {
  return typeof value === 'string' && HASH.test(value) && isCanonicalBase64url(value);
}

/**
 * Nesting depth of a JSON value: a scalar is 0, `{}` is 1, `{"a":{}}` is 2.
 * Stops counting past `limit` so a hostile value costs no more than the limit.
 *
 * @example jsonDepth({ a: { b: 1 } }) // 2
 */
export function jsonDepth(value: JsonValue, limit = 64): number {
  if (value === null || typeof value !== 'object') return 0;
  if (limit <= 0) return 1;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    const depth = jsonDepth(child, limit - 1);
    if (depth > deepest) deepest = depth;
  }
  return deepest + 1;
}
