const ALPHABET = /^[A-Za-z0-9_-]*$/;
// For a final char carrying 2 (len%4==2) or 4 (len%4==3) significant bits, the allowed chars are
// those whose unused low bits are zero. Rejecting the rest makes every byte string have exactly one
// accepted encoding, so a token cannot be re-encoded into a "different" valid token.
const CANONICAL_LAST_2 = 'AQgw';
const CANONICAL_LAST_3 = 'AEIMQUYcgkosw048';

/**
 * True when `text` is canonical unpadded base64url (RFC 7515 §2).
 *
 * @example isCanonicalBase64url('AQ') // true; 'AR' is not canonical
 */
export function isCanonicalBase64url(text: string): boolean {
  if (!ALPHABET.test(text)) return false;
  const rest = text.length % 4;
  if (rest === 1) return false;
  const last = text[text.length - 1] ?? '';
  if (rest === 2) return CANONICAL_LAST_2.includes(last);
  if (rest === 3) return CANONICAL_LAST_3.includes(last);
  return true;
}

/**
 * Unpadded base64url of UTF-8 text or bytes.
 *
 * @example base64url('{"alg":"ES256"}') // 'eyJhbGciOiJFUzI1NiJ9'
 */
export function base64url(data: string | Uint8Array): string {
  return (
    typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  ).toString('base64url');
}
