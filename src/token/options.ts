import type { KeyResolver } from '../keys/types.js';
import type { EctAlgorithm } from '../base/algorithms.js';
import { LIMITS } from '../base/limits.js';
import type { EctClaims } from './claims.js';
import type { ReplayStore } from './replay.js';

/** Options of {@link verifyEct} and {@link verifyEctSync}. */
export interface VerifyOptions {
  /** Resolves `kid` to a public key. */
  keys: KeyResolver;
  /** Allowed algorithms. Default `['ES256', 'ES384', 'EdDSA']`. */
  algorithms?: readonly EctAlgorithm[];
  /** The verifier's identities (its own and its trust domain): one must be in `aud`. */
  audience?: string | readonly string[];
  /**
   * Audit mode for stored tokens: no audience requirement, no expiry or maximum-age check, no
   * replay check. Signatures, claims, formats and issuer binding are still checked.
   */
  audit?: boolean;
  /** `iss` → key ids allowed to sign for it, in addition to bindings stored with keys. */
  issuers?: Readonly<Record<string, readonly string[]>>;
  /** Refuse keys with no issuer binding at all. Default false (such a key verifies any `iss`). */
  strictIssuerBinding?: boolean;
  /** Replay store; when set (and not in audit mode) a repeated `(wid, jti)` fails. */
  replay?: ReplayStore;
  /** Current time in seconds (tests, audits "as of"). Default now. */
  now?: number;
  clockSkewSeconds?: number;
  maxAgeSeconds?: number;
  maxTokenBytes?: number;
  maxExtBytes?: number;
  maxExtDepth?: number;
  maxPred?: number;
  /** Policy hook (step 12): throw an {@link EctError} to refuse a token that passed every other check. */
  policy?: (claims: EctClaims) => void;
}

/** {@link VerifyOptions} with every default filled in. */
export interface ResolvedVerifyOptions
  extends Required<Omit<VerifyOptions, 'audience' | 'replay' | 'now' | 'policy' | 'issuers'>> {
  audience: readonly string[];
  issuers: Readonly<Record<string, readonly string[]>>;
  replay: ReplayStore | undefined;
  now: number | undefined;
  policy: ((claims: EctClaims) => void) | undefined;
}

const DEFAULT_ALGORITHMS: readonly EctAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];

/**
 * Fills in defaults once, so a verifier built for a hot path does not do it per token.
 *
 * @example const resolved = resolveVerifyOptions({ keys, audience: 'spiffe://example.org' });
 */
export function resolveVerifyOptions(options: VerifyOptions): ResolvedVerifyOptions {
  const audience =
    options.audience === undefined
      ? []
      : typeof options.audience === 'string'
        ? [options.audience]
        : [...options.audience];
  return {
    keys: options.keys,
    algorithms: options.algorithms ?? DEFAULT_ALGORITHMS,
    audience,
    audit: options.audit ?? false,
    issuers: options.issuers ?? {},
    strictIssuerBinding: options.strictIssuerBinding ?? false,
    replay: options.replay,
    now: options.now,
    clockSkewSeconds: options.clockSkewSeconds ?? LIMITS.clockSkewSeconds,
    maxAgeSeconds: options.maxAgeSeconds ?? LIMITS.maxAgeSeconds,
    maxTokenBytes: options.maxTokenBytes ?? LIMITS.maxTokenBytes,
    maxExtBytes: options.maxExtBytes ?? LIMITS.maxExtBytes,
    maxExtDepth: options.maxExtDepth ?? LIMITS.maxExtDepth,
    maxPred: options.maxPred ?? LIMITS.maxPred,
    policy: options.policy,
  };
}
