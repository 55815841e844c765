import type { VerificationKey } from '../keys/types.js';
import type { DraftVersion } from '../base/algorithms.js';
import type { EctClaims, JsonObject } from './claims.js';
import { EctClaimError, EctReplayError, EctTimeError } from '../base/errors.js';
import { isHashValue, isUuid, jsonDepth } from './formats.js';
import type { ResolvedVerifyOptions } from './options.js';

/**
 * Steps 6–10 and 12 of the profile, run after the signature has verified: required claims and
 * their types, issuer binding and audience, times, replay, formats and limits, policy.
 * Shared by the fast and the `jose` paths. Errors name the claims as the token spells them
 * (`par`/`ext` on a -00 token); `typDraft`, the draft the header's `typ` names, picks the name of
 * a predecessor claim that is absent altogether.
 *
 * @example const { claims, draft } = checkClaims(payload, key, resolveVerifyOptions({ keys }));
 */
export function checkClaims(
  payload: Record<string, unknown>,
  key: VerificationKey,
  options: ResolvedVerifyOptions,
  typDraft: DraftVersion = '01',
): { claims: EctClaims; draft: DraftVersion } {
  const { claims, draft, names } = readWireClaims(payload, typDraft);
  checkIssuer(claims.iss, key, options);
  if (!options.audit && options.audience.length > 0) checkAudience(claims.aud, options.audience);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  checkTimes(claims, now, options);
  if (options.replay !== undefined && !options.audit) {
    // Remember the jti for as long as checkTimes would still accept the token: exp plus the skew.
    const acceptedUntil = claims.exp + options.clockSkewSeconds;
    if (!options.replay.checkAndRecord(claims.wid ?? '', claims.jti, acceptedUntil, now))
      throw new EctReplayError(claims.jti);
  }
  checkFormats(claims, names, options);
  options.policy?.(claims);
  return { claims, draft };
}

/** The names a token gives the two claims that -00 and -01 spell differently. */
interface WireNames {
  pred: 'pred' | 'par';
  ext: 'ect_ext' | 'ext';
}

const WIRE_NAMES: Readonly<Record<DraftVersion, WireNames>> = {
  '00': { pred: 'par', ext: 'ext' },
  '01': { pred: 'pred', ext: 'ect_ext' },
};

/**
 * Step 6 alone: required claims and their types, normalised to the -01 shape. For reading tokens
 * whose signature is checked elsewhere (or, in reports, not at all). `typDraft` (the draft the
 * header's `typ` names, default -01) only picks the name errors use for an absent `pred`/`par`.
 *
 * @example const { claims, draft } = readClaims(decodeUnverified(token).payload);
 */
export function readClaims(
  p: Record<string, unknown>,
  typDraft: DraftVersion = '01',
): { claims: EctClaims; draft: DraftVersion } {
  const { claims, draft } = readWireClaims(p, typDraft);
  return { claims, draft };
}

function readWireClaims(
  p: Record<string, unknown>,
  typDraft: DraftVersion,
): { claims: EctClaims; draft: DraftVersion; names: WireNames } {
  const expected = WIRE_NAMES[typDraft];
  const iss = requireString(p, 'iss');
  const aud = p.aud;
  if (aud === undefined) missing('aud');
  if (
    !(
      (typeof aud === 'string' && aud !== '') ||
      (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string' && a !== ''))
    )
  ) {
    invalid('aud', 'aud must be a string or a non-empty array of strings');
  }
  const iat = requireNumericDate(p, 'iat');
  const exp = requireNumericDate(p, 'exp');
  const jti = requireString(p, 'jti');
  const execAct = requireString(p, 'exec_act');
  const hasPred = 'pred' in p;
  const hasPar = 'par' in p;
  if (hasPred && hasPar) invalid(expected.pred, 'token carries both pred (-01) and par (-00)');
  if (!hasPred && !hasPar) missing(expected.pred);
  const predName = hasPred ? 'pred' : 'par';
  const pred = p[predName];
  if (!Array.isArray(pred) || !pred.every((entry) => typeof entry === 'string'))
    invalid(predName, `${predName} must be an array of strings`);
  const extName = 'ect_ext' in p ? 'ect_ext' : 'ext' in p ? 'ext' : undefined;
  if ('ect_ext' in p && 'ext' in p) invalid(expected.ext, 'token carries both ect_ext (-01) and ext (-00)');
  const claims: EctClaims = {
    iss,
    aud: aud as string | string[],
    iat,
    exp,
    jti,
    exec_act: execAct,
    pred: pred as string[],
  };
  if (p.wid !== undefined) claims.wid = requireString(p, 'wid');
  if (p.inp_hash !== undefined) claims.inp_hash = requireString(p, 'inp_hash');
  if (p.out_hash !== undefined) claims.out_hash = requireString(p, 'out_hash');
  if (extName !== undefined) {
    const ext = p[extName];
    if (ext === null || typeof ext !== 'object' || Array.isArray(ext))
      invalid(extName, `${extName} must be a JSON object`);
    claims.ect_ext = ext as JsonObject;
  }
  return {
    claims,
    draft: hasPar || extName === 'ext' ? '00' : '01',
    names: { pred: predName, ext: extName ?? expected.ext },
  };
}

function checkIssuer(iss: string, key: VerificationKey, options: ResolvedVerifyOptions): void {
  const bound = new Set(key.issuers ?? []);
  for (const [issuer, kids] of Object.entries(options.issuers)) if (kids.includes(key.kid)) bound.add(issuer);
  if (bound.size === 0) {
    if (options.strictIssuerBinding) {
      throw new EctClaimError('ECT_ISS_MISMATCH', `key ${key.kid} has no issuer binding and strict binding is on`, {
        claim: 'iss',
      });
    }
    return;
  }
  if (!bound.has(iss))
    throw new EctClaimError('ECT_ISS_MISMATCH', `key ${key.kid} is not bound to issuer ${iss}`, { claim: 'iss' });
}

function checkAudience(aud: string | string[], accepted: readonly string[]): void {
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (!audiences.some((a) => accepted.includes(a))) {
    throw new EctClaimError('ECT_AUD_MISMATCH', 'none of the token audiences is this verifier', { claim: 'aud' });
  }
}

/**
 * Verification step 8 alone: `exp` after `iat`, `iat` not ahead of `now` beyond the skew, and (unless
 * auditing) not expired nor older than the maximum age. Throws {@link EctTimeError}.
 *
 * @example checkTimes(verified.claims, Math.floor(Date.now() / 1000), verifier.options);
 */
export function checkTimes(claims: EctClaims, now: number, options: ResolvedVerifyOptions): void {
  if (claims.exp < claims.iat) invalid('exp', 'exp is before iat');
  if (claims.iat > now + options.clockSkewSeconds) {
    throw new EctTimeError('ECT_IAT_FUTURE', 'iat is in the future beyond the allowed clock skew', { claim: 'iat' });
  }
  if (options.audit) return;
  if (claims.exp <= now - options.clockSkewSeconds)
    throw new EctTimeError('ECT_EXPIRED', 'token has expired', { claim: 'exp' });
  if (claims.iat < now - options.maxAgeSeconds - options.clockSkewSeconds) {
    throw new EctTimeError('ECT_TOO_OLD', `token is older than the ${options.maxAgeSeconds} s maximum age`, {
      claim: 'iat',
    });
  }
}

function checkFormats(claims: EctClaims, names: WireNames, options: ResolvedVerifyOptions): void {
  const { pred, ext } = names;
  if (!isUuid(claims.jti)) format('jti', 'jti must be a UUID');
  if (claims.wid !== undefined && !isUuid(claims.wid)) format('wid', 'wid must be a UUID');
  if (claims.inp_hash !== undefined && !isHashValue(claims.inp_hash))
    format('inp_hash', 'inp_hash must be 43 chars of base64url SHA-256');
  if (claims.out_hash !== undefined && !isHashValue(claims.out_hash))
    format('out_hash', 'out_hash must be 43 chars of base64url SHA-256');
  if (claims.pred.length > options.maxPred) {
    throw new EctClaimError('ECT_PRED_TOO_MANY', `${pred} has ${claims.pred.length} entries, over ${options.maxPred}`, {
      claim: pred,
    });
  }
  for (const entry of claims.pred) if (!isUuid(entry)) format(pred, `every ${pred} entry must be a UUID`);
  if (new Set(claims.pred).size !== claims.pred.length) format(pred, `${pred} lists an entry twice`);
  if (claims.pred.includes(claims.jti)) format(pred, 'a token cannot be its own predecessor');
  if (claims.ect_ext !== undefined) {
    // Depth first: its walk stops at the limit, while measuring the size serialises the whole
    // object; a deeply nested hostile ect_ext then costs no more than a normal one
    // (test/bench/hostile.bench.mjs: 2.2x a normal request with the size first).
    if (jsonDepth(claims.ect_ext, options.maxExtDepth + 1) > options.maxExtDepth) {
      throw new EctClaimError('ECT_EXT_TOO_DEEP', `${ext} nests deeper than ${options.maxExtDepth}`, { claim: ext });
    }
    const bytes = Buffer.byteLength(JSON.stringify(claims.ect_ext));
    if (bytes > options.maxExtBytes) {
      throw new EctClaimError('ECT_EXT_TOO_LARGE', `${ext} is ${bytes} bytes, over ${options.maxExtBytes}`, {
        claim: ext,
      });
    }
  }
}

function requireString(p: Record<string, unknown>, name: string): string {
  const value = p[name];
  if (value === undefined) missing(name);
  if (typeof value !== 'string' || value.length === 0) invalid(name, `${name} must be a non-empty string`);
  return value;
}

function requireNumericDate(p: Record<string, unknown>, name: string): number {
  const value = p[name];
  if (value === undefined) missing(name);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) invalid(name, `${name} must be a NumericDate`);
  return value;
}

function missing(claim: string): never {
  throw new EctClaimError('ECT_CLAIM_MISSING', `required claim ${claim} is missing`, { claim });
}

function invalid(claim: string, message: string): never {
  throw new EctClaimError('ECT_CLAIM_INVALID', message, { claim });
}

function format(claim: string, message: string): never {
  throw new EctClaimError('ECT_FORMAT_INVALID', message, { claim });
}
