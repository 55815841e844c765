import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ProgressLine, renderProgress } from '../../../src/cli/progress.js';
import { saveKeyFiles } from '../../../src/keys/files.js';
import { generateSigningKey } from '../../../src/keys/index.js';
import { EctSigner, newClaims } from '../../../src/token/index.js';

const io = () => {
  const written: string[] = [];
  return { written, io: { stdout: () => {}, stderr: (text: string) => written.push(text), readStdin: async () => '' } };
};

describe('renderProgress', () => {
  it('draws a bar and a percentage when the end is known, the count after it', () => {
    const line = renderProgress(
      { label: 'reading a.jsonl', done: 42, total: 100, count: { value: 8192, unit: 'records' } },
      80,
    );
    expect(line).toBe(`reading a.jsonl [${'█'.repeat(10)}${'░'.repeat(14)}]  42% 8,192 records`);
    expect(renderProgress({ label: 'x', done: 100, total: 100 })).toBe(`x [${'█'.repeat(24)}] 100%`);
    // Past the end (a file that grew while read) or before the start, the bar stays within bounds.
    expect(renderProgress({ label: 'x', done: 150, total: 100 })).toBe(`x [${'█'.repeat(24)}] 100%`);
    expect(renderProgress({ label: 'x', done: -5, total: 100 })).toBe(`x [${'░'.repeat(24)}]   0%`);
  });

  it('shows the count alone when the end is unknown (a backend search), and the label alone with nothing else', () => {
    expect(renderProgress({ label: 'reading jaeger:…', count: { value: 1_204_096, unit: 'records' } })).toBe(
      'reading jaeger:… 1,204,096 records',
    );
    expect(renderProgress({ label: 'checking', done: 3, total: 0 })).toBe('checking');
  });

  it('fits the terminal: a long label is cut at its start, never the bar', () => {
    const label = `reading /var/lib/exports/${'very-long-folder/'.repeat(8)}spans.jsonl`;
    for (const columns of [100, 60, 50]) {
      const line = renderProgress({ label, done: 1, total: 2, count: { value: 5, unit: 'records' } }, columns);
      expect(line.length).toBeLessThan(columns);
      expect(line).toMatch(/ {2}50% 5 records$/);
      expect(line).toMatch(/\.jsonl \[/);
      expect(line.startsWith('…')).toBe(true);
    }
    // Narrower than the bar and count: cut, never wrapped onto a second line.
    expect(renderProgress({ label, done: 1, total: 2, count: { value: 5, unit: 'records' } }, 30).length).toBe(29);
  });
});

describe('ProgressLine', () => {
  it('writes nothing when standard error is not a terminal, or when not wanted (--json)', () => {
    for (const [wanted, isTTY] of [
      [true, false],
      [false, true],
    ] as const) {
      const { written, io: sink } = io();
      const line = ProgressLine.forStderr(sink, wanted, { isTTY, columns: 80 });
      line.update({ label: 'reading', done: 1, total: 2 });
      line.done();
      expect(line.shown).toBe(false);
      expect(written).toEqual([]);
    }
  });

  it('on a terminal redraws in place at most every 100 ms per label, and erases itself when done', () => {
    const { written, io: sink } = io();
    const line = ProgressLine.forStderr(sink, true, { isTTY: true, columns: 80 });
    line.update({ label: 'reading a', done: 1, total: 10 }, 1000);
    line.update({ label: 'reading a', done: 2, total: 10 }, 1050);
    line.update({ label: 'reading a', done: 3, total: 10 }, 1101);
    // A new phase is drawn at once.
    line.update({ label: 'verifying', done: 1, total: 10 }, 1102);
    line.done();
    expect(written).toHaveLength(4);
    expect(written.slice(0, 3).every((text) => text.startsWith('\r\u001b[K'))).toBe(true);
    expect(written[1]).toContain('reading a [███');
    expect(written[2]?.startsWith('\r\u001b[Kverifying')).toBe(true);
    expect(written[3]).toBe('\r\u001b[K');
  });
});

describe('ect audit on a terminal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ect-progress-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

  it('shows a progress bar on a pseudo-terminal and stays quiet when standard error is a pipe', async () => {
    const key = generateSigningKey('ES256');
    await saveKeyFiles(join(dir, 'keys'), key);
    const signer = new EctSigner(key);
    const iat = Math.floor(Date.now() / 1000) - 60;
    const tokens = Array.from({ length: 9000 }, (_, i) =>
      signer.sign(newClaims({ iss: 'spiffe://example.org/a', aud: 'spiffe://example.org', exec_act: `t${i}`, iat })),
    );
    writeFileSync(join(dir, 'tokens.txt'), `${tokens.join('\n')}\n`);
    const args = [bin, 'audit', join(dir, 'tokens.txt'), '--jwks', join(dir, 'keys', 'jwks.json')];

    // util-linux `script` runs the command on a pseudo-terminal and copies what it wrote.
    const quoted = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const onTerminal = spawnSync('script', ['-qec', quoted, '/dev/null'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, COLUMNS: '100' },
    });
    expect(onTerminal.status).toBe(0);
    expect(onTerminal.stdout).toContain('verdict: VERIFIED (9000 tokens');
    // Control characters spelled out, to match against.
    const shown = onTerminal.stdout.replaceAll('\r', '<CR>').replaceAll('\u001b', '<ESC>');
    // The first draw names the file; a later one, past 4,096 records, has a bar of its bytes.
    expect(shown).toMatch(/<CR><ESC>\[Kreading \S*tokens\.txt/);
    expect(shown).toMatch(/tokens\.txt \[█+░*\] +\d+% [\d,]+ records/);
    // Erased before the verdict is printed.
    expect(shown).toMatch(/<CR><ESC>\[K(<CR>\n)?verdict: VERIFIED/);

    const piped = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).not.toContain('\r');
    expect(piped.stdout).toContain('verdict: VERIFIED (9000 tokens');
  }, 90_000);
});
