import { generateKeyPairSync } from 'node:crypto';
import { compactVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../../src/keys/index.js';
import {
  CryptoPool,
  type DraftVersion,
  type EctAlgorithm,
  EctSigner,
  PendingEct,
  type Signable,
} from '../../../src/token/index.js';
import { decodePart, expectAcceptedBoth, makeIssuer, validClaims, verifyOptions } from '../../helpers/ect.js';

describe('EctSigner.signAsync and CryptoPool', () => {
  it.each([
    ['ES256', '01'],
    ['ES384', '01'],
    ['EdDSA', '01'],
    ['ES256', '00'],
  ] as [EctAlgorithm, DraftVersion][])(
    '%s (-%s): the pool signs the same header and payload as the thread, and jose verifies it',
    async (alg, draft) => {
      const issuer = makeIssuer(alg, { draft });
      const claims = validClaims();
      const inThread = issuer.signer.sign(claims);
      const pooled = await new CryptoPool(2).sign(new PendingEct(issuer.signer, claims.jti, claims));
      expect(pooled.split('.').slice(0, 2)).toEqual(inThread.split('.').slice(0, 2));
      expect(decodePart(pooled, 1)).toEqual(decodePart(inThread, 1));
      await compactVerify(pooled, issuer.verificationKey.publicKey, { algorithms: [alg] });
      expect((await expectAcceptedBoth(verifyOptions(issuer.resolver), pooled)).claims).toEqual(
        (await expectAcceptedBoth(verifyOptions(issuer.resolver), inThread)).claims,
      );
    },
  );

  it('signs each pending token once, however often it is asked, and keeps a signature made meanwhile in the thread', async () => {
    const issuer = makeIssuer('ES256');
    const pool = new CryptoPool(1);
    const claims = validClaims();
    const pending = new PendingEct(issuer.signer, claims.jti, claims);
    const [a, b] = await Promise.all([pool.sign(pending), pool.sign(pending)]);
    expect(a).toBe(b);
    expect(pending.compact()).toBe(a);

    const raced = new PendingEct(issuer.signer, claims.jti, claims);
    const inFlight = pool.sign(raced);
    const now = raced.compact();
    expect(await inFlight).toBe(now);
  });

  it('runs at most `threads` operations at once, in the order asked', async () => {
    const pool = new CryptoPool(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return i;
    };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.run(task(i))));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(2);
    expect(pool.queued).toBe(0);
  });

  it('falls back to the calling thread when the pool fails: no token is lost', async () => {
    const issuer = makeIssuer('ES256');
    const claims = validClaims();
    const pending = new PendingEct(issuer.signer, claims.jti, claims);
    const brokenPool: Signable = {
      get signed() {
        return pending.signed;
      },
      compact: () => pending.compact(),
      compactAsync: () => Promise.reject(new Error('worker died mid-batch')),
    };
    const token = await new CryptoPool(2).sign(brokenPool);
    await expectAcceptedBoth(verifyOptions(issuer.resolver), token);
  });

  it('rejects with ECT_SIGNING_FAILED when the key cannot sign, in the pool and in the thread', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const signer = new EctSigner({ ...generateSigningKey('EdDSA'), privateKey: publicKey });
    const claims = validClaims();
    await expect(signer.signAsync(claims)).rejects.toMatchObject({ code: 'ECT_SIGNING_FAILED' });
    await expect(new CryptoPool(1).sign(new PendingEct(signer, claims.jti, claims))).rejects.toMatchObject({
      code: 'ECT_SIGNING_FAILED',
    });
  });

  it('with no threads signs in the calling thread, before the promise is even awaited', () => {
    const issuer = makeIssuer('ES256');
    const claims = validClaims();
    const pending = new PendingEct(issuer.signer, claims.jti, claims);
    void new CryptoPool(0).sign(pending);
    expect(pending.signed).toBe(true);
  });
});
