/** JwksResolver: several active keys (rotation), retiring a key, duplicate kids, JWK Sets. */
import { describe, expect, it } from 'vitest';
import { generateSigningKey, JwksResolver, publicJwkOf, verificationKeyOf } from '../../../src/keys/index.js';
import { EctKeyError, EctSigner } from '../../../src/token/index.js';
import { expectAcceptedBoth, expectRejectedBoth, validClaims, verifyOptions } from '../../helpers/ect.js';

describe('rotation with JwksResolver', () => {
  const oldKey = generateSigningKey('ES256');
  const newKey = generateSigningKey('EdDSA');
  const oldToken = new EctSigner(oldKey).sign(validClaims());
  const newToken = new EctSigner(newKey).sign(validClaims());

  it('verifies tokens of both keys while both are active', async () => {
    const resolver = new JwksResolver([verificationKeyOf(oldKey), verificationKeyOf(newKey)]);
    expect(resolver.kids).toEqual([oldKey.kid, newKey.kid]);
    await expectAcceptedBoth(verifyOptions(resolver), oldToken);
    await expectAcceptedBoth(verifyOptions(resolver), newToken);
  });

  it('refuses tokens of a retired key with ECT_KEY_UNKNOWN and keeps the other', async () => {
    const resolver = new JwksResolver([verificationKeyOf(oldKey), verificationKeyOf(newKey)]);
    expect(resolver.remove(oldKey.kid)).toBe(true);
    expect(resolver.remove(oldKey.kid)).toBe(false);
    await expectRejectedBoth(verifyOptions(resolver), oldToken, 'ECT_KEY_UNKNOWN');
    await expectAcceptedBoth(verifyOptions(resolver), newToken);
  });

  it('refuses a second, different key under a kid already in use', () => {
    const resolver = new JwksResolver([verificationKeyOf(oldKey)]);
    const impostor = { ...verificationKeyOf(generateSigningKey('ES256')), kid: oldKey.kid };
    expect(() => resolver.add(impostor)).toThrow(EctKeyError);
    expect(() => new JwksResolver([verificationKeyOf(oldKey), impostor])).toThrow(
      expect.objectContaining({ code: 'ECT_KEY_INVALID' }),
    );
    expect(() =>
      JwksResolver.fromJwks({ keys: [publicJwkOf(oldKey), { ...publicJwkOf(generateSigningKey()), kid: oldKey.kid }] }),
    ).toThrow(EctKeyError);
    // The original key still resolves.
    expect(resolver.resolveSync(oldKey.kid)?.publicKey.equals(verificationKeyOf(oldKey).publicKey)).toBe(true);
  });

  it('accepts the same key again under its kid (e.g. with a new issuer binding)', async () => {
    const resolver = new JwksResolver([verificationKeyOf(oldKey)]);
    resolver.add(verificationKeyOf(oldKey, ['spiffe://example.org/other']));
    expect(resolver.resolveSync(oldKey.kid)?.issuers).toEqual(['spiffe://example.org/other']);
    await expectRejectedBoth(verifyOptions(resolver), oldToken, 'ECT_ISS_MISMATCH');
  });
});

describe('JwksResolver.fromJwks', () => {
  it('reads a JWK Set and skips keys not for signatures', () => {
    const a = generateSigningKey('ES256');
    const b = generateSigningKey('ES384');
    const c = generateSigningKey('EdDSA');
    const resolver = JwksResolver.fromJwks({
      keys: [publicJwkOf(a), { ...publicJwkOf(b), use: 'enc' }, { ...publicJwkOf(c), use: undefined }],
    });
    expect(resolver.kids.sort()).toEqual([a.kid, c.kid].sort());
  });

  it('refuses what is not a JWK Set with ECT_KEY_INVALID', () => {
    for (const value of [null, 1, 'x', {}, { keys: 'x' }, []]) {
      expect(() => JwksResolver.fromJwks(value)).toThrow(expect.objectContaining({ code: 'ECT_KEY_INVALID' }));
    }
  });
});
