/**
 * Cross-checks with jose alone: jose's `jwtVerify` accepts what `EctSigner` produces (so the fast
 * node:crypto signer writes standard JWS), and our verifier accepts what jose's `SignJWT` produces.
 */
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { publicJwkOf } from '../../../src/keys/index.js';
import type { EctAlgorithm } from '../../../src/token/index.js';
import {
  AUD,
  expectAcceptedBoth,
  expectRejectedBoth,
  ISS,
  makeIssuer,
  NOW,
  PRED_A,
  validClaims,
  verifyOptions,
  WID,
} from '../../helpers/ect.js';

const ALGS: EctAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];

describe.each(ALGS)('%s', (alg) => {
  const issuer = makeIssuer(alg);

  it('jose jwtVerify (typ exec+jwt, algorithms) accepts an EctSigner token with the same claims', async () => {
    const claims = validClaims({ pred: [PRED_A], wid: WID, ect_ext: { 'org.example.k': 'v' } });
    const token = issuer.signer.sign(claims);
    const { payload, protectedHeader } = await jwtVerify(token, issuer.verificationKey.publicKey, {
      typ: 'exec+jwt',
      algorithms: [alg],
      issuer: ISS,
      audience: AUD,
      currentDate: new Date(NOW * 1000),
    });
    expect(payload).toEqual(claims);
    expect(protectedHeader).toEqual({ alg, typ: 'exec+jwt', kid: issuer.key.kid });
  });

  it('jose verifies with the published JWK too, and its kid is the jose thumbprint', async () => {
    const jwk = publicJwkOf(issuer.key);
    const token = issuer.signer.sign(validClaims());
    await expect(
      jwtVerify(token, await importJWK(jwk, alg), {
        typ: 'exec+jwt',
        algorithms: [alg],
        currentDate: new Date(NOW * 1000),
      }),
    ).resolves.toBeDefined();
    expect(decodeProtectedHeader(token).kid).toBe(await calculateJwkThumbprint(jwk));
  });

  it('jose refuses an EctSigner token under another algorithm or typ (the token says what it is)', async () => {
    const token = issuer.signer.sign(validClaims());
    const other = ALGS.filter((a) => a !== alg);
    await expect(
      jwtVerify(token, issuer.verificationKey.publicKey, { algorithms: other, currentDate: new Date(NOW * 1000) }),
    ).rejects.toThrow();
    await expect(
      jwtVerify(token, issuer.verificationKey.publicKey, { typ: 'JWT', currentDate: new Date(NOW * 1000) }),
    ).rejects.toThrow();
  });

  it('our verifier accepts a token made by jose SignJWT', async () => {
    const claims = validClaims({ pred: [PRED_A], wid: WID });
    const { iat, exp, ...rest } = claims;
    const token = await new SignJWT({ ...rest })
      .setProtectedHeader({ alg, typ: 'exec+jwt', kid: issuer.key.kid })
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(issuer.key.privateKey);
    const result = await expectAcceptedBoth(verifyOptions(issuer.resolver), token);
    expect(result.claims).toEqual(claims);
    expect(result.draft).toBe('01');
  });

  it('our verifier refuses a jose SignJWT token with the wrong typ or without kid', async () => {
    const { iat, exp, ...rest } = validClaims();
    const sign = (header: Record<string, unknown>) =>
      new SignJWT({ ...rest })
        .setProtectedHeader({ alg, ...header })
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(issuer.key.privateKey);
    await expectRejectedBoth(
      verifyOptions(issuer.resolver),
      await sign({ typ: 'JWT', kid: issuer.key.kid }),
      'ECT_TYP_INVALID',
    );
    await expectRejectedBoth(verifyOptions(issuer.resolver), await sign({ typ: 'exec+jwt' }), 'ECT_KID_MISSING');
  });
});
