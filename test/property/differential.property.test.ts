/**
 * Differential test: the node:crypto fast path (`verifySync`), the jose path (`verify`), the
 * crypto pool's worker threads (`verifyInPool`) and the batch path (`verifyMany`) reach the same verdict with the same error code for valid, mutated and adversarial tokens (arbitrary
 * header and payload JSON signed with a real key: wrong types, huge values, crit headers, alg
 * mismatches, …) under varied verifier options.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CryptoPool,
  EctError,
  EctVerifier,
  MemoryReplayCache,
  type EctAlgorithm,
  type EctClaims,
  type VerifyOptions,
} from '../../src/token/index.js';
import {
  adversarialTokenArb,
  allKeys,
  issuers,
  mutatedTokenArb,
  targetedTokenArb,
  validTokenArb,
} from '../helpers/arbitraries.js';
import {
  AUD,
  describeOutcome,
  ISS,
  NOW,
  type Outcome,
  outcomeAsync,
  outcomeInPool,
  outcomeOf,
  outcomeSync,
} from '../helpers/ect.js';

const ALGS: EctAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];

/** Verifier options varied over what changes the verdict. */
const optionsArb: fc.Arbitrary<{ options: VerifyOptions; replay: boolean }> = fc
  .record({
    algorithms: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.subarray(ALGS, { minLength: 1 }) },
    ),
    audience: fc.option(fc.constantFrom<string | string[]>(AUD, [AUD, 'spiffe://other.org'], 'spiffe://other.org'), {
      nil: undefined,
    }),
    audit: fc.boolean(),
    strictIssuerBinding: fc.constantFrom(false, false, false, true),
    issuers: fc.option(fc.constant({ [ISS]: [issuers[0]!.key.kid] }), { nil: undefined }),
    maxTokenBytes: fc.constantFrom(undefined, 64 * 1024),
    maxPred: fc.constantFrom(undefined, 2),
    maxExtDepth: fc.constantFrom(undefined, 2),
    policy: fc.boolean(),
    replay: fc.boolean(),
    now: fc.constantFrom(NOW, NOW + 700, NOW - 40),
  })
  .map(({ policy, replay, ...rest }) => {
    const options: VerifyOptions = { keys: allKeys };
    for (const [name, value] of Object.entries(rest))
      if (value !== undefined) (options as unknown as Record<string, unknown>)[name] = value;
    if (policy) {
      options.policy = (claims: EctClaims) => {
        if (claims.exec_act.length % 3 === 0) throw new EctError('ECT_POLICY_REJECTED', 'policy says no');
      };
    }
    return { options, replay };
  });

const tokenArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: validTokenArb },
  { weight: 2, arbitrary: mutatedTokenArb.map(({ mutated }) => mutated) },
  { weight: 3, arbitrary: targetedTokenArb },
  { weight: 4, arbitrary: adversarialTokenArb },
);

function verdict(outcome: Outcome): unknown {
  return outcome.ok
    ? { accepted: outcome.value }
    : {
        code: outcome.code,
        class: (outcome.error as Error)?.constructor?.name,
        claim: (outcome.error as EctError).claim,
      };
}

describe('verifySync (node:crypto), verify (jose) and verifyInPool (worker threads) agree', () => {
  const pool = new CryptoPool({ threads: 1 });
  afterAll(() => pool.close());

  it('on accept/reject and on the error code, class and claim', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(tokenArb, optionsArb, async (token, { options, replay }) => {
        // Each path gets its own verifier (and replay cache) and sees the token twice when a
        // replay cache is set, so the second verdicts (ECT_REPLAY or not) are compared too.
        const syncVerifier = new EctVerifier(replay ? { ...options, replay: new MemoryReplayCache() } : options);
        const asyncVerifier = new EctVerifier(replay ? { ...options, replay: new MemoryReplayCache() } : options);
        const poolVerifier = new EctVerifier(replay ? { ...options, replay: new MemoryReplayCache() } : options);
        for (let round = 0; round < (replay ? 2 : 1); round++) {
          const sync = outcomeSync(syncVerifier, token);
          const async_ = await outcomeAsync(asyncVerifier, token);
          expect(describeOutcome(sync)).not.toMatch(/^threw/);
          expect(describeOutcome(async_)).not.toMatch(/^threw/);
          expect(verdict(async_)).toEqual(verdict(sync));
          expect(verdict(await outcomeInPool(poolVerifier, token, pool))).toEqual(verdict(sync));
          const key = describeOutcome(sync);
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }),
      { numRuns: 1500 },
    );
    // ECT_DIFF_DEBUG=1 prints how often each verdict was reached.
    if (process.env.ECT_DIFF_DEBUG) console.log(JSON.stringify([...seen].sort()));
    // The generators must reach acceptance and the verifier's main refusals, or the agreement
    // above would say little.
    for (const code of [
      'accepted',
      'ECT_MALFORMED',
      'ECT_TOO_LARGE',
      'ECT_TYP_INVALID',
      'ECT_ALG_NOT_ALLOWED',
      'ECT_KID_MISSING',
      'ECT_KEY_UNKNOWN',
      'ECT_SIGNATURE_INVALID',
      'ECT_CLAIM_MISSING',
      'ECT_CLAIM_INVALID',
      'ECT_ISS_MISMATCH',
      'ECT_AUD_MISMATCH',
      'ECT_EXPIRED',
      'ECT_FORMAT_INVALID',
      'ECT_REPLAY',
      'ECT_POLICY_REJECTED',
    ]) {
      expect(seen.get(code) ?? 0, `${code} reached (${JSON.stringify([...seen])})`).toBeGreaterThan(0);
    }
  });
});

describe('verifyMany (a batch, signatures in one worker task per key) agrees with verifySync token by token', () => {
  const pool = new CryptoPool({ threads: 1 });
  afterAll(() => pool.close());

  it('on every verdict, in order, replay included, with one verifier (and its header memo) across the batch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(tokenArb, { minLength: 1, maxLength: 8 }),
        optionsArb,
        async (drawn, { options, replay }) => {
          // Repeats in the batch (and a second pass with a replay cache) reach ECT_REPLAY.
          const tokens = [...drawn, ...drawn.slice(0, 2)];
          const syncVerifier = new EctVerifier(replay ? { ...options, replay: new MemoryReplayCache() } : options);
          const manyVerifier = new EctVerifier(replay ? { ...options, replay: new MemoryReplayCache() } : options);
          const many = await manyVerifier.verifyMany(tokens, pool);
          expect(many).toHaveLength(tokens.length);
          tokens.forEach((token, i) => {
            const outcome = many[i];
            const asOutcome: Outcome = outcome instanceof EctError ? outcomeOf(outcome) : { ok: true, value: outcome! };
            expect(verdict(asOutcome)).toEqual(verdict(outcomeSync(syncVerifier, token)));
          });
        },
      ),
      { numRuns: 400 },
    );
  });
});
