/**
 * Round trip: for arbitrary valid claims (unicode exec_act, pred arrays of UUIDs, ect_ext within
 * the limits), sign → verify gives the claims back on both paths, for every algorithm and both
 * drafts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUnverified, EctVerifier } from '../../src/token/index.js';
import { allKeys, claimsArb, issuers, signValid } from '../helpers/arbitraries.js';
import { AUD, describeOutcome, NOW, outcomeAsync, outcomeSync } from '../helpers/ect.js';

// Generated claims may exceed the 4 KiB profile cap (long unicode strings, many preds): size is
// not what this property is about, so the cap is raised here.
const verifier = new EctVerifier({ keys: allKeys, audience: AUD, now: NOW, maxTokenBytes: 64 * 1024 });

describe('sign → verify round trip', () => {
  it('returns the signed claims on both paths, for every key and both drafts', async () => {
    await fc.assert(
      fc.asyncProperty(
        claimsArb,
        fc.nat({ max: issuers.length - 1 }),
        fc.constantFrom<'00' | '01'>('00', '01'),
        async (generated, index, draft) => {
          const { token, claims } = signValid(generated, index, draft);
          const key = issuers[index]!.key;
          const expected = JSON.parse(JSON.stringify(claims)) as unknown;
          const sync = outcomeSync(verifier, token);
          const async_ = await outcomeAsync(verifier, token);
          expect(describeOutcome(sync)).toBe('accepted');
          expect(describeOutcome(async_)).toBe('accepted');
          if (!sync.ok || !async_.ok) return;
          expect(sync.value.claims).toEqual(expected);
          expect(async_.value.claims).toEqual(expected);
          expect(sync.value.draft).toBe(draft);
          expect(sync.value.header).toEqual({
            alg: key.alg,
            typ: draft === '00' ? 'wimse-exec+jwt' : 'exec+jwt',
            kid: key.kid,
          });
          expect(decodeUnverified(token, 64 * 1024).header.kid).toBe(key.kid);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps exec_act exactly, whatever the code points', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), (execAct) => {
        const claims = {
          iss: 'spiffe://example.org/a',
          aud: AUD,
          iat: NOW,
          exp: NOW + 60,
          jti: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
          exec_act: execAct,
          pred: [],
        };
        const result = verifier.verifySync(issuers[0]!.signer.sign(claims));
        expect(result.claims.exec_act).toBe(execAct);
      }),
      { numRuns: 300 },
    );
  });
});
