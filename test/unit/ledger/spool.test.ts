import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEctError } from '../../../src/base/errors.js';
import { Spool } from '../../../src/ledger/spool.js';
import { makeTokens, tempDir } from '../../helpers/ledger.js';

const tokens = makeTokens(40);

/** Reads and commits everything, in batches of `size`. */
async function drain(spool: Spool, size = 7): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const batch = await spool.read(size, 1 << 20);
    if (batch.tokens.length === 0) return out;
    out.push(...batch.tokens);
    await spool.commit(batch.end);
  }
}

describe('Spool', () => {
  it('gives tokens back in append order across segments, and drops the segments it has passed', async () => {
    const dir = tempDir();
    const spool = Spool.open({ dir, segmentBytes: 2_000 });
    for (let i = 0; i < tokens.length; i += 5) await spool.append(tokens.slice(i, i + 5));
    expect(readdirSync(dir).filter((f) => f.endsWith('.spool')).length).toBeGreaterThan(3);
    expect(await drain(spool)).toEqual(tokens);
    expect(spool.pendingBytes).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.spool')).length).toBeLessThanOrEqual(1);
    await spool.close();
  });

  it('reading does not move the cursor: an uncommitted batch is read again after reopening', async () => {
    const dir = tempDir();
    let spool = Spool.open({ dir });
    await spool.append(tokens.slice(0, 10));
    const first = await spool.read(4, 1 << 20);
    await spool.commit(first.end);
    await spool.read(4, 1 << 20); // read, never committed: the ledger did not answer
    await spool.close();
    spool = Spool.open({ dir });
    expect(await drain(spool)).toEqual(tokens.slice(4, 10));
    await spool.close();
  });

  it('takes a prefix and refuses the rest past maxBytes; room comes back as the cursor moves', async () => {
    const dir = tempDir();
    const size = (tokens[0] as string).length + 1;
    const spool = Spool.open({ dir, maxBytes: size * 5 + size / 2 });
    expect(await spool.append(tokens.slice(0, 8))).toBe(5);
    expect(await spool.append(tokens.slice(5, 6))).toBe(0);
    const batch = await spool.read(2, 1 << 20);
    await spool.commit(batch.end);
    expect(await spool.append(tokens.slice(5, 8))).toBe(2);
    expect(await drain(spool)).toEqual(tokens.slice(2, 7));
    await spool.close();
  });

  it('cuts a line torn by a crash and keeps everything before it', async () => {
    const dir = tempDir();
    let spool = Spool.open({ dir });
    await spool.append(tokens.slice(0, 3));
    await spool.close();
    const segment = readdirSync(dir).find((f) => f.endsWith('.spool')) as string;
    appendFileSync(join(dir, segment), (tokens[3] as string).slice(0, 50)); // no newline: torn
    spool = Spool.open({ dir });
    await spool.append(tokens.slice(4, 5));
    expect(await drain(spool)).toEqual([...tokens.slice(0, 3), tokens[4]]);
    await spool.close();
  });

  it('keeps refused tokens with their reason in rejected.jsonl', async () => {
    const dir = tempDir();
    const spool = Spool.open({ dir });
    await spool.reject([{ token: tokens[0] as string, code: 'ECT_BAD_SIGNATURE', message: 'no' }]);
    const [line] = readFileSync(join(dir, 'rejected.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(line as string)).toMatchObject({ code: 'ECT_BAD_SIGNATURE', token: tokens[0] });
    await spool.close();
  });

  it('belongs to one live process at a time; a dead owner’s spool is taken over', async () => {
    const dir = tempDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'lock'), String(holder.pid));
      let error: unknown;
      try {
        Spool.open({ dir });
      } catch (e) {
        error = e;
      }
      expect(isEctError(error, 'ECT_LEDGER_LOCKED')).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    const spool = Spool.open({ dir }); // its owner is gone
    await spool.close();
  });
});
