/**
 * `ect ledger get|proof|consistency|key|verify` on every kind of ledger: the same answers, exit
 * codes and JSON from `--dir DIR`, `--store file:DIR` and `--store http://…` (a real ledger server
 * over the same directory, on 127.0.0.1:0).
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileLedger } from '../../../src/ledger/file-store.js';
import { NoteSigner } from '../../../src/ledger/note.js';
import { createLedgerServer } from '../../../src/ledger/server.js';
import type { LedgerStore } from '../../../src/ledger/store.js';
import { sharedIssuer } from '../../helpers/ect.js';
import { ect } from '../../helpers/cli.js';
import { makeTokens, tempDir } from '../../helpers/ledger.js';

const tokens = makeTokens(300);

async function withServer(store: LedgerStore, run: (url: string) => Promise<void>): Promise<void> {
  const server = createLedgerServer({ store, keys: sharedIssuer().resolver });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('ect ledger read commands on any store', () => {
  it('answers the same from --dir, --store file: and --store http://', async () => {
    const dir = tempDir();
    const ledger = FileLedger.openSync({ dir, origin: 'cli.example/read' });
    ledger.appendSync(tokens.slice(0, 40));
    ledger.appendSync(tokens.slice(40));
    const key = ledger.verifierKey;
    const jti = JSON.parse(Buffer.from((tokens[9] as string).split('.')[1] as string, 'base64url').toString()).jti;
    await withServer(ledger, async (url) => {
      const commands = [
        ['get', '7', '--json'],
        ['get', jti, '--json'],
        ['get', '260', '--receipt'],
        ['proof', '3', '--size', '40', '--json'],
        ['proof', '299', '--json'],
        ['consistency', '40', '--json'],
        ['consistency', '7', '290', '--json'],
        ['key', '--key', key, '--json'],
        ['verify', '--key', key, '--json'],
      ];
      for (const command of commands) {
        const runs = await Promise.all(
          [
            ['--dir', dir],
            ['--store', `file:${dir}`],
            ['--store', url, '--key', key],
            ['--store', url],
          ]
            .filter((where) => !(where[1] === url && where.length === 2 && command.includes('--key')))
            .map((where) => ect(['ledger', ...command, ...where])),
        );
        for (const run of runs) {
          expect(run, command.join(' ')).toEqual(runs[0]);
          expect(run.code, command.join(' ')).toBe(0);
        }
      }
      const receipt = (await ect(['ledger', 'get', '260', '--receipt', '--store', url])).stdout;
      expect(JSON.parse(receipt)).toEqual(ledger.receipt(260));
      const checked = await ect(['ledger', 'verify-receipt', '--key', key, '--json'], receipt);
      expect(JSON.parse(checked.stdout)).toMatchObject({ valid: true, leaf_index: 260, tree_size: 300 });
      const verified = await ect(['ledger', 'verify', '--store', url, '--key', key]);
      expect(verified.stdout).toContain('VALID (300 entries, checkpoint size 300, origin cli.example/read)');

      // Not there, or not signed by the key given: exit 1, the same JSON.
      for (const where of [
        ['--dir', dir],
        ['--store', url],
      ]) {
        const missing = await ect(['ledger', 'proof', '300', '--json', ...where]);
        expect(missing.code).toBe(1);
        expect(JSON.parse(missing.stdout)).toMatchObject({ valid: false, code: 'ECT_LEDGER_NOT_FOUND' });
        expect((await ect(['ledger', 'get', 'no-such-jti', ...where])).code).toBe(1);
        expect((await ect(['ledger', 'consistency', '301', ...where])).code).toBe(1);
        const stranger = NoteSigner.generate('cli.example/read').verifier.toString();
        const forged = await ect(['ledger', 'get', '1', '--json', '--key', stranger, ...where]);
        expect(forged.code).toBe(1);
        expect(JSON.parse(forged.stdout).code).toBe('ECT_LEDGER_NOTE_INVALID');
        const audit = await ect(['ledger', 'verify', '--json', '--key', stranger, ...where]);
        expect(audit.code).toBe(1);
        expect(JSON.parse(audit.stdout).problems[0]).toMatchObject({
          code: 'ECT_LEDGER_NOTE_INVALID',
          where: 'checkpoint',
        });
      }
      // A server does not publish its note key: verify and key need --key (usage, exit 2).
      expect((await ect(['ledger', 'verify', '--store', url])).code).toBe(2);
      const keyless = await ect(['ledger', 'key', '--store', url]);
      expect(keyless.code).toBe(2);
      expect(keyless.stderr).toContain('--key');
    });
    // Usage: both --dir and --store, an unknown store, a server that is not there.
    expect((await ect(['ledger', 'get', '1', '--dir', dir, '--store', `file:${dir}`])).code).toBe(2);
    expect((await ect(['ledger', 'get', '1', '--store', 'ftp://x'])).code).toBe(2);
    expect((await ect(['ledger', 'get', '1', '--store', `file:${join(dir, 'nope')}`])).code).toBe(2);
    const gone = await ect(['ledger', 'get', '1', '--store', 'http://127.0.0.1:1']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('cannot read http://127.0.0.1:1/checkpoint');
    ledger.close();
  });

  it('verify over a server names the first broken index of what it serves', async () => {
    const dir = tempDir();
    const ledger = FileLedger.openSync({ dir, origin: 'cli.example/tampered' });
    ledger.appendSync(tokens);
    const tampered = new Proxy(ledger, {
      get(target, property) {
        if (property === 'resource') {
          return (path: string) => {
            const data = target.resource(path);
            if (path !== 'tile/0/000' || data === undefined) return data;
            const copy = Buffer.from(data);
            copy[32 * 77] = (copy[32 * 77] as number) ^ 1;
            return copy;
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await withServer(tampered, async (url) => {
      const run = await ect(['ledger', 'verify', '--store', url, '--key', ledger.verifierKey]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('first broken index: 77');
      expect(run.stdout).toContain('FAIL at 77 tile/0/000: ECT_LEDGER_CORRUPT');
      // Read for a proof, the served tiles do not lead to the signed root: no proof, no receipt.
      const proof = await ect(['ledger', 'proof', '3', '--store', url, '--key', ledger.verifierKey, '--json']);
      expect(proof.code).toBe(1);
      expect(JSON.parse(proof.stdout).code).toBe('ECT_LEDGER_PROOF_INVALID');
      const receipt = await ect(['ledger', 'get', '77', '--receipt', '--store', url, '--key', ledger.verifierKey]);
      expect(receipt.code).toBe(1);
      expect(receipt.stderr).toContain('ECT_LEDGER_PROOF_INVALID');
    });
    ledger.close();
  });

  it('documents --store and --key on every read command', async () => {
    for (const sub of ['get', 'proof', 'consistency', 'key', 'verify']) {
      const help = await ect(['ledger', sub, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--store <spec>');
      expect(help.stdout).toContain('http(s)://ledger-server');
      expect(help.stdout).toContain('--key <key|file>');
      expect(help.stdout).toContain('--json');
    }
  });
});
