import { generateKeyPairSync } from 'node:crypto';
import { compactVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../../src/keys/index.js';
import {
  CryptoPool,
  defaultCryptoThreads,
  type DraftVersion,
  type EctAlgorithm,
  EctSigner,
  PendingEct,
} from '../../../src/token/index.js';
import { decodePart, expectAcceptedBoth, makeIssuer, validClaims, verifyOptions } from '../../helpers/ect.js';

describe('defaultCryptoThreads: the pool size when ECT_CRYPTO_THREADS is unset', () => {
  it('none on one core; else one core stays with the event loop, at most 4 threads', () => {
    expect([1, 2, 3, 4, 5, 8, 16, 64].map((cores) => defaultCryptoThreads(cores))).toEqual([0, 1, 2, 3, 4, 4, 4, 4]);
  });
});

describe('CryptoPool: batched worker threads', () => {
  const pool2 = new CryptoPool({ threads: 2 });
  afterAll(() => pool2.close());

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
      const pooled = await pool2.sign(new PendingEct(issuer.signer, claims.jti, claims));
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
    const pool = new CryptoPool({ threads: 1 });
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

  it('signs many distinct tokens in batches, each resolved with its own token, in any order asked', async () => {
    const issuer = makeIssuer('ES256');
    const pool = new CryptoPool({ threads: 2, maxBatch: 16 });
    const all = Array.from({ length: 100 }, (_, i) => validClaims({ exec_act: `task-${i}` }));
    const tokens = await Promise.all(all.map((claims) => pool.sign(new PendingEct(issuer.signer, claims.jti, claims))));
    for (const [i, token] of tokens.entries()) {
      expect((await expectAcceptedBoth(verifyOptions(issuer.resolver), token)).claims).toEqual(all[i]);
    }
    await pool.close();
  });

  it('a worker killed mid-batch loses no token: its batch is signed in the calling thread and counted', async () => {
    const issuer = makeIssuer('ES256');
    const fallbacks: number[] = [];
    const pool = new CryptoPool({
      threads: 1,
      maxBatch: 8,
      workerModule: new URL('./fixtures/dying-sign-worker.mjs', import.meta.url),
      onFallback: (_error, signatures) => fallbacks.push(signatures),
    });
    const all = Array.from({ length: 40 }, (_, i) => validClaims({ exec_act: `task-${i}` }));
    const tokens = await Promise.all(all.map((claims) => pool.sign(new PendingEct(issuer.signer, claims.jti, claims))));
    expect(tokens).toHaveLength(40);
    for (const [i, token] of tokens.entries()) {
      expect((await expectAcceptedBoth(verifyOptions(issuer.resolver), token)).claims).toEqual(all[i]);
    }
    expect(fallbacks.length).toBeGreaterThan(0);
    for (const count of fallbacks) expect(count).toBe(8);
    await pool.close();
  });

  it('close() while batches are under way waits for them, signs everything and never rejects', async () => {
    const issuer = makeIssuer('ES256');
    const pool = new CryptoPool({ threads: 1, maxBatch: 8 });
    const all = Array.from({ length: 50 }, (_, i) => validClaims({ exec_act: `task-${i}` }));
    const signing = all.map((claims) => pool.sign(new PendingEct(issuer.signer, claims.jti, claims)));
    await expect(pool.close()).resolves.toBeUndefined();
    const tokens = await Promise.all(signing);
    for (const [i, token] of tokens.entries()) {
      expect((await expectAcceptedBoth(verifyOptions(issuer.resolver), token)).claims).toEqual(all[i]);
    }
    await expect(pool.close()).resolves.toBeUndefined();
  });

  it('signs in the calling thread once closed', async () => {
    const issuer = makeIssuer('ES256');
    const pool = new CryptoPool({ threads: 1 });
    await pool.close();
    const claims = validClaims();
    const pending = new PendingEct(issuer.signer, claims.jti, claims);
    void pool.sign(pending);
    expect(pending.signed).toBe(true);
  });

  it('rejects with ECT_SIGNING_FAILED when the key cannot sign, in a worker nor in the thread', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const signer = new EctSigner({ ...generateSigningKey('EdDSA'), privateKey: publicKey });
    const claims = validClaims();
    await expect(pool2.sign(new PendingEct(signer, claims.jti, claims))).rejects.toMatchObject({
      code: 'ECT_SIGNING_FAILED',
    });
  });

  it('verifyCompacts: one verdict per token, in order, in a worker and in the thread alike', async () => {
    const issuer = makeIssuer('ES256');
    const other = makeIssuer('ES256');
    const good = Array.from({ length: 5 }, (_, i) => issuer.signer.sign(validClaims({ exec_act: `task-${i}` })));
    const foreign = other.signer.sign(validClaims());
    const flipped = `${good[0]!.slice(0, -3)}${good[0]!.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    const tokens = [
      good[0]!,
      foreign,
      good[1]!,
      'no-dot-at-all',
      `${good[2]!.slice(0, good[2]!.lastIndexOf('.'))}.`,
      flipped,
      ...good.slice(2),
    ];
    const expected = [1, 0, 1, 0, 0, 0, 1, 1, 1];
    const { publicKey } = issuer.verificationKey;
    expect([...(await pool2.verifyCompacts(publicKey, 'sha256', tokens))]).toEqual(expected);
    expect([...(await new CryptoPool({ threads: 0 }).verifyCompacts(publicKey, 'sha256', tokens))]).toEqual(expected);
    expect([...(await pool2.verifyCompacts(publicKey, 'sha256', []))]).toEqual([]);
  });

  it('verifyCompacts: a worker killed mid-task loses no verdict: the strings are checked in the thread and counted', async () => {
    const issuer = makeIssuer('ES256');
    const fallbacks: number[] = [];
    const pool = new CryptoPool({
      threads: 1,
      workerModule: new URL('./fixtures/dying-sign-worker.mjs', import.meta.url),
      onFallback: (_error, operations) => fallbacks.push(operations),
    });
    const tokens = Array.from({ length: 12 }, (_, i) => issuer.signer.sign(validClaims({ exec_act: `task-${i}` })));
    tokens[7] = other(tokens[7]!);
    const batches = await Promise.all(
      [0, 4, 8].map((at) => pool.verifyCompacts(issuer.verificationKey.publicKey, 'sha256', tokens.slice(at, at + 4))),
    );
    expect(batches.flatMap((verdicts) => [...verdicts])).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1]);
    expect(fallbacks.length).toBeGreaterThan(0);
    for (const count of fallbacks) expect(count).toBe(4);
    await pool.close();
    // Once closed, verdicts come from the thread, and no fallback is counted for them.
    const after = fallbacks.length;
    expect([...(await pool.verifyCompacts(issuer.verificationKey.publicKey, 'sha256', tokens.slice(6, 8)))]).toEqual([
      1, 0,
    ]);
    expect(fallbacks).toHaveLength(after);

    /** The same token with its signature's first character changed. */
    function other(token: string): string {
      const dot = token.lastIndexOf('.');
      return `${token.slice(0, dot + 1)}${token[dot + 1] === 'A' ? 'B' : 'A'}${token.slice(dot + 2)}`;
    }
  });

  it('with no threads signs in the calling thread, before the promise is even awaited', () => {
    const issuer = makeIssuer('ES256');
    const claims = validClaims();
    const pending = new PendingEct(issuer.signer, claims.jti, claims);
    void new CryptoPool({ threads: 0 }).sign(pending);
    expect(pending.signed).toBe(true);
  });
});
