/** The signer: `newClaims`, `EctSigner`, `PendingEct` and the signing failure code. */
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../../src/keys/index.js';
import { EctError, EctSigner, isUuid, LIMITS, newClaims, PendingEct } from '../../../src/token/index.js';
import {
  AUD,
  decodePart,
  expectAcceptedBoth,
  ISS,
  NOW,
  PRED_A,
  sharedIssuer,
  validClaims,
  verifyOptions,
  WID,
} from '../../helpers/ect.js';

describe('newClaims', () => {
  it('fills in a fresh UUID jti, iat now and exp iat + 600 s, pred []', () => {
    const before = Math.floor(Date.now() / 1000);
    const a = newClaims({ iss: ISS, aud: AUD, exec_act: 'x' });
    const b = newClaims({ iss: ISS, aud: AUD, exec_act: 'x' });
    expect(isUuid(a.jti)).toBe(true);
    expect(a.jti).not.toBe(b.jti);
    expect(a.iat).toBeGreaterThanOrEqual(before);
    expect(a.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(a.exp - a.iat).toBe(LIMITS.defaultTtlSeconds);
    expect(a.pred).toEqual([]);
    expect(Object.keys(a)).toEqual(['iss', 'aud', 'iat', 'exp', 'jti', 'exec_act', 'pred']);
  });

  it('takes given values, copies arrays and leaves absent optional claims out', () => {
    const pred = [PRED_A];
    const aud = [AUD, 'spiffe://example.org/ledger'];
    const claims = newClaims({
      iss: ISS,
      aud,
      exec_act: 'x',
      pred,
      iat: NOW,
      ttlSeconds: 30,
      jti: PRED_A.replace('3f', '4f'),
      wid: WID,
    });
    expect(claims).toMatchObject({ iat: NOW, exp: NOW + 30, wid: WID, pred: [PRED_A], aud });
    expect(claims.pred).not.toBe(pred);
    expect(claims.aud).not.toBe(aud);
    expect(claims).not.toHaveProperty('inp_hash');
    expect(claims).not.toHaveProperty('ect_ext');
  });
});

describe('EctSigner', () => {
  const issuer = sharedIssuer('ES256');

  it('writes the header alg, typ, kid and a 64-byte r||s ES256 signature over the signing input', () => {
    const token = issuer.signer.sign(validClaims());
    const [h, p, s] = token.split('.') as [string, string, string];
    expect(decodePart(token, 0)).toEqual({ alg: 'ES256', typ: 'exec+jwt', kid: issuer.key.kid });
    const signature = Buffer.from(s, 'base64url');
    expect(signature).toHaveLength(64);
    const ok = verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key: createPublicKey(issuer.key.privateKey), dsaEncoding: 'ieee-p1363' },
      signature,
    );
    expect(ok).toBe(true);
  });

  it('writes 96-byte signatures for ES384 and 64-byte ones for EdDSA', () => {
    expect(Buffer.from(sharedIssuer('ES384').signer.sign(validClaims()).split('.')[2] ?? '', 'base64url')).toHaveLength(
      96,
    );
    expect(Buffer.from(sharedIssuer('EdDSA').signer.sign(validClaims()).split('.')[2] ?? '', 'base64url')).toHaveLength(
      64,
    );
  });

  it('encodes the claims as JSON in the payload, unicode included', () => {
    const claims = validClaims({ exec_act: 'überweisung 💸 \u2028' });
    expect(decodePart(issuer.signer.sign(claims), 1)).toEqual(claims);
  });

  it('refuses to sign with a key that cannot sign, with ECT_SIGNING_FAILED (status 500)', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const broken = new EctSigner({ kid: 'k', alg: 'ES256', privateKey: publicKey });
    let caught: unknown;
    try {
      broken.sign(validClaims());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EctError);
    expect((caught as EctError).code).toBe('ECT_SIGNING_FAILED');
    expect((caught as EctError).status).toBe(500);
    expect((caught as EctError).cause).toBeDefined();
  });
});

describe('PendingEct', () => {
  const issuer = sharedIssuer('ES256');

  it('fixes the claims at once and signs on first demand, once', async () => {
    const claims = validClaims();
    const pending = new PendingEct(issuer.signer, claims.jti, claims);
    expect(pending.signed).toBe(false);
    expect(pending.jti).toBe(claims.jti);
    expect(Object.isFrozen(pending.claims)).toBe(true);
    const token = pending.compact();
    expect(pending.signed).toBe(true);
    // ECDSA signatures are randomised: the same string back proves it was signed only once.
    expect(pending.compact()).toBe(token);
    expect((await expectAcceptedBoth(verifyOptions(issuer.resolver), token)).claims).toEqual(claims);
  });

  it('surfaces a signing failure from compact()', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const signer = new EctSigner({ ...generateSigningKey('EdDSA'), privateKey: publicKey });
    const claims = validClaims();
    const pending = new PendingEct(signer, claims.jti, claims);
    expect(() => pending.compact()).toThrow(expect.objectContaining({ code: 'ECT_SIGNING_FAILED' }));
    expect(pending.signed).toBe(false);
  });
});
