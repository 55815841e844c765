/**
 * Crash safety of the file ledger: a writer process is killed with SIGKILL in the middle of its
 * appends, again and again; after each kill every acknowledged entry is there, byte for byte, at
 * its index, nothing past the checkpoint survives reopening, and the full audit passes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../../src/ledger/audit-log.js';
import { FileLedger } from '../../src/ledger/file-store.js';
import { makeTokens } from '../helpers/ledger.js';

const writer = fileURLToPath(new URL('../helpers/ledger-writer.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ect-ledger-crash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the writer until it has printed its first ack plus `delayMs`, then SIGKILLs it. */
function runAndKill(dir: string, tokenFile: string, delayMs: number): Promise<{ acked: number; finished: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, tokenFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (timer === undefined && out.includes('open ')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== 'SIGKILL' && code !== 0) {
        reject(new Error(`writer failed (${code}): ${err}`));
        return;
      }
      const acks = [...out.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1]));
      resolve({ acked: acks.length === 0 ? -1 : (acks[acks.length - 1] as number), finished: out.includes('done') });
    });
  });
}

describe('file ledger under kill -9', () => {
  it('keeps every acknowledged entry and reopens valid, kill after kill', async () => {
    const tokens = makeTokens(4000);
    const tokenFile = join(work, 'tokens.txt');
    writeFileSync(tokenFile, `${tokens.join('\n')}\n`);
    const dir = join(work, 'ledger');
    let acknowledged = 0;
    let kills = 0;
    for (let round = 0; round < 25; round++) {
      const { acked, finished } = await runAndKill(dir, tokenFile, 5 + Math.floor(Math.random() * 60));
      if (!finished) kills++;
      acknowledged = Math.max(acknowledged, acked);
      const ledger = FileLedger.openSync({ dir });
      try {
        expect(ledger.size).toBeGreaterThanOrEqual(acknowledged);
        for (let index = 0; index < ledger.size; index++) {
          if (ledger.entry(index) !== tokens[index]) expect.fail(`entry ${index} differs after round ${round}`);
        }
        acknowledged = ledger.size;
      } finally {
        ledger.close();
      }
      if (finished) break;
    }
    const audit = auditLedger(dir);
    expect(audit.problems).toEqual([]);
    expect(audit.entries).toBe(acknowledged);
    expect(kills).toBeGreaterThan(3);
  }, 120_000);
});
