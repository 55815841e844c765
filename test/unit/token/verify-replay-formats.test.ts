/**
 * Verification steps 9, 10 and 12 of the profile: replay (scoped by `wid`), formats and limits
 * (UUIDs, hash values, `ect_ext` size and depth, `pred` length), policy hook.
 */
import { describe, expect, it } from 'vitest';
import {
  EctClaimError,
  EctError,
  EctReplayError,
  EctVerifier,
  hashOctets,
  LIMITS,
  MemoryReplayCache,
  type EctClaims,
  type JsonObject,
} from '../../../src/token/index.js';
import {
  expectAcceptedBoth,
  expectRejectedBoth,
  headerFor,
  NOW,
  outcomeAsync,
  outcomeSync,
  PRED_A,
  PRED_B,
  Raw,
  sharedIssuer,
  signCompact,
  validClaims,
  verifyOptions,
  WID,
} from '../../helpers/ect.js';

const es256 = sharedIssuer('ES256');
const options = verifyOptions(es256.resolver);
const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function tokenOf(payload: object): string {
  return signCompact(headerFor(es256.key), payload, es256.key);
}

describe('step 9: replay (jti within its expiry window, scoped by wid)', () => {
  it('refuses the second presentation of a token with ECT_REPLAY, on either path', async () => {
    for (const order of [
      ['sync', 'async'],
      ['async', 'sync'],
      ['sync', 'sync'],
      ['async', 'async'],
    ] as const) {
      const verifier = new EctVerifier(verifyOptions(es256.resolver, { replay: new MemoryReplayCache() }));
      const token = es256.signer.sign(validClaims({ wid: WID }));
      const run = (path: 'sync' | 'async') =>
        path === 'sync' ? Promise.resolve(outcomeSync(verifier, token)) : outcomeAsync(verifier, token);
      expect((await run(order[0])).ok).toBe(true);
      const second = await run(order[1]);
      expect(second.ok ? 'accepted' : second.code).toBe('ECT_REPLAY');
      const error = (second as { error: EctError }).error;
      expect(error).toBeInstanceOf(EctReplayError);
      expect(error.status).toBe(403);
      expect(error.claim).toBe('jti');
    }
  });

  it('refuses a re-signed token that reuses a jti in the same workflow', async () => {
    const verifier = new EctVerifier(verifyOptions(es256.resolver, { replay: new MemoryReplayCache() }));
    const jti = uuid(1);
    verifier.verifySync(es256.signer.sign(validClaims({ jti, wid: WID, exec_act: 'a' })));
    expect(() => verifier.verifySync(es256.signer.sign(validClaims({ jti, wid: WID, exec_act: 'b' })))).toThrow(
      EctReplayError,
    );
  });

  it('accepts the same jti in another workflow, or with no workflow', async () => {
    const verifier = new EctVerifier(verifyOptions(es256.resolver, { replay: new MemoryReplayCache() }));
    const jti = uuid(2);
    verifier.verifySync(es256.signer.sign(validClaims({ jti, wid: WID })));
    await verifier.verify(es256.signer.sign(validClaims({ jti, wid: uuid(99) })));
    verifier.verifySync(es256.signer.sign(validClaims({ jti })));
    expect(() => verifier.verifySync(es256.signer.sign(validClaims({ jti })))).toThrow(
      expect.objectContaining({ code: 'ECT_REPLAY' }),
    );
  });

  it('does not record or check anything in audit mode', async () => {
    const replay = new MemoryReplayCache();
    const verifier = new EctVerifier(verifyOptions(es256.resolver, { replay, audit: true }));
    const token = es256.signer.sign(validClaims());
    verifier.verifySync(token);
    await verifier.verify(token);
    verifier.verifySync(token);
    expect(replay.size).toBe(0);
  });

  it('does not record tokens that fail an earlier step', () => {
    const replay = new MemoryReplayCache();
    const verifier = new EctVerifier(verifyOptions(es256.resolver, { replay }));
    expect(() => verifier.verifySync(es256.signer.sign(validClaims({ aud: 'spiffe://x' })))).toThrow();
    expect(() => verifier.verifySync(es256.signer.sign(validClaims({ iat: NOW - 5000 })))).toThrow();
    expect(replay.size).toBe(0);
  });

  it('refuses a replay for as long as the token itself is accepted, including the skew after exp', () => {
    const replay = new MemoryReplayCache();
    const token = es256.signer.sign(validClaims({ iat: NOW, ttlSeconds: 60 }));
    const exp = NOW + 60;
    new EctVerifier(verifyOptions(es256.resolver, { replay, now: exp - 10 })).verifySync(token);
    // Still inside the skew window after exp: the token verifies on time, so it must be a replay.
    for (const now of [exp, exp + 1, exp + LIMITS.clockSkewSeconds - 1]) {
      expect(
        () => new EctVerifier(verifyOptions(es256.resolver, { replay, now })).verifySync(token),
        `at exp+${now - exp}`,
      ).toThrow(EctReplayError);
    }
    // Past the window the token is refused as expired, not as a replay.
    expect(() =>
      new EctVerifier(verifyOptions(es256.resolver, { replay, now: exp + LIMITS.clockSkewSeconds })).verifySync(token),
    ).toThrow(expect.objectContaining({ code: 'ECT_EXPIRED' }));
  });

  describe('MemoryReplayCache', () => {
    it('records a (scope, jti) pair until it expires', () => {
      const cache = new MemoryReplayCache();
      expect(cache.checkAndRecord('w', 'j', 100, 50)).toBe(true);
      expect(cache.checkAndRecord('w', 'j', 100, 60)).toBe(false);
      expect(cache.checkAndRecord('w', 'j', 100, 100)).toBe(false);
      expect(cache.checkAndRecord('other', 'j', 100, 60)).toBe(true);
      expect(cache.checkAndRecord('', 'j', 100, 60)).toBe(true);
      // Expired: may be recorded again.
      expect(cache.checkAndRecord('w', 'j', 300, 101)).toBe(true);
      expect(cache.checkAndRecord('w', 'j', 300, 200)).toBe(false);
    });

    it('keeps scopes apart even when scope and jti could be concatenated alike', () => {
      const cache = new MemoryReplayCache();
      expect(cache.checkAndRecord('ab', 'c', 100, 0)).toBe(true);
      expect(cache.checkAndRecord('a', 'bc', 100, 0)).toBe(true);
    });

    it('is bounded: never holds more than maxEntries, and always the most recent maxEntries/2', () => {
      const cache = new MemoryReplayCache({ maxEntries: 6 });
      for (let i = 0; i < 1000; i++) {
        expect(cache.checkAndRecord('', `x${i}`, 1000, 0)).toBe(true);
        expect(cache.size).toBeLessThanOrEqual(6);
      }
      for (let i = 997; i < 1000; i++) expect(cache.checkAndRecord('', `x${i}`, 1000, 0)).toBe(false);
      // Long evicted: accepted again (why the cache must be sized for rate × lifetime).
      expect(cache.checkAndRecord('', 'x0', 1000, 0)).toBe(true);
    });

    it('an entry counts only until its token expires', () => {
      const cache = new MemoryReplayCache({ maxEntries: 100 });
      expect(cache.checkAndRecord('', 'old', 10, 0)).toBe(true);
      expect(cache.checkAndRecord('', 'old', 10, 10)).toBe(false);
      expect(cache.checkAndRecord('', 'old', 20, 11)).toBe(true);
    });
  });
});

describe('step 10: formats and limits', () => {
  describe('UUIDs', () => {
    it.each([
      ['jti', 'task-1'],
      ['jti', '3f2504e04f8941d39a0c0305e82c3301'],
      ['jti', '{3f2504e0-4f89-41d3-9a0c-0305e82c3301}'],
      ['jti', '3f2504e0-4f89-41d3-9a0c-0305e82c330'],
      ['jti', ' 3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
      ['wid', 'workflow-1'],
      ['wid', 'g0000000-0000-4000-8000-000000000000'],
    ])('refuses %s %j with ECT_FORMAT_INVALID', async (name, value) => {
      const error = await expectRejectedBoth(
        options,
        tokenOf({ ...validClaims(), [name]: value }),
        'ECT_FORMAT_INVALID',
        EctClaimError,
      );
      expect(error.claim).toBe(name);
    });

    it('refuses a pred entry that is not a UUID', async () => {
      const error = await expectRejectedBoth(
        options,
        tokenOf({ ...validClaims(), pred: [PRED_A, 'parent'] }),
        'ECT_FORMAT_INVALID',
      );
      expect(error.claim).toBe('pred');
      await expectRejectedBoth(options, tokenOf({ ...validClaims(), pred: [''] }), 'ECT_FORMAT_INVALID');
    });

    it('refuses a pred entry listed twice, and a token naming itself', async () => {
      await expectRejectedBoth(options, tokenOf({ ...validClaims(), pred: [PRED_A, PRED_A] }), 'ECT_FORMAT_INVALID');
      const claims = validClaims();
      await expectRejectedBoth(options, tokenOf({ ...claims, pred: [claims.jti] }), 'ECT_FORMAT_INVALID');
    });

    it('accepts UUIDs of any version and either case', async () => {
      const upper = '3F2504E0-4F89-41D3-9A0C-0305E82C3301';
      await expectAcceptedBoth(
        options,
        tokenOf({ ...validClaims({ wid: upper.toLowerCase() }), jti: upper, pred: [PRED_B, uuid(5)] }),
      );
    });
  });

  describe('hash values', () => {
    const good = hashOctets('input');
    it.each([
      ['42 chars', good.slice(0, 42)],
      ['44 chars', `${good}A`],
      ['padded', `${good}=`],
      ['prefixed with the algorithm', `sha-256:${good}`],
      ['standard base64', good.replace(/[A-Za-z]/, '+')],
      ['hex', 'a'.repeat(64)],
      ['non-canonical (unused bits set)', `${good.slice(0, 42)}B`],
    ])('refuses inp_hash and out_hash that are %s with ECT_FORMAT_INVALID', async (_name, value) => {
      for (const name of ['inp_hash', 'out_hash']) {
        const error = await expectRejectedBoth(
          options,
          tokenOf({ ...validClaims(), [name]: value }),
          'ECT_FORMAT_INVALID',
        );
        expect(error.claim).toBe(name);
      }
    });

    it('accepts real hash values', async () => {
      await expectAcceptedBoth(
        options,
        es256.signer.sign(validClaims({ inp_hash: hashOctets('in'), out_hash: hashOctets('out') })),
      );
    });
  });

  describe('ect_ext size and depth', () => {
    const roomy = { ...options, maxTokenBytes: 16_384 };

    /** An ect_ext that serialises to exactly `bytes` bytes. */
    function extOfSize(bytes: number): JsonObject {
      const base = JSON.stringify({ 'org.example.pad': '' }).length;
      return { 'org.example.pad': 'x'.repeat(bytes - base) };
    }

    it('accepts 4096 bytes and refuses 4097 with ECT_EXT_TOO_LARGE', async () => {
      expect(Buffer.byteLength(JSON.stringify(extOfSize(LIMITS.maxExtBytes)))).toBe(LIMITS.maxExtBytes);
      await expectAcceptedBoth(roomy, es256.signer.sign(validClaims({ ect_ext: extOfSize(LIMITS.maxExtBytes) })));
      const error = await expectRejectedBoth(
        roomy,
        es256.signer.sign(validClaims({ ect_ext: extOfSize(LIMITS.maxExtBytes + 1) })),
        'ECT_EXT_TOO_LARGE',
        EctClaimError,
      );
      expect(error.claim).toBe('ect_ext');
    });

    it('counts bytes, not characters', async () => {
      const ext = { 'org.example.pad': 'é'.repeat(2100) }; // 2100 chars, 4200 bytes
      expect(JSON.stringify(ext).length).toBeLessThan(LIMITS.maxExtBytes);
      await expectRejectedBoth(roomy, es256.signer.sign(validClaims({ ect_ext: ext })), 'ECT_EXT_TOO_LARGE');
    });

    it('under the default 4 KiB token cap, an ect_ext too large is refused as ECT_TOO_LARGE first; a tighter maxExtBytes applies', async () => {
      const token = es256.signer.sign(validClaims({ ect_ext: extOfSize(LIMITS.maxExtBytes + 1) }));
      await expectRejectedBoth(options, token, 'ECT_TOO_LARGE');
      await expectRejectedBoth(
        { ...options, maxExtBytes: 64 },
        es256.signer.sign(validClaims({ ect_ext: extOfSize(65) })),
        'ECT_EXT_TOO_LARGE',
      );
      await expectAcceptedBoth(
        { ...options, maxExtBytes: 64 },
        es256.signer.sign(validClaims({ ect_ext: extOfSize(64) })),
      );
    });

    function nested(depth: number, leaf: JsonObject | unknown[] = {}): JsonObject {
      let value: JsonObject | unknown[] = leaf;
      for (let i = 1; i < depth; i++) value = { 'org.example.n': value } as JsonObject;
      return value as JsonObject;
    }

    it('accepts depth 5 and refuses depth 6 with ECT_EXT_TOO_DEEP', async () => {
      await expectAcceptedBoth(options, es256.signer.sign(validClaims({ ect_ext: nested(5) })));
      const error = await expectRejectedBoth(
        options,
        es256.signer.sign(validClaims({ ect_ext: nested(6) })),
        'ECT_EXT_TOO_DEEP',
        EctClaimError,
      );
      expect(error.claim).toBe('ect_ext');
    });

    it('counts arrays as nesting levels', async () => {
      await expectAcceptedBoth(options, es256.signer.sign(validClaims({ ect_ext: nested(4, [[1]]) })));
      await expectRejectedBoth(
        options,
        es256.signer.sign(validClaims({ ect_ext: nested(4, [[[1]]]) })),
        'ECT_EXT_TOO_DEEP',
      );
    });

    it('refuses a very deep ect_ext cheaply', async () => {
      const json = `${'{"a":'.repeat(600)}1${'}'.repeat(600)}`;
      const token = signCompact(
        headerFor(es256.key),
        new Raw(JSON.stringify(validClaims()).replace(/}$/, `,"ect_ext":${json}}`)),
        es256.key,
      );
      await expectRejectedBoth({ ...options, maxTokenBytes: 16_384 }, token, 'ECT_EXT_TOO_DEEP');
    });

    it('honours a configured depth', async () => {
      await expectRejectedBoth(
        { ...options, maxExtDepth: 2 },
        es256.signer.sign(validClaims({ ect_ext: nested(3) })),
        'ECT_EXT_TOO_DEEP',
      );
    });
  });

  describe('pred length', () => {
    const roomy = { ...options, maxTokenBytes: 16_384 };
    const preds = (n: number): string[] => Array.from({ length: n }, (_, i) => uuid(i + 1000));

    it('accepts 100 entries and refuses 101 with ECT_PRED_TOO_MANY', async () => {
      await expectAcceptedBoth(roomy, es256.signer.sign(validClaims({ pred: preds(LIMITS.maxPred) })));
      const error = await expectRejectedBoth(
        roomy,
        es256.signer.sign(validClaims({ pred: preds(LIMITS.maxPred + 1) })),
        'ECT_PRED_TOO_MANY',
        EctClaimError,
      );
      expect(error.claim).toBe('pred');
    });

    it('honours a configured maximum under the default token cap', async () => {
      await expectAcceptedBoth({ ...options, maxPred: 3 }, es256.signer.sign(validClaims({ pred: preds(3) })));
      await expectRejectedBoth(
        { ...options, maxPred: 3 },
        es256.signer.sign(validClaims({ pred: preds(4) })),
        'ECT_PRED_TOO_MANY',
      );
    });

    it('checks the count before the entries', async () => {
      await expectRejectedBoth(
        { ...options, maxPred: 1 },
        tokenOf({ ...validClaims(), pred: ['x', 'y'] }),
        'ECT_PRED_TOO_MANY',
      );
    });
  });

  it('checks replay (step 9) before formats (step 10)', () => {
    const verifier = new EctVerifier(verifyOptions(es256.resolver, { replay: new MemoryReplayCache() }));
    const token = tokenOf({ ...validClaims(), pred: ['not-a-uuid'] });
    expect(() => verifier.verifySync(token)).toThrow(expect.objectContaining({ code: 'ECT_FORMAT_INVALID' }));
    expect(() => verifier.verifySync(token)).toThrow(expect.objectContaining({ code: 'ECT_REPLAY' }));
  });

  it('checks times (step 8) before formats (step 10)', async () => {
    await expectRejectedBoth(
      options,
      tokenOf({ ...validClaims(), jti: 'x', iat: NOW - 700, exp: NOW - 100 }),
      'ECT_EXPIRED',
    );
  });
});

describe('step 12: policy hook', () => {
  const rejectIfRejected = (claims: EctClaims): void => {
    if (claims.ect_ext?.pol_decision === 'rejected')
      throw new EctError('ECT_POLICY_REJECTED', 'policy decision was rejected', { claim: 'ect_ext' });
  };

  it('refuses what the hook refuses with its own code, after every other check', async () => {
    const policy = { ...options, policy: rejectIfRejected };
    await expectAcceptedBoth(policy, es256.signer.sign(validClaims({ ect_ext: { pol_decision: 'approved' } })));
    const error = await expectRejectedBoth(
      policy,
      es256.signer.sign(validClaims({ ect_ext: { pol_decision: 'rejected' } })),
      'ECT_POLICY_REJECTED',
    );
    expect(error.toJSON()).toEqual({
      code: 'ECT_POLICY_REJECTED',
      message: 'policy decision was rejected',
      claim: 'ect_ext',
    });
  });

  it('receives normalised claims, and is not called for a token failing an earlier step', async () => {
    const seen: EctClaims[] = [];
    const policy = { ...options, policy: (claims: EctClaims) => void seen.push(claims) };
    const legacy = sharedIssuer('ES256');
    const token = signCompact(
      headerFor(legacy.key, 'wimse-exec+jwt'),
      { ...validClaims(), pred: undefined, par: [PRED_A], ext: { a: 1 } },
      legacy.key,
    );
    await expectAcceptedBoth(policy, token);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.pred).toEqual([PRED_A]);
    expect(seen[0]?.ect_ext).toEqual({ a: 1 });
    await expectRejectedBoth(policy, tokenOf({ ...validClaims(), jti: 'x' }), 'ECT_FORMAT_INVALID');
    expect(seen).toHaveLength(2);
  });
});
