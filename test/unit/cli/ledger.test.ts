import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ect } from '../../helpers/cli.js';
import { makeTokens, tempDir } from '../../helpers/ledger.js';

const tokens = makeTokens(40);

describe('ect ledger', () => {
  it('appends, gets, proves, hands out receipts that verify offline, and verifies the whole log', async () => {
    const dir = tempDir();
    const first = await ect(
      ['ledger', 'append', '--dir', dir, '--origin', 'cli.example/ledger', '--json'],
      tokens.slice(0, 30).join('\n'),
    );
    expect(first.code).toBe(0);
    const appended = JSON.parse(first.stdout) as { indexes: number[]; size: number; checkpoint: string };
    expect(appended.indexes).toHaveLength(30);
    expect(appended.checkpoint.startsWith('cli.example/ledger\n30\n')).toBe(true);
    const file = join(dir, 'more.txt');
    writeFileSync(file, `${tokens.slice(30).join('\n')}\n`);
    expect((await ect(['ledger', 'append', '--dir', dir, file])).code).toBe(0);

    const key = (await ect(['ledger', 'key', '--dir', dir])).stdout.trim();
    expect(key).toBe(readFileSync(join(dir, 'note.pub'), 'utf8').trim());
    expect((await ect(['ledger', 'get', '7', '--dir', dir])).stdout).toBe(`${tokens[7]}\n`);
    const jti = JSON.parse(Buffer.from((tokens[9] as string).split('.')[1] as string, 'base64url').toString()).jti;
    expect(JSON.parse((await ect(['ledger', 'get', jti, '--dir', dir, '--json'])).stdout).leaf_index).toBe(9);

    const receipt = (await ect(['ledger', 'get', '12', '--receipt', '--dir', dir])).stdout;
    const checked = await ect(['ledger', 'verify-receipt', '--key', key, '--json'], receipt);
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({ valid: true, leaf_index: 12, tree_size: 40 });
    const tampered = receipt.replace('"leaf_index":12', '"leaf_index":13');
    const refused = await ect(['ledger', 'verify-receipt', '--key', key, '--json'], tampered);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).code).toBe('ECT_LEDGER_PROOF_INVALID');

    const proof = JSON.parse((await ect(['ledger', 'proof', '3', '--size', '30', '--dir', dir, '--json'])).stdout);
    expect(proof).toMatchObject({ leaf_index: 3, tree_size: 30 });
    const consistency = JSON.parse((await ect(['ledger', 'consistency', '30', '--dir', dir, '--json'])).stdout);
    expect(consistency.old_root).toBe(appended.checkpoint.split('\n')[2]);
    expect((await ect(['ledger', 'proof', '40', '--dir', dir])).code).toBe(1);

    const verified = await ect(['ledger', 'verify', '--dir', dir, '--key', key]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('VALID (40 entries');
  });

  it('refuses duplicates and unverifiable tokens with exit 1, bad usage with exit 2, and names a broken entry', async () => {
    const dir = tempDir();
    expect((await ect(['ledger', 'append', '--dir', dir], tokens.slice(0, 5).join('\n'))).code).toBe(0);
    const duplicate = await ect(['ledger', 'append', '--dir', dir, '--json'], tokens[2]);
    expect(duplicate.code).toBe(1);
    expect(JSON.parse(duplicate.stdout).code).toBe('ECT_LEDGER_DUPLICATE');
    // Keys that did not sign the tokens.
    expect((await ect(['keys', 'generate', '--out', join(dir, 'k')])).code).toBe(0);
    const jwks = join(dir, 'k', 'jwks.json');
    const unverified = await ect(['ledger', 'append', '--dir', dir, '--jwks', jwks], tokens[6]);
    expect(unverified.code).toBe(1);
    expect((await ect(['ledger', 'proof', 'x', '--dir', dir])).code).toBe(2);
    expect((await ect(['ledger', 'verify-receipt', '--key', 'nonsense'], '{}')).code).toBe(2);
    expect((await ect(['ledger', 'get', '1', '--dir', join(dir, 'nope')])).code).toBe(2);

    const entries = readFileSync(join(dir, 'entries'));
    entries[entries.length - 5] = (entries[entries.length - 5] as number) ^ 1;
    writeFileSync(join(dir, 'entries'), entries);
    const broken = await ect(['ledger', 'verify', '--dir', dir, '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout).firstBrokenIndex).toBe(4);
  });

  it('has --help on every sub-command', async () => {
    for (const sub of ['append', 'get', 'proof', 'consistency', 'key', 'verify', 'verify-receipt', 'serve']) {
      const help = await ect(['ledger', sub, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--json');
    }
  });
});
