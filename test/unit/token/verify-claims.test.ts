/**
 * Verification steps 6–8 of the profile: required claims and their types, issuer binding and
 * audience, times (expiry, `iat` in the future, maximum age, 30 s skew, audit mode).
 * Every case runs on both paths.
 */
import { describe, expect, it } from 'vitest';
import { importVerificationJwk, JwksResolver, publicJwkOf } from '../../../src/keys/index.js';
import { EctClaimError, EctTimeError, LIMITS } from '../../../src/token/index.js';
import {
  AUD,
  expectAcceptedBoth,
  expectRejectedBoth,
  headerFor,
  ISS,
  makeIssuer,
  NOW,
  PRED_A,
  Raw,
  sharedIssuer,
  signCompact,
  validClaims,
  verifyOptions,
} from '../../helpers/ect.js';

const es256 = sharedIssuer('ES256');
const options = verifyOptions(es256.resolver);

/** Signs `payload` exactly as given (any shape) with the shared ES256 key and a correct header. */
function tokenOf(payload: object): string {
  return signCompact(headerFor(es256.key), payload, es256.key);
}

function without(name: string): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...validClaims() };
  delete claims[name];
  return claims;
}

describe('step 6: required claims present, with the right types', () => {
  it.each(['iss', 'aud', 'iat', 'exp', 'jti', 'exec_act', 'pred'])(
    'refuses a token without %s with ECT_CLAIM_MISSING',
    async (name) => {
      const error = await expectRejectedBoth(options, tokenOf(without(name)), 'ECT_CLAIM_MISSING', EctClaimError);
      expect(error.claim).toBe(name);
    },
  );

  it('refuses an empty payload object', async () => {
    await expectRejectedBoth(options, tokenOf({}), 'ECT_CLAIM_MISSING');
  });

  it.each<[string, string, unknown]>([
    ['iss', 'a number', 42],
    ['iss', 'empty', ''],
    ['iss', 'null', null],
    ['aud', 'a number', 1],
    ['aud', 'an empty array', []],
    ['aud', 'an array with a number', [AUD, 7]],
    ['aud', 'an object', { aud: AUD }],
    ['aud', 'null', null],
    ['iat', 'a string', String(NOW)],
    ['iat', 'negative', -1],
    ['iat', 'null', null],
    ['exp', 'a string', String(NOW + 600)],
    ['exp', 'a boolean', true],
    ['exp', 'an array', [NOW + 600]],
    ['jti', 'a number', 12345],
    ['jti', 'empty', ''],
    ['exec_act', 'an object', { name: 'x' }],
    ['exec_act', 'empty', ''],
    ['pred', 'a string', PRED_A],
    ['pred', 'null', null],
    ['pred', 'an object', { 0: PRED_A }],
    ['pred', 'an array with a number', [PRED_A, 1]],
    ['wid', 'a number', 1],
    ['wid', 'null', null],
    ['inp_hash', 'a number', 1],
    ['out_hash', 'an array', ['x']],
    ['ect_ext', 'an array', []],
    ['ect_ext', 'null', null],
    ['ect_ext', 'a string', '{}'],
  ])('refuses %s that is %s with ECT_CLAIM_INVALID', async (name, _description, value) => {
    const error = await expectRejectedBoth(
      options,
      tokenOf({ ...validClaims(), [name]: value }),
      'ECT_CLAIM_INVALID',
      EctClaimError,
    );
    expect(error.claim).toBe(name);
  });

  it('refuses exp = 1e400 (Infinity after JSON parsing)', async () => {
    const json = JSON.stringify({ ...validClaims(), exp: 1 }).replace('"exp":1', '"exp":1e400');
    await expectRejectedBoth(options, signCompact(headerFor(es256.key), new Raw(json), es256.key), 'ECT_CLAIM_INVALID');
  });

  it('refuses a token with both pred (-01) and par (-00)', async () => {
    const error = await expectRejectedBoth(options, tokenOf({ ...validClaims(), par: [] }), 'ECT_CLAIM_INVALID');
    expect(error.claim).toBe('pred');
  });

  it('refuses a token with both ect_ext (-01) and ext (-00)', async () => {
    await expectRejectedBoth(options, tokenOf({ ...validClaims({ ect_ext: {} }), ext: {} }), 'ECT_CLAIM_INVALID');
  });

  it('refuses par of the wrong type under its own name', async () => {
    const claims = without('pred');
    const error = await expectRejectedBoth(options, tokenOf({ ...claims, par: 'x' }), 'ECT_CLAIM_INVALID');
    expect(error.claim).toBe('par');
  });

  it('accepts aud as a string or a non-empty array, and optional claims when absent', async () => {
    await expectAcceptedBoth(options, tokenOf({ ...validClaims(), aud: [AUD, 'spiffe://example.org/ledger'] }));
    await expectAcceptedBoth(options, tokenOf(validClaims()));
  });

  it('ignores unknown claims', async () => {
    const result = await expectAcceptedBoth(options, tokenOf({ ...validClaims(), nbf: NOW, 'org.example.x': 1 }));
    expect(result.claims).not.toHaveProperty('nbf');
  });

  it('checks claims (step 6) before the issuer binding (step 7)', async () => {
    const bound = makeIssuer('ES256', { issuers: ['spiffe://example.org/other'] });
    const token = signCompact(headerFor(bound.key), { ...validClaims(), exec_act: 5 }, bound.key);
    await expectRejectedBoth(verifyOptions(bound.resolver), token, 'ECT_CLAIM_INVALID');
  });
});

describe('step 7: iss bound to the key, own identity in aud', () => {
  describe('issuer binding', () => {
    it('accepts an iss the key is bound to (ect_iss in its JWK)', async () => {
      const issuer = makeIssuer('ES256');
      const key = importVerificationJwk(publicJwkOf(issuer.key, [ISS, 'spiffe://example.org/ns/prod/sa/other']));
      expect(key.issuers).toEqual([ISS, 'spiffe://example.org/ns/prod/sa/other']);
      await expectAcceptedBoth(verifyOptions(new JwksResolver([key])), issuer.signer.sign(validClaims()));
    });

    it('refuses an iss the key is not bound to (ect_iss in its JWK) with ECT_ISS_MISMATCH', async () => {
      const issuer = makeIssuer('ES256');
      const key = importVerificationJwk({
        ...publicJwkOf(issuer.key),
        ect_iss: 'spiffe://example.org/ns/prod/sa/other',
      } as never);
      const error = await expectRejectedBoth(
        verifyOptions(new JwksResolver([key])),
        issuer.signer.sign(validClaims()),
        'ECT_ISS_MISMATCH',
        EctClaimError,
      );
      expect(error.claim).toBe('iss');
    });

    it('applies the issuers map of the options (iss -> kids)', async () => {
      const issuer = makeIssuer('ES256');
      const token = issuer.signer.sign(validClaims());
      await expectAcceptedBoth(verifyOptions(issuer.resolver, { issuers: { [ISS]: [issuer.key.kid] } }), token);
      await expectRejectedBoth(
        verifyOptions(issuer.resolver, { issuers: { 'spiffe://example.org/ns/prod/sa/other': [issuer.key.kid] } }),
        token,
        'ECT_ISS_MISMATCH',
      );
      // A map entry for other kids does not bind this key.
      await expectAcceptedBoth(
        verifyOptions(issuer.resolver, { issuers: { 'spiffe://example.org/x': ['other-kid'] } }),
        token,
      );
    });

    it('combines bindings stored with the key and the issuers map', async () => {
      const issuer = makeIssuer('ES256', { issuers: ['spiffe://example.org/ns/prod/sa/a'] });
      const token = issuer.signer.sign(validClaims());
      await expectRejectedBoth(verifyOptions(issuer.resolver), token, 'ECT_ISS_MISMATCH');
      await expectAcceptedBoth(verifyOptions(issuer.resolver, { issuers: { [ISS]: [issuer.key.kid] } }), token);
    });

    it('with strictIssuerBinding, refuses a key with no binding and accepts a bound one', async () => {
      const unbound = makeIssuer('ES256');
      await expectAcceptedBoth(verifyOptions(unbound.resolver), unbound.signer.sign(validClaims()));
      await expectRejectedBoth(
        verifyOptions(unbound.resolver, { strictIssuerBinding: true }),
        unbound.signer.sign(validClaims()),
        'ECT_ISS_MISMATCH',
      );
      await expectAcceptedBoth(
        verifyOptions(unbound.resolver, { strictIssuerBinding: true, issuers: { [ISS]: [unbound.key.kid] } }),
        unbound.signer.sign(validClaims()),
      );
      const bound = makeIssuer('ES256', { issuers: [ISS] });
      await expectAcceptedBoth(
        verifyOptions(bound.resolver, { strictIssuerBinding: true }),
        bound.signer.sign(validClaims()),
      );
    });

    it('still checks the issuer binding in audit mode', async () => {
      const issuer = makeIssuer('ES256', { issuers: ['spiffe://example.org/ns/prod/sa/a'] });
      await expectRejectedBoth(
        verifyOptions(issuer.resolver, { audit: true }),
        issuer.signer.sign(validClaims()),
        'ECT_ISS_MISMATCH',
      );
    });
  });

  describe('audience', () => {
    it('accepts when one of the token audiences is one of the verifier identities', async () => {
      const token = es256.signer.sign(validClaims({ aud: ['spiffe://other.org', 'spiffe://example.org/ledger'] }));
      await expectAcceptedBoth(
        verifyOptions(es256.resolver, { audience: ['spiffe://example.org/svc', 'spiffe://example.org/ledger'] }),
        token,
      );
      await expectAcceptedBoth(verifyOptions(es256.resolver, { audience: 'spiffe://other.org' }), token);
    });

    it('refuses a token for someone else with ECT_AUD_MISMATCH', async () => {
      const token = es256.signer.sign(validClaims({ aud: 'spiffe://other.org' }));
      const error = await expectRejectedBoth(options, token, 'ECT_AUD_MISMATCH', EctClaimError);
      expect(error.claim).toBe('aud');
      await expectRejectedBoth(
        options,
        es256.signer.sign(validClaims({ aud: ['spiffe://a.org', 'spiffe://b.org'] })),
        'ECT_AUD_MISMATCH',
      );
    });

    it('compares audiences exactly (no prefix or case folding)', async () => {
      for (const aud of ['spiffe://example.org/', 'SPIFFE://example.org', 'spiffe://example.org.evil']) {
        await expectRejectedBoth(options, es256.signer.sign(validClaims({ aud })), 'ECT_AUD_MISMATCH');
      }
    });

    it('skips the audience check in audit mode, and when no audience is configured', async () => {
      const token = es256.signer.sign(validClaims({ aud: 'spiffe://other.org' }));
      await expectAcceptedBoth({ ...options, audit: true }, token);
      await expectAcceptedBoth({ keys: es256.resolver, now: NOW }, token);
    });

    it('checks the issuer binding before the audience', async () => {
      const issuer = makeIssuer('ES256', { issuers: ['spiffe://example.org/ns/prod/sa/a'] });
      await expectRejectedBoth(
        verifyOptions(issuer.resolver),
        issuer.signer.sign(validClaims({ aud: 'spiffe://x' })),
        'ECT_ISS_MISMATCH',
      );
    });
  });
});

describe('step 8: exp, iat in the future, maximum age (30 s skew)', () => {
  const skew = LIMITS.clockSkewSeconds;
  const maxAge = LIMITS.maxAgeSeconds;

  /** Claims with the given iat and exp (bypassing newClaims' ttl arithmetic). */
  function timed(iat: number, exp: number): string {
    return tokenOf({ ...validClaims(), iat, exp });
  }

  it('accepts a token expired by less than the skew and refuses one expired by the skew (ECT_EXPIRED)', async () => {
    await expectAcceptedBoth(options, timed(NOW - 100, NOW + 1));
    await expectAcceptedBoth(options, timed(NOW - 100, NOW));
    await expectAcceptedBoth(options, timed(NOW - 100, NOW - skew + 1));
    const error = await expectRejectedBoth(options, timed(NOW - 100, NOW - skew), 'ECT_EXPIRED', EctTimeError);
    expect(error.claim).toBe('exp');
    await expectRejectedBoth(options, timed(NOW - 700, NOW - 100), 'ECT_EXPIRED');
  });

  it('accepts iat up to the skew in the future and refuses more (ECT_IAT_FUTURE)', async () => {
    await expectAcceptedBoth(options, timed(NOW + skew, NOW + skew + 600));
    const error = await expectRejectedBoth(
      options,
      timed(NOW + skew + 1, NOW + skew + 601),
      'ECT_IAT_FUTURE',
      EctTimeError,
    );
    expect(error.claim).toBe('iat');
  });

  it('accepts iat up to the maximum age plus skew in the past and refuses older (ECT_TOO_OLD)', async () => {
    await expectAcceptedBoth(options, timed(NOW - maxAge - skew, NOW + 600));
    const error = await expectRejectedBoth(
      options,
      timed(NOW - maxAge - skew - 1, NOW + 600),
      'ECT_TOO_OLD',
      EctTimeError,
    );
    expect(error.claim).toBe('iat');
  });

  it('refuses exp before iat with ECT_CLAIM_INVALID', async () => {
    const error = await expectRejectedBoth(options, timed(NOW, NOW - 1), 'ECT_CLAIM_INVALID');
    expect(error.claim).toBe('exp');
    await expectAcceptedBoth(options, timed(NOW, NOW));
  });

  it('honours configured skew and maximum age', async () => {
    await expectRejectedBoth({ ...options, clockSkewSeconds: 0 }, timed(NOW + 1, NOW + 600), 'ECT_IAT_FUTURE');
    await expectRejectedBoth({ ...options, clockSkewSeconds: 0 }, timed(NOW - 100, NOW), 'ECT_EXPIRED');
    await expectRejectedBoth({ ...options, maxAgeSeconds: 60 }, timed(NOW - 91, NOW + 600), 'ECT_TOO_OLD');
    await expectAcceptedBoth({ ...options, maxAgeSeconds: 60 }, timed(NOW - 90, NOW + 600));
  });

  it('uses the clock when no `now` is given', async () => {
    const current = Math.floor(Date.now() / 1000);
    const live = tokenOf({ ...validClaims(), iat: current, exp: current + 600 });
    await expectAcceptedBoth({ keys: es256.resolver }, live);
    await expectRejectedBoth({ keys: es256.resolver }, tokenOf(validClaims({ iat: current - 2000 })), 'ECT_EXPIRED');
  });

  it('in audit mode skips expiry and maximum age but still refuses iat in the future', async () => {
    const audit = { ...options, audit: true };
    await expectAcceptedBoth(audit, timed(NOW - 100_000, NOW - 99_400));
    await expectAcceptedBoth(audit, timed(NOW - maxAge - 1000, NOW + 600));
    await expectRejectedBoth(audit, timed(NOW + skew + 1, NOW + 700), 'ECT_IAT_FUTURE');
    await expectRejectedBoth(audit, timed(NOW, NOW - 1), 'ECT_CLAIM_INVALID');
  });

  it('checks the audience (step 7) before the times (step 8)', async () => {
    await expectRejectedBoth(
      options,
      tokenOf({ ...validClaims(), aud: 'spiffe://x', exp: NOW - 1000, iat: NOW - 2000 }),
      'ECT_AUD_MISMATCH',
    );
  });
});
