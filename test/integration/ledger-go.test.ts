/**
 * The independent check: a ledger written by our code, served as static C2SP resources, is read
 * by a Go program built on golang.org/x/mod/sumdb/note, transparency-dev/formats/log and
 * transparency-dev/merkle (test/ledger/go), which recomputes the root from the entry bundles,
 * checks every hash tile, the signed checkpoint, receipts and consistency proofs — also the receipts
 * and proofs that a remote reader (RemoteLedger) computes from a ledger server's tiles.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { claimsOf } from '../../src/ledger/entry.js';
import { FileLedger } from '../../src/ledger/file-store.js';
import { NoteVerifier } from '../../src/ledger/note.js';
import { RemoteLedger } from '../../src/ledger/remote-store.js';
import { createLedgerServer } from '../../src/ledger/server.js';
import { sharedIssuer } from '../helpers/ect.js';
import { tilePath, tilesOfTree } from '../../src/ledger/tiles.js';
import type { Receipt } from '../../src/ledger/receipt.js';
import { collectExport } from '../helpers/export.js';
import { makeTokens } from '../helpers/ledger.js';
import { openLedgerForReading } from '../../src/ledger/open.js';
import { runWorkflows, startWorkflow, stopWorkflow } from '../helpers/workflow.js';
import { READY_TIMEOUT_MS } from './helpers.js';

const buildScript = fileURLToPath(new URL('../ledger/go/build.sh', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ect-ledger-go-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let binary = '';

beforeAll(() => {
  const built = spawnSync('bash', [buildScript], { encoding: 'utf8', timeout: 280_000 });
  if (built.status !== 0) throw new Error(`building the Go check failed: ${built.stderr}`);
  binary = built.stdout.trim();
}, 300_000);

interface GoResult {
  ok: boolean;
  error?: string;
}
interface GoReport {
  checkpoint: GoResult;
  size: number;
  entries: number;
  root_matches: GoResult;
  tiles: GoResult;
  tiles_read: number;
  receipts: GoResult[] | null;
  consistency: GoResult[] | null;
}

function goCheck(request: object): GoReport {
  const file = join(work, `request-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(request));
  const run = spawnSync(binary, [file], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`ledger-check failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as GoReport;
}

/**
 * Well-formed compact tokens with unique jti and a placeholder signature: the ledger records
 * bytes and does not verify signatures, and signing 66k tokens would only slow the test down.
 */
function bulkTokens(count: number): string[] {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'exec+jwt', kid: 'bulk' })).toString('base64url');
  const signature = Buffer.alloc(64, 7).toString('base64url');
  return Array.from({ length: count }, (_, i) => {
    const payload = Buffer.from(JSON.stringify({ jti: `bulk-${i}`, wid: 'w', iat: 1, pred: [] })).toString('base64url');
    return `${header}.${payload}.${signature}`;
  });
}

function serve(ledger: FileLedger, root: string): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'checkpoint'), ledger.checkpoint);
  for (const tile of tilesOfTree(ledger.size)) {
    const path = join(root, tilePath(tile));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, ledger.resource(tilePath(tile)) as Buffer);
  }
}

describe('independent Go check of the ledger', () => {
  it('agrees on roots, tiles, checkpoints, receipts and consistency proofs, and catches tampering', () => {
    const origin = 'go-check.example/ledger';
    const ledger = FileLedger.openSync({ dir: join(work, 'ledger'), origin });
    const real = makeTokens(300);
    const bulk = bulkTokens(66_000);
    const checkpoints: { size: number; note: string }[] = [];
    const receipts: Receipt[] = [];
    const batches = [real.slice(0, 1), real.slice(1, 7), real.slice(7, 300), ...chunk(bulk, 4096)];
    for (const batch of batches) {
      ledger.appendSync(batch);
      checkpoints.push({ size: ledger.size, note: ledger.checkpoint });
      if (receipts.length < 3) receipts.push(ledger.receipt(ledger.size - 1));
    }
    for (const index of [0, 5, 255, 256, 299, 65_535, 65_536, ledger.size - 1]) receipts.push(ledger.receipt(index));
    const consistency = [
      [0, 1],
      [1, 2],
      [2, checkpoints.length - 1],
      [0, checkpoints.length - 1],
      [3, 10],
    ].map(([a, b]) => {
      const older = checkpoints[a as number] as { size: number; note: string };
      const newer = checkpoints[b as number] as { size: number; note: string };
      return {
        old_checkpoint: older.note,
        new_checkpoint: newer.note,
        proof: ledger.consistencyProof(older.size, newer.size).map((h) => h.toString('base64')),
      };
    });
    const root = join(work, 'served');
    serve(ledger, root);
    const request = { root, verifier_key: ledger.verifierKey, origin, receipts, consistency };
    const report = goCheck(request);
    expect(report.checkpoint).toEqual({ ok: true });
    expect(report.size).toBe(66_300);
    expect(report.entries).toBe(66_300);
    expect(report.root_matches).toEqual({ ok: true });
    expect(report.tiles).toEqual({ ok: true });
    expect(report.tiles_read).toBe(tilesOfTree(66_300).filter((t) => t.level !== 'entries').length);
    expect(report.tiles_read).toBeGreaterThan(260); // levels 0, 1 and 2
    expect(report.receipts).toEqual(receipts.map(() => ({ ok: true })));
    expect(report.consistency).toEqual(consistency.map(() => ({ ok: true })));

    // The same checks must fail on altered input.
    const badReceipt = { ...receipts[4], token: real[6] } as Receipt;
    const badProof = { ...(consistency[2] as (typeof consistency)[number]) };
    badProof.proof = [...badProof.proof].reverse();
    const tampered = goCheck({ ...request, receipts: [badReceipt], consistency: [badProof] });
    expect(tampered.receipts?.[0]?.ok).toBe(false);
    expect(tampered.consistency?.[0]?.ok).toBe(false);
    const tile = join(root, 'tile/1/000');
    const data = ledger.resource('tile/1/000') as Buffer;
    data[100] = (data[100] as number) ^ 1;
    writeFileSync(tile, data);
    expect(goCheck(request).tiles.ok).toBe(false);
    const foreign = goCheck({ ...request, origin: 'other.example/ledger' });
    expect(foreign.checkpoint.ok).toBe(false);
    ledger.close();
  }, 120_000);
});

describe('independent Go check of a remote reader', () => {
  it('agrees with the receipts and consistency proofs computed from a ledger server’s tiles', async () => {
    const origin = 'go-check.example/remote';
    const ledger = FileLedger.openSync({ dir: join(work, 'remote'), origin });
    const checkpoints: string[] = [];
    for (const batch of [makeTokens(30), bulkTokens(1200)]) {
      ledger.appendSync(batch);
      checkpoints.push(ledger.checkpoint);
    }
    const server = createLedgerServer({ store: ledger, keys: sharedIssuer().resolver });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const reader = await openLedgerForReading(url, { key: ledger.verifierKey });
      const receipts: Receipt[] = [];
      for (const index of [0, 29, 255, 256, 1229]) receipts.push(await reader.receipt(index));
      const remote = RemoteLedger.open({ url, verifier: NoteVerifier.fromString(ledger.verifierKey) });
      const consistency = [
        {
          old_checkpoint: checkpoints[0],
          new_checkpoint: checkpoints[1],
          proof: (await remote.consistencyProof(30)).map((h) => h.toString('base64')),
        },
      ];
      const root = join(work, 'served-remote');
      serve(ledger, root);
      const report = goCheck({ root, verifier_key: ledger.verifierKey, origin, receipts, consistency });
      expect(report.checkpoint).toEqual({ ok: true });
      expect(report.receipts).toEqual(receipts.map(() => ({ ok: true })));
      expect(report.consistency).toEqual([{ ok: true }]);
      const forged = goCheck({
        root,
        verifier_key: ledger.verifierKey,
        origin,
        receipts: [{ ...receipts[1], leaf_index: 28 }],
        consistency: [],
      });
      expect(forged.receipts?.[0]?.ok).toBe(false);
    } finally {
      server.close();
      ledger.close();
    }
  }, 120_000);
});

describe('the embedded ledger of a bridged workflow (what `npm run demo` runs)', () => {
  it('holds every exported token, with receipts the Go check verifies', async () => {
    // Six services sharing ECT_HOME: ECT_LEDGER defaults to file:$ECT_HOME/ledger for each.
    const workflow = await startWorkflow({ dir: join(work, 'workflow'), readyTimeoutMs: READY_TIMEOUT_MS });
    try {
      await runWorkflows(workflow, 2);
    } finally {
      await stopWorkflow(workflow);
    }
    const { tokens } = await collectExport(workflow);
    const ledger = FileLedger.openSync({ dir: join(workflow.home, 'ledger'), readOnly: true });
    try {
      expect(ledger.size).toBe(tokens.length);
      const receipts = tokens.map((token) => {
        const index = ledger.indexesOf(claimsOf(token).jti)[0];
        expect(index, 'every exported token is in the ledger').toBeDefined();
        return ledger.receipt(index as number);
      });
      expect(receipts.map((r) => r.token).sort()).toEqual([...tokens].sort());
      const root = join(work, 'workflow-served');
      serve(ledger, root);
      const origin = ledger.verifierKey.split('+')[0];
      const report = goCheck({ root, verifier_key: ledger.verifierKey, origin, receipts, consistency: [] });
      expect(report.checkpoint).toEqual({ ok: true });
      expect(report.root_matches).toEqual({ ok: true });
      expect(report.tiles).toEqual({ ok: true });
      expect(report.receipts).toEqual(receipts.map(() => ({ ok: true })));
    } finally {
      ledger.close();
    }
  }, 180_000);
});

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
