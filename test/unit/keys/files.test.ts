/** Key files: generate → save → load round trip, file modes, PEM (PKCS#8, SEC1, SPKI), errors. */
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  JWKS_FILE,
  loadSigningKey,
  loadVerificationKeys,
  parseSigningKey,
  parseVerificationKeys,
  PRIVATE_KEY_FILE,
  publicJwkOf,
  saveKeyFiles,
} from '../../../src/keys/index.js';
import { EctKeyError, EctSigner, type EctAlgorithm } from '../../../src/token/index.js';
import { expectAcceptedBoth, expectRejectedBoth, ISS, validClaims, verifyOptions } from '../../helpers/ect.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ect-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectKeyInvalid(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(EctKeyError);
  await expect(promise).rejects.toMatchObject({ code: 'ECT_KEY_INVALID' });
}

describe('generate → saveKeyFiles → load round trip', () => {
  it.each<EctAlgorithm>(['ES256', 'ES384', 'EdDSA'])(
    '%s: loaded keys sign and verify, with the issuer binding',
    async (alg) => {
      const key = generateSigningKey(alg);
      const target = join(dir, `rt-${alg}`);
      const { privateKeyPath, jwksPath } = await saveKeyFiles(target, key, { issuers: [ISS] });
      expect(privateKeyPath).toBe(join(target, PRIVATE_KEY_FILE));
      expect(jwksPath).toBe(join(target, JWKS_FILE));

      const loaded = await loadSigningKey(privateKeyPath);
      expect(loaded.kid).toBe(key.kid);
      expect(loaded.alg).toBe(alg);
      expect(loaded.privateKey.equals(key.privateKey)).toBe(true);

      const resolver = await loadVerificationKeys(jwksPath);
      expect(resolver.kids).toEqual([key.kid]);
      expect(resolver.resolveSync(key.kid)?.issuers).toEqual([ISS]);
      const signer = new EctSigner(loaded);
      await expectAcceptedBoth(verifyOptions(resolver), signer.sign(validClaims()));
      await expectRejectedBoth(
        verifyOptions(resolver),
        signer.sign(validClaims({ iss: 'spiffe://example.org/other' })),
        'ECT_ISS_MISMATCH',
      );
    },
  );

  it('writes the private key with mode 0600 and no private members into the JWK Set', async () => {
    const key = generateSigningKey();
    const { privateKeyPath, jwksPath } = await saveKeyFiles(join(dir, 'modes'), key);
    if (process.platform !== 'win32') expect((await stat(privateKeyPath)).mode & 0o777).toBe(0o600);
    const jwks = JSON.parse(await readFile(jwksPath, 'utf8')) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(jwks.keys[0]).toMatchObject({ kid: key.kid, alg: 'ES256', use: 'sig' });
  });

  it('keeps mode 0600 when it overwrites an existing, more open private key file', async () => {
    if (process.platform === 'win32') return;
    const target = join(dir, 'overwrite');
    const first = await saveKeyFiles(target, generateSigningKey());
    await chmod(first.privateKeyPath, 0o644);
    const key = generateSigningKey();
    const { privateKeyPath } = await saveKeyFiles(target, key);
    expect((await stat(privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await loadSigningKey(privateKeyPath)).kid).toBe(key.kid);
  });

  it('publishes still-active keys beside the new one (rotation)', async () => {
    const old = generateSigningKey('ES256');
    const fresh = generateSigningKey('EdDSA');
    const { jwksPath } = await saveKeyFiles(join(dir, 'rotate'), fresh, { alsoPublish: [publicJwkOf(old)] });
    const resolver = await loadVerificationKeys(jwksPath);
    expect(resolver.kids.sort()).toEqual([old.kid, fresh.kid].sort());
    await expectAcceptedBoth(verifyOptions(resolver), new EctSigner(old).sign(validClaims()));
    await expectAcceptedBoth(verifyOptions(resolver), new EctSigner(fresh).sign(validClaims()));
  });

  it('overrides the kid of a loaded signing key when asked', async () => {
    const { privateKeyPath } = await saveKeyFiles(join(dir, 'kid'), generateSigningKey());
    expect((await loadSigningKey(privateKeyPath, 'my-kid')).kid).toBe('my-kid');
  });
});

describe('PEM and single-JWK files', () => {
  it.each<[EctAlgorithm, 'pkcs8' | 'sec1']>([
    ['ES256', 'pkcs8'],
    ['ES384', 'pkcs8'],
    ['EdDSA', 'pkcs8'],
    ['ES256', 'sec1'],
  ])('loads a %s %s private PEM and an SPKI public PEM that verify each other', async (alg, type) => {
    const key = generateSigningKey(alg);
    const privatePem = key.privateKey.export({ type, format: 'pem' }) as string;
    const publicPem = (await import('node:crypto'))
      .createPublicKey(key.privateKey)
      .export({ type: 'spki', format: 'pem' }) as string;
    await writeFile(join(dir, `priv-${alg}-${type}.pem`), privatePem);
    await writeFile(join(dir, `pub-${alg}-${type}.pem`), publicPem);

    const signing = await loadSigningKey(join(dir, `priv-${alg}-${type}.pem`));
    expect(signing.kid).toBe(key.kid);
    expect(signing.alg).toBe(alg);
    const resolver = await loadVerificationKeys(join(dir, `pub-${alg}-${type}.pem`));
    expect(resolver.kids).toEqual([key.kid]);
    await expectAcceptedBoth(verifyOptions(resolver), new EctSigner(signing).sign(validClaims()));
  });

  it('reads a single public JWK (not a set) as a verification key file', () => {
    const key = generateSigningKey();
    const resolver = parseVerificationKeys(JSON.stringify(publicJwkOf(key)));
    expect(resolver.kids).toEqual([key.kid]);
  });

  it('derives the public key from a private PEM given as verification key', () => {
    const key = generateSigningKey('EdDSA');
    const resolver = parseVerificationKeys(key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    expect(resolver.kids).toEqual([key.kid]);
  });

  it('refuses unsupported PEM keys (RSA, P-521, X25519) with ECT_KEY_INVALID', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const x25519 = generateKeyPairSync('x25519');
    for (const pair of [rsa, p521, x25519]) {
      expect(() => parseSigningKey(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)).toThrow(
        EctKeyError,
      );
      expect(() => parseVerificationKeys(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string)).toThrow(
        expect.objectContaining({ code: 'ECT_KEY_INVALID' }),
      );
    }
  });

  it('refuses garbage, bad JSON, a public PEM as signing key and a wrong-alg JWK with ECT_KEY_INVALID', async () => {
    const key = generateSigningKey();
    const publicPem = (await import('node:crypto'))
      .createPublicKey(key.privateKey)
      .export({ type: 'spki', format: 'pem' }) as string;
    expect(() => parseSigningKey('not a key')).toThrow(EctKeyError);
    expect(() => parseSigningKey('{"kty":')).toThrow(EctKeyError);
    expect(() => parseSigningKey(publicPem)).toThrow(EctKeyError);
    expect(() => parseSigningKey(JSON.stringify(publicJwkOf(key)))).toThrow(EctKeyError);
    expect(() => parseVerificationKeys('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow(
      EctKeyError,
    );
    expect(() => parseVerificationKeys('{"keys": 5}')).toThrow(EctKeyError);
    expect(() => parseVerificationKeys(JSON.stringify({ ...publicJwkOf(key), alg: 'ES384' }))).toThrow(EctKeyError);
  });

  it('reports a missing file as ECT_KEY_INVALID naming the path', async () => {
    await expectKeyInvalid(loadSigningKey(join(dir, 'nope.json')));
    await expectKeyInvalid(loadVerificationKeys(join(dir, 'nope.json')));
    await expect(loadSigningKey(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json: ENOENT/);
  });
});
