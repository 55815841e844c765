/**
 * Tamper evidence: a valid token changed in any way (a character flipped, inserted or deleted
 * anywhere, parts swapped, dropped or duplicated, the header re-encoded with changed fields or
 * only other bytes, truncation, another signature) never verifies, on either path, and is
 * refused with an EctError (never another exception).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EctVerifier } from '../../src/token/index.js';
import { allKeys, mutatedTokenArb } from '../helpers/arbitraries.js';
import { AUD, describeOutcome, NOW, outcomeAsync, outcomeSync } from '../helpers/ect.js';

const verifier = new EctVerifier({ keys: allKeys, audience: AUD, now: NOW, maxTokenBytes: 64 * 1024 });

describe('mutations of a valid token', () => {
  it('never verify, on either path', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedTokenArb, async ({ original, mutated }) => {
        expect(describeOutcome(outcomeSync(verifier, original))).toBe('accepted');
        const sync = outcomeSync(verifier, mutated);
        const async_ = await outcomeAsync(verifier, mutated);
        expect(sync.ok, `verifySync accepted ${mutated}`).toBe(false);
        expect(async_.ok, `verify accepted ${mutated}`).toBe(false);
        expect(describeOutcome(sync)).toMatch(/^ECT_/);
        expect(describeOutcome(async_)).toMatch(/^ECT_/);
      }),
      { numRuns: 600 },
    );
  });
});
