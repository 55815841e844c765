/** JWK import/export, the RFC 7638 thumbprint (held to jose's) and key generation. */
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  algorithmOf,
  generateSigningKey,
  importSigningJwk,
  importVerificationJwk,
  jwkThumbprint,
  privateJwkOf,
  publicJwkOf,
  verificationKeyOf,
} from '../../../src/keys/index.js';
import { EctKeyError, type EctAlgorithm } from '../../../src/token/index.js';

const ALGS: EctAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];

function expectKeyInvalid(fn: () => unknown): EctKeyError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(EctKeyError);
  expect(caught).toMatchObject({ code: 'ECT_KEY_INVALID', status: 403 });
  return caught as EctKeyError;
}

function publicJwk(type: 'ec' | 'ed25519' | 'x25519' | 'rsa', namedCurve?: string): JsonWebKey {
  const { publicKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: namedCurve ?? 'P-256' })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : type === 'ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('x25519');
  return publicKey.export({ format: 'jwk' });
}

describe('jwkThumbprint (RFC 7638)', () => {
  it.each<[string, 'ec' | 'ed25519', string | undefined]>([
    ['P-256', 'ec', 'P-256'],
    ['P-384', 'ec', 'P-384'],
    ['Ed25519', 'ed25519', undefined],
  ])('equals jose calculateJwkThumbprint for %s', async (_name, type, curve) => {
    for (let i = 0; i < 5; i++) {
      const jwk = publicJwk(type, curve);
      expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as never, 'sha256'));
      // Members outside the required set, and their order, do not matter.
      const noisy = { use: 'sig', alg: 'x', kid: 'k', ...jwk, ext: true } as JsonWebKey;
      expect(jwkThumbprint(noisy)).toBe(jwkThumbprint(jwk));
    }
  });

  it('equals jose for keys made by jose, and for RSA', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    expect(jwkThumbprint(jwk as JsonWebKey)).toBe(await calculateJwkThumbprint(jwk));
    const rsa = publicJwk('rsa');
    expect(jwkThumbprint(rsa)).toBe(await calculateJwkThumbprint(rsa as never));
  });

  it('matches the RFC 7638 §3.1 example', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    expect(jwkThumbprint({ kty: 'RSA', n, e: 'AQAB', alg: 'RS256', kid: '2011-04-29' })).toBe(
      'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    );
  });

  it('refuses an unknown kty or a missing member with ECT_KEY_INVALID', () => {
    expectKeyInvalid(() => jwkThumbprint({ kty: 'oct', k: 'AAAA' }));
    expectKeyInvalid(() => jwkThumbprint({}));
    expectKeyInvalid(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'AAAA' }));
  });
});

describe('generateSigningKey', () => {
  it.each(ALGS)('makes a %s key whose kid is its thumbprint', async (alg) => {
    const key = generateSigningKey(alg);
    expect(key.alg).toBe(alg);
    expect(algorithmOf(key.privateKey)).toBe(alg);
    expect(key.privateKey.type).toBe('private');
    expect(key.kid).toBe(await calculateJwkThumbprint(publicJwkOf(key)));
  });

  it('defaults to ES256 and refuses other algorithms', () => {
    expect(generateSigningKey().alg).toBe('ES256');
    expectKeyInvalid(() => generateSigningKey('RS256' as EctAlgorithm));
  });
});

describe('JWK export and import', () => {
  it.each(ALGS)('round-trips a %s key through its public and private JWKs', (alg) => {
    const key = generateSigningKey(alg);
    const pub = publicJwkOf(key, ['spiffe://example.org/a']);
    expect(pub).toMatchObject({ kid: key.kid, alg, use: 'sig', ect_iss: ['spiffe://example.org/a'] });
    expect(pub).not.toHaveProperty('d');
    const verification = importVerificationJwk(pub);
    expect(verification).toMatchObject({ kid: key.kid, alg, issuers: ['spiffe://example.org/a'] });
    expect(verification.publicKey.equals(verificationKeyOf(key).publicKey)).toBe(true);
    const priv = privateJwkOf(key);
    expect(priv).toMatchObject({ kid: key.kid, alg });
    expect(typeof priv.d).toBe('string');
    const signing = importSigningJwk(priv);
    expect(signing.kid).toBe(key.kid);
    expect(signing.alg).toBe(alg);
    expect(signing.privateKey.equals(key.privateKey)).toBe(true);
  });

  it('leaves out ect_iss for no or empty issuers; reads a single issuer string', () => {
    const key = generateSigningKey();
    expect(publicJwkOf(key)).not.toHaveProperty('ect_iss');
    expect(publicJwkOf(key, [])).not.toHaveProperty('ect_iss');
    expect(importVerificationJwk(publicJwkOf(key)).issuers).toBeUndefined();
    expect(importVerificationJwk({ ...publicJwkOf(key), ect_iss: 'spiffe://a' } as JsonWebKey).issuers).toEqual([
      'spiffe://a',
    ]);
  });

  it('derives kid from the thumbprint when the JWK has none, and ignores private members', () => {
    const key = generateSigningKey('ES384');
    const { kid: _kid, ...priv } = privateJwkOf(key);
    expect(importVerificationJwk(priv).kid).toBe(key.kid);
    expect(importVerificationJwk(priv).publicKey.type).toBe('public');
    expect(importSigningJwk(priv).kid).toBe(key.kid);
  });

  it('refuses a JWK whose alg does not match its key', () => {
    const key = generateSigningKey('ES256');
    for (const alg of ['ES384', 'EdDSA', 'RS256', 'HS256', 'none']) {
      expectKeyInvalid(() => importVerificationJwk({ ...publicJwkOf(key), alg } as JsonWebKey));
      expectKeyInvalid(() => importSigningJwk({ ...privateJwkOf(key), alg } as JsonWebKey));
    }
  });

  it.each<[string, () => JsonWebKey]>([
    ['RSA', () => publicJwk('rsa')],
    ['P-521', () => publicJwk('ec', 'P-521')],
    ['secp256k1', () => publicJwk('ec', 'secp256k1')],
    ['X25519', () => publicJwk('x25519')],
    ['oct (symmetric)', () => ({ kty: 'oct', k: Buffer.from('secret').toString('base64url') })],
    ['garbage', () => ({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' })],
    ['empty', () => ({})],
  ])('refuses an unsupported or invalid key (%s) with ECT_KEY_INVALID', (_name, make) => {
    expectKeyInvalid(() => importVerificationJwk(make()));
  });

  it('refuses a private JWK without d, and private keys of unsupported types', () => {
    const key = generateSigningKey();
    expectKeyInvalid(() => importSigningJwk(publicJwkOf(key)));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    expectKeyInvalid(() => importSigningJwk(privateKey.export({ format: 'jwk' })));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expectKeyInvalid(() => algorithmOf(rsa));
  });

  it('refuses an ect_iss that is not a string or an array of strings', () => {
    const key = generateSigningKey();
    for (const ect_iss of [1, [1], { a: 'b' }, null]) {
      expectKeyInvalid(() => importVerificationJwk({ ...publicJwkOf(key), ect_iss } as JsonWebKey));
    }
  });
});
