/**
 * Shared fixtures for the token and key tests: real keys, a signer + resolver pair, a builder of
 * arbitrary (adversarial) tokens signed with a real key, and helpers that run both verification
 * paths (`verifySync` on node:crypto, `verify` on jose) and report what each decided.
 */
import { sign as cryptoSign } from 'node:crypto';
import { expect } from 'vitest';
import {
  generateSigningKey,
  JwksResolver,
  verificationKeyOf,
  type SigningKey,
  type VerificationKey,
} from '../../src/keys/index.js';
import {
  type CryptoPool,
  EctError,
  EctSigner,
  EctVerifier,
  newClaims,
  type EctAlgorithm,
  type EctClaims,
  type EctErrorCode,
  type NewClaimsInput,
  type SignerOptions,
  type VerifiedEct,
  type VerifyOptions,
} from '../../src/token/index.js';

/** A fixed "now" (seconds) so that every time rule is deterministic. */
export const NOW = 1_760_000_000;
export const ISS = 'spiffe://example.org/ns/prod/sa/payments';
export const AUD = 'spiffe://example.org';
export const WID = '0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e6f';
export const PRED_A = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
export const PRED_B = '9b2e1c4a-7d55-4a8e-b1f0-2c6d8e9f0a11';

/** A key set up on both sides: what an issuer signs with and what a verifier resolves. */
export interface Issuer {
  key: SigningKey;
  verificationKey: VerificationKey;
  signer: EctSigner;
  resolver: JwksResolver;
}

/**
 * A fresh key of `alg`, its signer and a resolver holding its public key, optionally bound to
 * issuers (as `ect_iss` in a JWK Set would bind it).
 */
export function makeIssuer(
  alg: EctAlgorithm = 'ES256',
  options: SignerOptions & { issuers?: readonly string[] } = {},
): Issuer {
  const key = generateSigningKey(alg);
  const verificationKey = verificationKeyOf(key, options.issuers);
  const signer = new EctSigner(key, options.draft === undefined ? {} : { draft: options.draft });
  return { key, verificationKey, signer, resolver: new JwksResolver([verificationKey]) };
}

/** Claims that pass every check at {@link NOW} for a verifier whose audience is {@link AUD}. */
export function validClaims(overrides: Partial<NewClaimsInput> = {}): EctClaims {
  return newClaims({ iss: ISS, aud: AUD, exec_act: 'fetch_data', iat: NOW, ...overrides });
}

/** Verifier options at {@link NOW} with {@link AUD} as audience. */
export function verifyOptions(keys: VerifyOptions['keys'], extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return { keys, audience: AUD, now: NOW, ...extra };
}

/** Exact text for a token part (non-JSON, odd spacing, duplicate names, key order). */
export class Raw {
  constructor(readonly text: string) {}
}

/** A token part: any value (JSON-encoded) or {@link Raw} text. */
export type Part = unknown;

function partText(part: Part): string {
  return part instanceof Raw ? part.text : JSON.stringify(part);
}

const DIGEST: Record<EctAlgorithm, string | null> = { ES256: 'sha256', ES384: 'sha384', EdDSA: null };

/**
 * Builds a compact JWS from an arbitrary header and payload and signs it with `key` under the
 * key's own algorithm, whatever the header says (for alg-mismatch, crit, wrong-type cases).
 */
export function signCompact(header: Part, payload: Part, key: SigningKey): string {
  const input = `${Buffer.from(partText(header), 'utf8').toString('base64url')}.${Buffer.from(partText(payload), 'utf8').toString('base64url')}`;
  const signature = cryptoSign(DIGEST[key.alg], Buffer.from(input, 'latin1'), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${signature.toString('base64url')}`;
}

/** The header {@link EctSigner} would write for `key`. */
export function headerFor(key: SigningKey, typ = 'exec+jwt'): Record<string, unknown> {
  return { alg: key.alg, typ, kid: key.kid };
}

/** Decodes one part of a compact token as JSON (test inspection only). */
export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  const part = token.split('.')[index];
  if (part === undefined) throw new Error('token has no such part');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** What one verification path decided. `code` is `NOT_ECT_ERROR` for anything not an {@link EctError}. */
export type Outcome =
  | { ok: true; value: VerifiedEct }
  | { ok: false; code: EctErrorCode | 'NOT_ECT_ERROR'; error: unknown };

/** The outcome of a verification that threw `error`. */
export function outcomeOf(error: unknown): Outcome {
  return { ok: false, code: error instanceof EctError ? error.code : 'NOT_ECT_ERROR', error };
}

export function outcomeSync(verifier: EctVerifier, token: string): Outcome {
  try {
    return { ok: true, value: verifier.verifySync(token) };
  } catch (error) {
    return outcomeOf(error);
  }
}

export async function outcomeAsync(verifier: EctVerifier, token: string): Promise<Outcome> {
  try {
    return { ok: true, value: await verifier.verify(token) };
  } catch (error) {
    return outcomeOf(error);
  }
}

/** What {@link EctVerifier.verifyInPool} decided (signature checked in the pool's workers). */
export async function outcomeInPool(verifier: EctVerifier, token: string, pool: CryptoPool): Promise<Outcome> {
  try {
    return { ok: true, value: await verifier.verifyInPool(token, pool) };
  } catch (error) {
    return outcomeOf(error);
  }
}

/** A short printable form of an outcome, for assertion messages. */
export function describeOutcome(outcome: Outcome): string {
  if (outcome.ok) return 'accepted';
  return outcome.code === 'NOT_ECT_ERROR' ? `threw ${String(outcome.error)}` : outcome.code;
}

type ErrorClass = abstract new (...args: never[]) => EctError;

/**
 * Asserts that both paths refuse `token` with `code` (and, when given, an error of `errorClass`),
 * each on a fresh verifier so that replay state is not shared. Returns the sync path's error.
 */
export async function expectRejectedBoth(
  options: VerifyOptions,
  token: string,
  code: EctErrorCode,
  errorClass?: ErrorClass,
): Promise<EctError> {
  const sync = outcomeSync(new EctVerifier(options), token);
  const async_ = await outcomeAsync(new EctVerifier(options), token);
  for (const [path, outcome] of [
    ['verifySync', sync],
    ['verify', async_],
  ] as const) {
    expect(outcome.ok ? 'accepted' : outcome.code, `${path} outcome`).toBe(code);
    if (!outcome.ok) {
      const error = outcome.error as EctError;
      expect(error).toBeInstanceOf(EctError);
      if (errorClass !== undefined) expect(error, `${path} error class`).toBeInstanceOf(errorClass);
      if (code !== 'ECT_SIGNING_FAILED') expect(error.status, `${path} status`).toBe(403);
    }
  }
  return (sync as { error: EctError }).error;
}

/** Asserts that both paths accept `token` (fresh verifiers) and agree; returns the result. */
export async function expectAcceptedBoth(options: VerifyOptions, token: string): Promise<VerifiedEct> {
  const sync = outcomeSync(new EctVerifier(options), token);
  const async_ = await outcomeAsync(new EctVerifier(options), token);
  expect(describeOutcome(sync), 'verifySync outcome').toBe('accepted');
  expect(describeOutcome(async_), 'verify outcome').toBe('accepted');
  const value = (sync as { value: VerifiedEct }).value;
  expect((async_ as { value: VerifiedEct }).value).toEqual(value);
  return value;
}

/** A key generated once per algorithm and reused across tests where a fresh one is not needed. */
const shared = new Map<EctAlgorithm, Issuer>();
export function sharedIssuer(alg: EctAlgorithm = 'ES256'): Issuer {
  let issuer = shared.get(alg);
  if (issuer === undefined) {
    issuer = makeIssuer(alg);
    shared.set(alg, issuer);
  }
  return issuer;
}
