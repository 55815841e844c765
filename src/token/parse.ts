import { isCanonicalBase64url } from './base64url.js';
import { SUPPORTED_ALGORITHMS, TYP_00, TYP_01, type EctAlgorithm } from '../base/algorithms.js';
import type { EctHeader } from './claims.js';
import { EctFormatError, EctHeaderError } from '../base/errors.js';

/** A compact JWS split into its parts, header decoded and checked, payload not yet decoded. */
export interface ParsedCompact {
  header: EctHeader;
  /** `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers. */
  signingInput: string;
  payloadB64: string;
  signatureB64: string;
}

/** Options of {@link parseCompact}. */
export interface ParseOptions {
  maxTokenBytes: number;
  algorithms: readonly EctAlgorithm[];
}

/** Most distinct header texts a {@link HeaderMemo} keeps; one per signing key is the usual case. */
const HEADER_MEMO_ENTRIES = 256;

/**
 * Headers already decoded and accepted, by their base64url text. A service signs every token with
 * the same header, so a verifier that sees many tokens decodes each header text once: the same
 * text always decodes to the same header, and a text that failed is never kept (it fails again,
 * with the same error, the long way). Measured here (`npm run bench:audit`, 2 cores), the header's
 * canonical-base64url check, decoding and checks were about 2 µs of the audit's ~15 µs of
 * event-loop work per token. Bounded: past {@link HEADER_MEMO_ENTRIES} texts it starts over.
 * The headers it returns are frozen, since tokens share them.
 *
 * @example
 * const memo = new HeaderMemo();
 * parseCompact(token, options, memo); // decodes the header
 * parseCompact(otherTokenSameKey, options, memo); // does not
 */
export class HeaderMemo {
  readonly #accepted = new Map<string, EctHeader>();

  /** The header accepted earlier for this text, if any. */
  get(headerB64: string): EctHeader | undefined {
    return this.#accepted.get(headerB64);
  }

  /** Keeps an accepted header (frozen, and returned). */
  remember(headerB64: string, header: EctHeader): EctHeader {
    if (this.#accepted.size >= HEADER_MEMO_ENTRIES) this.#accepted.clear();
    const frozen = Object.freeze(header);
    this.#accepted.set(headerB64, frozen);
    return frozen;
  }
}

/**
 * Steps 1–4 of the profile up to key resolution: size cap before any decoding, compact JWS shape
 * (canonical base64url), JSON header, accepted `typ`, allowed `alg`, present `kid`. Shared by the
 * fast path and the `jose` path so both refuse the same inputs with the same codes.
 *
 * With a `memo` (kept by one verifier, whose options do not change), a header text accepted before
 * is not decoded again.
 *
 * @example const { header } = parseCompact(token, { maxTokenBytes: 4096, algorithms: ['ES256'] });
 */
export function parseCompact(token: string, options: ParseOptions, memo?: HeaderMemo): ParsedCompact {
  if (typeof token !== 'string' || token.length === 0) {
    throw new EctFormatError('ECT_MALFORMED', 'token must be a non-empty string');
  }
  // Length in UTF-16 units bounds the UTF-8 length from below; anything non-ASCII is malformed anyway.
  if (token.length > options.maxTokenBytes) {
    throw new EctFormatError(
      'ECT_TOO_LARGE',
      `token is ${token.length} bytes, over the ${options.maxTokenBytes}-byte cap`,
    );
  }
  const firstDot = token.indexOf('.');
  const secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
  if (secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) {
    throw new EctFormatError('ECT_MALFORMED', 'not a compact JWS: expected three dot-separated parts');
  }
  const headerB64 = token.slice(0, firstDot);
  const payloadB64 = token.slice(firstDot + 1, secondDot);
  const signatureB64 = token.slice(secondDot + 1);
  // An empty signature part is well-formed: it is how an unsecured JWS (`alg: none`, RFC 7515
  // appendix A.5) is written. It passes here so that the header check names the real fault
  // (ECT_ALG_NOT_ALLOWED); under an allowed alg it then fails as a signature of the wrong size.
  if (headerB64 === '' || payloadB64 === '') {
    throw new EctFormatError('ECT_MALFORMED', 'not a compact JWS: empty header or payload part');
  }
  const known = memo?.get(headerB64);
  // A remembered header text was canonical when it was accepted.
  if (
    (known === undefined && !isCanonicalBase64url(headerB64)) ||
    !isCanonicalBase64url(payloadB64) ||
    !isCanonicalBase64url(signatureB64)
  ) {
    throw new EctFormatError('ECT_MALFORMED', 'not a compact JWS: a part is not canonical base64url');
  }
  let header = known;
  if (header === undefined) {
    header = checkHeader(decodeJsonObject(headerB64, 'header'), options.algorithms);
    if (memo !== undefined) header = memo.remember(headerB64, header);
  }
  return { header, signingInput: token.slice(0, secondDot), payloadB64, signatureB64 };
}

/**
 * Decodes a JSON object (header or payload) from base64url text or from its bytes.
 *
 * @example decodeJsonObject('eyJhIjoxfQ', 'payload') // { a: 1 }
 */
export function decodeJsonObject(b64: string | Uint8Array, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    const bytes =
      typeof b64 === 'string' ? Buffer.from(b64, 'base64url') : Buffer.from(b64.buffer, b64.byteOffset, b64.byteLength);
    value = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new EctFormatError('ECT_MALFORMED', `${what} is not valid JSON`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EctFormatError('ECT_MALFORMED', `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkHeader(raw: Record<string, unknown>, algorithms: readonly EctAlgorithm[]): EctHeader {
  const { alg, kid } = raw;
  // RFC 7515 §4.1.9: media types compare case-insensitively and may omit "application/".
  const typ = typeof raw.typ === 'string' ? raw.typ.toLowerCase().replace(/^application\//, '') : raw.typ;
  if (typ !== TYP_01 && typ !== TYP_00) {
    throw new EctHeaderError('ECT_TYP_INVALID', `typ must be "${TYP_01}" or "${TYP_00}"`, { claim: 'typ' });
  }
  if (
    typeof alg !== 'string' ||
    !algorithms.includes(alg as EctAlgorithm) ||
    !SUPPORTED_ALGORITHMS.includes(alg as EctAlgorithm)
  ) {
    throw new EctHeaderError('ECT_ALG_NOT_ALLOWED', `alg ${JSON.stringify(alg)} is not in the allowlist`, {
      claim: 'alg',
    });
  }
  // No extension is understood, so any critical one must fail (RFC 7515 §4.1.11), as in jose.
  if ('crit' in raw || 'b64' in raw) {
    throw new EctFormatError('ECT_MALFORMED', 'header carries crit/b64 extensions, none are supported', {
      claim: 'crit',
    });
  }
  if (typeof kid !== 'string' || kid.length === 0) {
    throw new EctHeaderError('ECT_KID_MISSING', 'kid is required', { claim: 'kid' });
  }
  return { typ, alg: alg as EctAlgorithm, kid };
}
