/**
 * `ect token create --iss X` with a key bound to other issuers (`ect_iss`) refuses with exit 2,
 * since every verifier would refuse the token with ECT_ISS_MISMATCH; `--force` signs anyway. The
 * binding is read from `--jwks`, else `jwks.json` beside the key, else the private JWK itself.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ect } from '../../helpers/cli.js';

const A = 'spiffe://example.org/a';
const B = 'spiffe://example.org/b';
const C = 'spiffe://example.org/c';
const dir = mkdtempSync(join(tmpdir(), 'ect-cli-binding-'));
const bound = join(dir, 'bound');
const unbound = join(dir, 'unbound');

const create = (keyFile: string, iss: string, extra: string[] = []) =>
  ect([
    'token',
    'create',
    '--key',
    keyFile,
    '--iss',
    iss,
    '--aud',
    'spiffe://example.org',
    '--exec-act',
    'x',
    ...extra,
  ]);
const verify = async (token: string, jwks: string) =>
  JSON.parse((await ect(['token', 'verify', token, '--jwks', jwks, '--json'])).stdout) as {
    valid: boolean;
    code?: string;
  };

beforeAll(async () => {
  expect((await ect(['keys', 'generate', '--out', bound, '--iss', A, C])).code).toBe(0);
  expect((await ect(['keys', 'generate', '--out', unbound])).code).toBe(0);
});

describe('ect token create and the key issuer binding', () => {
  it('refuses an --iss outside the binding in jwks.json beside the key: exit 2, a message naming both, no token', async () => {
    const result = await create(join(bound, 'private.jwk.json'), B);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`not to --iss ${B}`);
    expect(result.stderr).toContain(`${A}, ${C}`);
    expect(result.stderr).toContain(join(bound, 'jwks.json'));
    expect(result.stderr).toContain('ECT_ISS_MISMATCH');
    expect(result.stderr).toContain('--force');
  });

  it('signs for every issuer in the binding, and the token verifies', async () => {
    for (const iss of [A, C]) {
      const result = await create(join(bound, 'private.jwk.json'), iss);
      expect(result.code, result.stderr).toBe(0);
      expect(await verify(result.stdout.trim(), join(bound, 'jwks.json'))).toMatchObject({ valid: true });
    }
  });

  it('--force signs anyway, with a warning; the token then fails verification as the refusal said', async () => {
    const result = await create(join(bound, 'private.jwk.json'), B, ['--force']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: --force: .* not bound to spiffe:\/\/example.org\/b/);
    expect(await verify(result.stdout.trim(), join(bound, 'jwks.json'))).toMatchObject({
      valid: false,
      code: 'ECT_ISS_MISMATCH',
    });
  });

  it('a key with no binding signs for any issuer', async () => {
    const result = await create(join(unbound, 'private.jwk.json'), B);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('reads the binding from an ect_iss member of the private JWK when no jwks.json is beside it', async () => {
    const alone = join(dir, 'alone');
    mkdirSync(alone);
    const jwk = JSON.parse(readFileSync(join(unbound, 'private.jwk.json'), 'utf8'));
    const keyFile = join(alone, 'key.json');
    writeFileSync(keyFile, JSON.stringify({ ...jwk, ect_iss: A }), { mode: 0o600 });
    expect((await create(keyFile, B)).code).toBe(2);
    expect((await create(keyFile, B)).stderr).toContain(`(ect_iss in ${keyFile})`);
    expect((await create(keyFile, A)).code).toBe(0);
  });

  it('reads the binding from --jwks when given, and refuses a set that does not hold the key', async () => {
    const moved = join(dir, 'moved');
    mkdirSync(moved);
    const keyFile = join(moved, 'private.jwk.json');
    copyFileSync(join(bound, 'private.jwk.json'), keyFile);
    // No jwks.json beside the copy: without --jwks nothing binds it.
    expect((await create(keyFile, B)).code).toBe(0);
    const refused = await create(keyFile, B, ['--jwks', join(bound, 'jwks.json')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ECT_ISS_MISMATCH');
    expect((await create(keyFile, A, ['--jwks', join(bound, 'jwks.json')])).code).toBe(0);
    const elsewhere = await create(keyFile, A, ['--jwks', join(unbound, 'jwks.json')]);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/has no key with kid/);
    const missing = await create(keyFile, A, ['--jwks', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read key file .*nope\.json: ENOENT/);
  });

  it('a jwks.json beside the key that cannot be read is a usage error naming it', async () => {
    const broken = join(dir, 'broken');
    mkdirSync(broken);
    copyFileSync(join(bound, 'private.jwk.json'), join(broken, 'private.jwk.json'));
    writeFileSync(join(broken, 'jwks.json'), '{ not json');
    const result = await create(join(broken, 'private.jwk.json'), A);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read the issuer binding from ${join(broken, 'jwks.json')}`);
  });

  it('documents where the binding comes from in --help', async () => {
    const help = (await ect(['token', 'create', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--jwks <file>/);
    expect(help).toMatch(/jwks\.json beside --key .* then an ect_iss member of the private JWK/);
    expect(help).toMatch(/--force/);
  });
});
