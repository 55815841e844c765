import { createHash, createHmac, type BinaryLike } from 'node:crypto';

/** How `inp_hash`/`out_hash` are computed. */
export type HashMode =
  /** Plain SHA-256 of the octets, as the profile defines. */
  | { kind: 'plain' }
  /** SHA-256 of salt ‖ octets: a verifier needs the salt to recompute it. */
  | { kind: 'salted'; salt: Uint8Array }
  /** HMAC-SHA-256 under a secret key: low-entropy inputs cannot be guessed from the token. */
  | { kind: 'keyed'; key: Uint8Array };

const PLAIN: HashMode = { kind: 'plain' };

function hasher(mode: HashMode) {
  if (mode.kind === 'keyed') return createHmac('sha256', mode.key);
  const hash = createHash('sha256');
  if (mode.kind === 'salted') hash.update(mode.salt);
  return hash;
}

/**
 * The `inp_hash`/`out_hash` value of some octets: base64url (unpadded) SHA-256, 43 characters.
 * Strings are hashed as UTF-8.
 *
 * @example hashOctets('hello') // 'LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ'
 */
export function hashOctets(data: BinaryLike, mode: HashMode = PLAIN): string {
  return hasher(mode).update(data).digest('base64url');
}

/**
 * Hashes a byte stream (a request body, a file) without holding it in memory.
 *
 * @example const outHash = await hashStream(fs.createReadStream('report.pdf'));
 */
export async function hashStream(stream: AsyncIterable<Uint8Array | string>, mode: HashMode = PLAIN): Promise<string> {
  const hash = hasher(mode);
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('base64url');
}
