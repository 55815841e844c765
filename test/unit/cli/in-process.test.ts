import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ect } from '../../helpers/cli.js';

// The same commands as the contract tests, run in-process through the CliIo seam: output and
// standard input are captured, exit codes come back from runCli, nothing is spawned.

const dir = mkdtempSync(join(tmpdir(), 'ect-cli-in-process-'));
const keys = join(dir, 'k');
const create = async (execAct: string, pred: string[] = []) => {
  const created = await ect([
    'token',
    'create',
    '--key',
    join(keys, 'private.jwk.json'),
    '--iss',
    'spiffe://example.org/a',
    '--aud',
    'spiffe://example.org',
    '--exec-act',
    execAct,
    '--wid',
    '0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e6f',
    ...pred.flatMap((p) => ['--pred', p]),
  ]);
  expect(created.code).toBe(0);
  return created.stdout.trim();
};
const jtiOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;

describe('runCli in-process', () => {
  it('generates keys, signs, verifies from standard input and audits a set', async () => {
    expect((await ect(['keys', 'generate', '--out', keys])).code).toBe(0);
    const a = await create('fetch_data');
    const b = await create('analyze_risk', [jtiOf(a)]);
    const verified = await ect(['token', 'verify', '-', '--jwks', join(keys, 'jwks.json'), '--json'], `${b}\n`);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, claims: { exec_act: 'analyze_risk' } });

    const file = join(dir, 'set.txt');
    writeFileSync(file, `${a}\n${b}\n`);
    const audit = await ect(['dag', 'verify', file, '--jwks', keys, '--json']);
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ verdict: 'valid', tokens: 2, edges: 1, signaturesChecked: true });

    writeFileSync(file, `${b}\n`);
    expect((await ect(['dag', 'verify', file, '--jwks', keys])).code).toBe(3);
  });

  it('answers a usage error with exit 2 and one line on stderr', async () => {
    const result = await ect(['token', 'verify', 'abc', '--jwks', join(dir, 'missing.json')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ect: cannot read key file .*missing\.json/);
    expect(result.stdout).toBe('');
  });
});
