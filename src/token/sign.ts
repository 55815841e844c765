import { randomUUID, sign as cryptoSign } from 'node:crypto';
import type { SigningKey } from '../keys/types.js';
import { base64url } from './base64url.js';
import { DIGEST, TYP_00, TYP_01, type DraftVersion } from '../base/algorithms.js';
import { LIMITS } from '../base/limits.js';
import type { EctClaims, JsonObject } from './claims.js';
import { EctError } from '../base/errors.js';

/** Options of {@link EctSigner}. */
export interface SignerOptions {
  /** Claim names and `typ` to emit: '01' (`pred`, `ect_ext`, `exec+jwt`, default) or '00' (`par`, `ext`, `wimse-exec+jwt`). */
  draft?: DraftVersion;
}

/**
 * A token whose claims are fixed and whose signature is made on first demand, once. The span
 * processor creates these on the request path and signs them later, in batches, or at once when
 * a header needs the compact form. A subclass may leave the claims out and build them on first
 * demand instead ({@link PendingEct.buildClaims}), from data that no longer changes.
 *
 * @example
 * const pending = new PendingEct(signer, claims.jti, claims);
 * queue.push(pending); // … later, off the request path:
 * const token = pending.compact();
 */
export class PendingEct {
  readonly jti: string;
  readonly #signer: EctSigner;
  #claims: Readonly<EctClaims> | undefined;
  #compact: string | undefined;
  #signing: Promise<string> | undefined;

  /** `claims` fixes the claims now; a subclass that builds them lazily leaves them out. */
  constructor(signer: EctSigner, jti: string, claims?: EctClaims) {
    this.#signer = signer;
    this.jti = jti;
    if (claims !== undefined) this.#claims = Object.freeze(claims);
  }

  /** The claims; built now if they were left out. */
  get claims(): Readonly<EctClaims> {
    if (this.#claims === undefined) {
      const claims = this.buildClaims();
      if (claims.jti !== this.jti)
        throw new EctError('ECT_SIGNING_FAILED', `claims built for ${claims.jti}, expected ${this.jti}`, {
          status: 500,
        });
      this.#claims = Object.freeze(claims);
    }
    return this.#claims;
  }

  /** True once the compact form exists. */
  get signed(): boolean {
    return this.#compact !== undefined;
  }

  /** The compact JWS, signed now if it was not yet. Throws {@link EctError} `ECT_SIGNING_FAILED`. */
  compact(): string {
    this.#compact ??= this.#signer.sign(this.claims);
    return this.#compact;
  }

  /**
   * The compact JWS, signed by `sign` (a pool off the calling thread) if it was not yet; one
   * signing at a time per token. If {@link PendingEct.compact} signs synchronously meanwhile (a
   * header needed it at once), that signature is the one kept.
   *
   * @example const token = await pending.compactAsync((signer, claims) => pool.signClaims(signer, claims));
   */
  compactAsync(sign: (signer: EctSigner, claims: Readonly<EctClaims>) => Promise<string>): Promise<string> {
    if (this.#compact !== undefined) return Promise.resolve(this.#compact);
    this.#signing ??= sign(this.#signer, this.claims).then(
      (compact) => {
        this.#compact ??= compact;
        return this.#compact;
      },
      (error: unknown) => {
        this.#signing = undefined;
        throw error;
      },
    );
    return this.#signing;
  }

  /** Builds the claims of a token prepared without them; called once, on first demand. */
  protected buildClaims(): EctClaims {
    throw new EctError('ECT_SIGNING_FAILED', `token ${this.jti} was prepared without claims`, { status: 500 });
  }
}

/**
 * Synchronous compact-JWS signer on `node:crypto` (ES256 with IEEE P1363 signatures, ES384, EdDSA).
 * Produces exactly what `jose` verifies. The protected header is encoded once per signer, so a
 * signature costs one JSON serialisation, one base64url pass and the raw `crypto.sign`.
 *
 * @example
 * const signer = new EctSigner(signingKey);
 * const token = signer.sign(newClaims({ iss, aud, exec_act: 'fetch_data', pred: [] }));
 */
export class EctSigner {
  readonly key: SigningKey;
  readonly draft: DraftVersion;
  readonly #headerB64: string;
  readonly #digest: string | null;
  readonly #signOptions: { key: SigningKey['privateKey']; dsaEncoding: 'ieee-p1363' };
  // Reused buffers: `#input` holds `BASE64URL(header) '.'` once and each token's payload after it;
  // `#json` takes the payload's UTF-8 bytes. Signing is synchronous, so one pair per signer is safe.
  // Skipping the per-token allocations and the header re-encoding keeps the signer within ~1.5 µs of
  // a raw ~20 µs `crypto.sign` (npm run bench:token).
  #input: Buffer;
  #json = Buffer.allocUnsafe(4096);

  constructor(key: SigningKey, options: SignerOptions = {}) {
    this.key = key;
    this.draft = options.draft ?? '01';
    this.#headerB64 = base64url(
      JSON.stringify({ alg: key.alg, typ: this.draft === '00' ? TYP_00 : TYP_01, kid: key.kid }),
    );
    this.#digest = DIGEST[key.alg];
    this.#signOptions = { key: key.privateKey, dsaEncoding: 'ieee-p1363' };
    this.#input = this.#inputBuffer(8192);
  }

  /** Signs `claims` now and returns the compact token. */
  sign(claims: Readonly<EctClaims>): string {
    const json = this.#payloadJson(claims);
    // UTF-8 takes at most 3 bytes per UTF-16 unit; base64url 4 chars per 3 bytes.
    if (this.#json.length < json.length * 3) this.#json = Buffer.allocUnsafe(json.length * 3);
    const payloadB64 = this.#json.toString('base64url', 0, this.#json.write(json, 0, 'utf8'));
    const offset = this.#headerB64.length + 1;
    if (this.#input.length < offset + payloadB64.length) this.#input = this.#inputBuffer(offset + payloadB64.length);
    const inputBytes = offset + this.#input.write(payloadB64, offset, 'latin1');
    let signature: Buffer;
    try {
      signature = cryptoSign(this.#digest, this.#input.subarray(0, inputBytes), this.#signOptions);
    } catch (cause) {
      throw new EctError('ECT_SIGNING_FAILED', `signing with key ${this.key.kid} failed`, { cause, status: 500 });
    }
    return `${this.#headerB64}.${payloadB64}.${signature.toString('base64url')}`;
  }

  /**
   * What a signature covers for `claims`: `BASE64URL(header) '.' BASE64URL(payload)`, for signing
   * elsewhere (a worker of the crypto pool); the token is this, a dot, and the signature.
   *
   * @example const token = `${signer.signingInput(claims)}.${signatureFromWorker}`;
   */
  signingInput(claims: Readonly<EctClaims>): string {
    return `${this.#headerB64}.${Buffer.from(this.#payloadJson(claims), 'utf8').toString('base64url')}`;
  }

  /** The `node:crypto` digest of this signer's algorithm (`null` for Ed25519). */
  get digest(): string | null {
    return this.#digest;
  }

  #inputBuffer(size: number): Buffer {
    const buffer = Buffer.allocUnsafe(size);
    buffer.write(`${this.#headerB64}.`, 0, 'latin1');
    return buffer;
  }

  #payloadJson(c: Readonly<EctClaims>): string {
    if (this.draft === '01') return JSON.stringify(c);
    const { pred, ect_ext, ...rest } = c;
    const legacy: Record<string, unknown> = { ...rest, par: pred };
    if (ect_ext !== undefined) legacy.ext = ect_ext;
    return JSON.stringify(legacy);
  }
}

/** Input of {@link newClaims}: what the caller decides; ids and times are filled in. */
export interface NewClaimsInput {
  iss: string;
  aud: string | string[];
  exec_act: string;
  pred?: readonly string[];
  jti?: string;
  wid?: string;
  inp_hash?: string;
  out_hash?: string;
  ect_ext?: JsonObject;
  /** Issue time, seconds. Default now. */
  iat?: number;
  /** Lifetime, seconds. Default 600. */
  ttlSeconds?: number;
}

/**
 * Builds claims in a stable order with a fresh UUID `jti` and `iat`/`exp` filled in.
 *
 * @example const claims = newClaims({ iss: 'spiffe://example.org/a', aud: 'spiffe://example.org', exec_act: 'fetch_data' });
 */
export function newClaims(input: NewClaimsInput): EctClaims {
  const iat = input.iat ?? Math.floor(Date.now() / 1000);
  const claims: EctClaims = {
    iss: input.iss,
    aud: typeof input.aud === 'string' ? input.aud : [...input.aud],
    iat,
    exp: iat + (input.ttlSeconds ?? LIMITS.defaultTtlSeconds),
    jti: input.jti ?? randomUUID(),
    exec_act: input.exec_act,
    pred: [...(input.pred ?? [])],
  };
  if (input.wid !== undefined) claims.wid = input.wid;
  if (input.inp_hash !== undefined) claims.inp_hash = input.inp_hash;
  if (input.out_hash !== undefined) claims.out_hash = input.out_hash;
  if (input.ect_ext !== undefined) claims.ect_ext = input.ect_ext;
  return claims;
}
