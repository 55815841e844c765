import { compactVerify, errors as joseErrors } from 'jose';
import type { VerificationKey } from '../keys/types.js';
import { DIGEST, SIGNATURE_BYTES, TYP_00 } from '../base/algorithms.js';
import type { VerifiedEct } from './claims.js';
import { checkClaims } from './check-claims.js';
import { type CryptoPool, type SignatureCheck, verifySignatureNow } from './crypto-pool.js';
import { asEctError, type EctError, EctFormatError, EctHeaderError, EctSignatureError } from '../base/errors.js';
import { resolveVerifyOptions, type ResolvedVerifyOptions, type VerifyOptions } from './options.js';
import { decodeJsonObject, HeaderMemo, parseCompact, type ParsedCompact } from './parse.js';

/**
 * A verifier with its options resolved once: the profile's procedure in order, each failure an
 * {@link EctError} with a stable code.
 *
 * `verifySync` checks signatures with `node:crypto` (ES256, ES384, EdDSA) and needs a key resolver
 * that answers synchronously; `verify` checks them with `jose`'s `compactVerify` and may resolve
 * keys remotely. Everything else (size cap, header, claims, formats, limits) is the same code, and a
 * differential property test holds the two to the same verdicts. The sync path exists for speed:
 * measured here (`npm run bench`), `jose` verifies ES256 at ~0.4× raw `node:crypto`, this path at
 * over 0.9×.
 *
 * @example
 * const verifier = new EctVerifier({ keys: jwks, audience: 'spiffe://example.org' });
 * const { claims } = verifier.verifySync(token);
 */
export class EctVerifier {
  readonly options: ResolvedVerifyOptions;
  readonly #headers = new HeaderMemo();

  constructor(options: VerifyOptions) {
    this.options = resolveVerifyOptions(options);
  }

  /** Verifies synchronously with `node:crypto`. */
  verifySync(token: string): VerifiedEct {
    const parsed = parseCompact(token, this.options, this.#headers);
    const key = this.#keyFor(parsed, this.options.keys.resolveSync(parsed.header.kid));
    if (!verifySignatureNow(signatureCheck(parsed, key))) throw new EctSignatureError();
    return this.#finish(token, parsed, decodeJsonObject(parsed.payloadB64, 'payload'), key);
  }

  /**
   * Verifies like {@link EctVerifier.verifySync} (same steps, codes and synchronous key
   * resolution), with the signature checked in a {@link CryptoPool}'s worker threads: the calling
   * thread does no public-key cryptography.
   *
   * @example const verified = await verifier.verifyInPool(token, pool);
   */
  async verifyInPool(token: string, pool: CryptoPool): Promise<VerifiedEct> {
    const parsed = parseCompact(token, this.options, this.#headers);
    const key = this.#keyFor(parsed, this.options.keys.resolveSync(parsed.header.kid));
    if (!(await pool.verifySignature(signatureCheck(parsed, key)))) throw new EctSignatureError();
    return this.#finish(token, parsed, decodeJsonObject(parsed.payloadB64, 'payload'), key);
  }

  /**
   * Verifies many tokens like {@link EctVerifier.verifySync} (same steps in the same order, same
   * codes, replay checked in the order given), each outcome in the token's place: the verified
   * token, or the {@link EctError} that refused it. What precedes the signature runs here; the
   * signatures of the tokens that got that far go to the pool's workers as one task per key
   * ({@link CryptoPool.verifyCompacts}); payload and claims are then checked here, in order. For
   * callers that hold tokens by the thousand (the audit): no promise per token, no cloned strings.
   *
   * @example
   * const outcomes = await verifier.verifyMany(tokens, pool);
   * for (const outcome of outcomes) if (!isEctError(outcome)) index(outcome.claims);
   */
  async verifyMany(tokens: readonly string[], pool: CryptoPool): Promise<(VerifiedEct | EctError)[]> {
    const outcomes: (VerifiedEct | EctError | undefined)[] = new Array(tokens.length);
    const parsed: (ParsedCompact | undefined)[] = new Array(tokens.length);
    const keys: VerificationKey[] = new Array(tokens.length);
    const byKey = new Map<VerificationKey, number[]>();
    tokens.forEach((token, i) => {
      try {
        const parts = parseCompact(token, this.options, this.#headers);
        const key = this.#keyFor(parts, this.options.keys.resolveSync(parts.header.kid));
        // For its refusal of a signature of the wrong length; the pool gets the whole token.
        signatureCheck(parts, key);
        parsed[i] = parts;
        keys[i] = key;
        const group = byKey.get(key);
        if (group === undefined) byKey.set(key, [i]);
        else group.push(i);
      } catch (error) {
        outcomes[i] = asEctError(error);
      }
    });
    const verdicts = await Promise.all(
      [...byKey].map(([key, indices]) =>
        pool.verifyCompacts(
          key.publicKey,
          DIGEST[key.alg],
          indices.map((i) => tokens[i] as string),
        ),
      ),
    );
    [...byKey.values()].forEach((indices, g) => {
      const verdict = verdicts[g] as Uint8Array;
      indices.forEach((i, k) => {
        if (verdict[k] !== 1) outcomes[i] = new EctSignatureError();
      });
    });
    // Claims last and in the tokens' order, as verifySync would have met them: the replay check
    // records each jti only after its signature verified.
    tokens.forEach((token, i) => {
      if (outcomes[i] !== undefined) return;
      try {
        const parts = parsed[i] as ParsedCompact;
        outcomes[i] = this.#finish(
          token,
          parts,
          decodeJsonObject(parts.payloadB64, 'payload'),
          keys[i] as VerificationKey,
        );
      } catch (error) {
        outcomes[i] = asEctError(error);
      }
    });
    return outcomes as (VerifiedEct | EctError)[];
  }

  /** Verifies with `jose`, resolving keys asynchronously where the resolver can. */
  async verify(token: string): Promise<VerifiedEct> {
    const parsed = parseCompact(token, this.options, this.#headers);
    const { keys } = this.options;
    const found =
      keys.resolve === undefined ? keys.resolveSync(parsed.header.kid) : await keys.resolve(parsed.header.kid);
    const key = this.#keyFor(parsed, found);
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, key.publicKey, { algorithms: [parsed.header.alg] }));
    } catch (cause) {
      throw fromJose(cause);
    }
    return this.#finish(token, parsed, decodeJsonObject(payload, 'payload'), key);
  }

  #keyFor(parsed: ParsedCompact, key: VerificationKey | undefined): VerificationKey {
    const { kid, alg } = parsed.header;
    if (key === undefined)
      throw new EctHeaderError('ECT_KEY_UNKNOWN', `no key with kid ${JSON.stringify(kid)}`, { claim: 'kid' });
    // A key is used only for the algorithm it was made for: no algorithm confusion.
    if (key.alg !== alg)
      throw new EctHeaderError('ECT_ALG_NOT_ALLOWED', `key ${kid} is for ${key.alg}, token says ${alg}`, {
        claim: 'alg',
      });
    return key;
  }

  #finish(token: string, parsed: ParsedCompact, payload: Record<string, unknown>, key: VerificationKey): VerifiedEct {
    const { claims, draft } = checkClaims(payload, key, this.options, parsed.header.typ === TYP_00 ? '00' : '01');
    return { token, header: parsed.header, claims, draft };
  }
}

/**
 * Verifies one token synchronously (see {@link EctVerifier}); build an `EctVerifier` once instead
 * when verifying many.
 *
 * @example const { claims } = verifyEctSync(token, { keys: jwks, audience: 'spiffe://example.org' });
 */
export function verifyEctSync(token: string, options: VerifyOptions): VerifiedEct {
  return new EctVerifier(options).verifySync(token);
}

/**
 * Verifies one token with `jose` (see {@link EctVerifier}).
 *
 * @example const { claims } = await verifyEct(token, { keys: remoteJwks, audit: true });
 */
export function verifyEct(token: string, options: VerifyOptions): Promise<VerifiedEct> {
  return new EctVerifier(options).verify(token);
}

/**
 * What must be checked of a parsed token's signature under `key`; a signature of the wrong length
 * for the algorithm fails here already. Parts are canonical base64url (parseCompact checked), so
 * the byte length follows from the text length without decoding.
 */
function signatureCheck(parsed: ParsedCompact, key: VerificationKey): SignatureCheck {
  const { alg } = parsed.header;
  const bytes = Math.floor((parsed.signatureB64.length * 3) / 4);
  if (bytes !== SIGNATURE_BYTES[alg]) {
    throw new EctSignatureError(`signature has ${bytes} bytes, ${alg} needs ${SIGNATURE_BYTES[alg]}`);
  }
  return {
    key: key.publicKey,
    digest: DIGEST[alg],
    signingInput: parsed.signingInput,
    signatureB64: parsed.signatureB64,
  };
}

function fromJose(cause: unknown): EctError {
  if (cause instanceof joseErrors.JWSSignatureVerificationFailed) return new EctSignatureError();
  if (cause instanceof joseErrors.JOSEAlgNotAllowed)
    return new EctHeaderError('ECT_ALG_NOT_ALLOWED', 'alg not allowed', { claim: 'alg' });
  return new EctFormatError('ECT_MALFORMED', cause instanceof Error ? cause.message : 'jose refused the token', {
    cause,
  });
}
