/**
 * The PostgreSQL ledger against a real PostgreSQL server (Debian's package, started by
 * test/ledger/pg/postgres.sh on a temporary data directory on 127.0.0.1): the same tree, tiles and
 * receipts as the file store; concurrent writers from several processes stay gap-free,
 * duplicate-free and consistent; a server crash mid-load loses no acknowledged entry; the read
 * commands (`ect ledger get|proof|consistency|key|verify --store postgres://…`) answer as on files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEctError } from '../../src/base/errors.js';
import { openCheckpoint } from '../../src/ledger/checkpoint.js';
import { claimsOf } from '../../src/ledger/entry.js';
import { FileLedger } from '../../src/ledger/file-store.js';
import { leafHash, readerOverLeaves, treeRoot, verifyConsistency } from '../../src/ledger/merkle/index.js';
import { NoteSigner } from '../../src/ledger/note.js';
import { openLedgerForReading } from '../../src/ledger/open.js';
import { PgLedger } from '../../src/ledger/pg-store.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { tilePath, tilesOfTree } from '../../src/ledger/tiles.js';
import { ect } from '../helpers/cli.js';
import { makeTokens } from '../helpers/ledger.js';

const script = fileURLToPath(new URL('../ledger/pg/postgres.sh', import.meta.url));
const writer = fileURLToPath(new URL('../helpers/ledger-pg-writer.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ect-ledger-pg-'));
const data = join(work, 'data');
let port = 0;
let server = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function postgres(...args: string[]): string {
  const run = spawnSync('bash', [script, ...args], { encoding: 'utf8', timeout: 240_000 });
  if (run.status !== 0) throw new Error(`postgres.sh ${args[0]} failed: ${run.stderr}`);
  return run.stdout.trim();
}

async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return server.replace(/\/postgres$/, `/${name}`);
}

beforeAll(async () => {
  port = await freePort();
  server = postgres('start', data, String(port));
}, 300_000);

afterAll(() => {
  // The server may already be down when a test failed mid-crash.
  spawnSync('bash', [script, 'stop', data, 'immediate'], { timeout: 60_000 });
  rmSync(work, { recursive: true, force: true });
});

describe('PostgreSQL ledger', () => {
  it('builds the same tree, tiles and receipts as the file store, and refuses duplicates', async () => {
    const url = await freshDatabase('same_tree');
    const signer = NoteSigner.generate('pg.example/ledger');
    const ledger = await PgLedger.open({ url, signer });
    const file = FileLedger.openSync({ dir: join(work, 'file'), origin: 'pg.example/ledger' });
    const tokens = makeTokens(600);
    let at = 0;
    for (const size of [1, 7, 250, 342]) {
      await ledger.append(tokens.slice(at, at + size));
      file.appendSync(tokens.slice(at, at + size));
      at += size;
    }
    const reference = readerOverLeaves(tokens.map((t) => leafHash(Buffer.from(t))));
    const head = await ledger.head();
    expect(head.size).toBe(600);
    expect(openCheckpoint(head.note, signer.verifier).root).toEqual(treeRoot(reference, 600));
    expect(head.root).toEqual(file.root);
    for (const tile of tilesOfTree(600)) {
      expect(await ledger.resource(tilePath(tile))).toEqual(file.resource(tilePath(tile)));
    }
    for (const index of [0, 255, 599]) {
      expect(await ledger.inclusionProof(index)).toEqual(file.inclusionProof(index));
      expect(verifyReceipt(await ledger.receipt(index), signer.verifier).index).toBe(index);
    }
    expect(await ledger.consistencyProof(8)).toEqual(file.consistencyProof(8));
    // DagStore: predecessors are looked up in PostgreSQL; add() appends the node's token.
    const claims = claimsOf(tokens[42] as string);
    expect(await ledger.get(claims.jti)).toEqual([claims]);
    const extra = makeTokens(1)[0] as string;
    await ledger.add({ ...claimsOf(extra), token: extra });
    expect(await ledger.indexesOf(claimsOf(extra).jti)).toEqual([600]);
    file.appendSync([extra]);
    const refused = await ledger.append([tokens[3] as string]).catch((error: unknown) => error);
    expect(isEctError(refused, 'ECT_LEDGER_DUPLICATE')).toBe(true);
    expect((await ledger.head()).size).toBe(601);
    const other = await PgLedger.open({ url, signer: NoteSigner.generate('pg.example/ledger') }).catch(
      (e: unknown) => e,
    );
    expect(isEctError(other, 'ECT_LEDGER_CORRUPT')).toBe(true);
    file.close();
    await ledger.close();
  }, 60_000);

  it('stays gap-free, duplicate-free and consistent under writers in several processes, across a server crash', async () => {
    const url = await freshDatabase('concurrent');
    const signer = NoteSigner.generate('pg.example/concurrent');
    const keyFile = join(work, 'note.key');
    writeFileSync(keyFile, signer.toString(), { mode: 0o600 });
    const writers = 4;
    const share = 150;
    const tokens = makeTokens(writers * share + 1);
    const tokenFile = join(work, 'tokens.txt');
    writeFileSync(tokenFile, `${tokens.join('\n')}\n`);
    const shared = tokens[writers * share] as string;
    const outputs: string[] = Array.from({ length: writers }, () => '');
    let acks = 0;
    let crashed = false;
    const finished = Array.from(
      { length: writers },
      (_, w) =>
        new Promise<number | null>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [writer, url, keyFile, tokenFile, String(w * share), String((w + 1) * share), shared],
            {
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          let err = '';
          child.stdout.on('data', (chunk: Buffer) => {
            outputs[w] += chunk.toString();
            acks += chunk
              .toString()
              .split('\n')
              .filter((l) => l.startsWith('ack ')).length;
            if (!crashed && acks >= 12) {
              // Crash the server mid-load (no shutdown checkpoint), then start it again.
              crashed = true;
              postgres('stop', data, 'immediate');
              setTimeout(() => postgres('start', data, String(port)), 500);
            }
          });
          child.stderr.on('data', (chunk: Buffer) => {
            err += chunk.toString();
          });
          child.on('error', reject);
          child.on('exit', (code) =>
            code === 0 ? resolve(code) : reject(new Error(`writer ${w} exited ${code}: ${err}`)),
          );
        }),
    );
    await Promise.all(finished);
    expect(crashed).toBe(true);

    const ledger = await PgLedger.open({ url, signer });
    const head = await ledger.head();
    expect(head.size).toBe(writers * share + 1);
    // Every acknowledged batch is at the index it was acknowledged with.
    for (const out of outputs) {
      for (const [, first, count, line] of out.matchAll(/^ack (\d+) (\d+) (\d+)$/gm)) {
        for (let k = 0; k < Number(count); k++)
          expect(await ledger.entry(Number(first) + k)).toBe(tokens[Number(line) + k]);
      }
    }
    const sharedOutcomes = outputs.map((o) => /^shared (.*)$/m.exec(o)?.[1]);
    expect(sharedOutcomes.filter((o) => o === 'appended')).toHaveLength(1);
    expect(sharedOutcomes.filter((o) => o === 'ECT_LEDGER_DUPLICATE')).toHaveLength(writers - 1);
    // Gap-free, duplicate-free: indexes 0..n-1, each token once.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const stats = await client.query(
      'SELECT count(*)::int AS n, min(idx)::int AS lo, max(idx)::int AS hi, count(DISTINCT token)::int AS d FROM ect_ledger_entries',
    );
    const entries = await client.query<{ token: string }>('SELECT token FROM ect_ledger_entries ORDER BY idx');
    await client.end();
    expect(stats.rows[0]).toEqual({ n: head.size, lo: 0, hi: head.size - 1, d: head.size });
    // Every checkpoint is the root of its prefix and extends the one before it.
    const reference = readerOverLeaves(entries.rows.map((r) => leafHash(Buffer.from(r.token))));
    const checkpoints = await ledger.checkpoints();
    for (const [i, cp] of checkpoints.entries()) {
      expect(openCheckpoint(cp.note, signer.verifier).root).toEqual(treeRoot(reference, cp.size));
      const previous = checkpoints[i - 1];
      if (previous !== undefined) {
        verifyConsistency(
          previous.size,
          cp.size,
          await ledger.consistencyProof(previous.size, cp.size),
          previous.root,
          cp.root,
        );
      }
    }
    expect(checkpoints.length).toBeGreaterThan(writers * 5);
    await ledger.close();
  }, 180_000);

  it('answers the read commands as the file store does, reading with only the public note key', async () => {
    const url = await freshDatabase('read_commands');
    const origin = 'pg.example/read';
    const signer = NoteSigner.generate(origin);
    const writer = await PgLedger.open({ url, signer });
    const dir = join(work, 'read-file');
    const file = FileLedger.openSync({ dir, origin });
    const tokens = makeTokens(300);
    for (const batch of [tokens.slice(0, 40), tokens.slice(40)]) {
      await writer.append(batch);
      file.appendSync(batch);
    }
    file.close();
    const key = signer.verifier.toString();

    const reader = await openLedgerForReading(url);
    expect(reader.kind).toBe('postgres');
    expect(await reader.verifierKey()).toBe(key);
    expect((await reader.head()).size).toBe(300);
    // Pinned: what is appended after the first read is not seen by this reader.
    await writer.append(makeTokens(1));
    expect(isEctError(await reader.entry(300).catch((e: unknown) => e), 'ECT_LEDGER_NOT_FOUND')).toBe(true);
    expect(verifyReceipt(await reader.receipt(299), signer.verifier).size).toBe(300);
    await reader.close();
    const readOnly = await PgLedger.openForReading({ url });
    expect(isEctError(await readOnly.append(makeTokens(1)).catch((e: unknown) => e), 'ECT_LEDGER_LOCKED')).toBe(true);
    await readOnly.close();

    const fileRuns = async (args: string[]) => ect(['ledger', ...args, '--dir', dir]);
    const pgRuns = async (args: string[]) => ect(['ledger', ...args, '--store', url, '--key', key]);
    const jti = claimsOf(tokens[9] as string).jti;
    for (const args of [
      ['get', '7', '--json'],
      ['get', jti, '--json'],
      ['proof', '3', '--size', '40', '--json'],
      ['proof', '299', '--size', '300', '--json'],
      ['consistency', '40', '300', '--json'],
    ]) {
      const [a, b] = [await fileRuns(args), await pgRuns(args)];
      expect(b, args.join(' ')).toEqual(a);
      expect(b.code).toBe(0);
    }
    const receipt = await pgRuns(['get', '260', '--receipt']);
    expect(JSON.parse(receipt.stdout).checkpoint.startsWith(`${origin}\n301\n`)).toBe(true);
    expect((await ect(['ledger', 'verify-receipt', '--key', key], receipt.stdout)).code).toBe(0);
    expect(JSON.parse((await ect(['ledger', 'key', '--store', url, '--json'])).stdout)).toEqual({ key, origin });
    const verified = await ect(['ledger', 'verify', '--store', url, '--key', key, '--json']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, entries: 301, checkpointSize: 301, origin });
    const stranger = NoteSigner.generate(origin).verifier.toString();
    expect((await ect(['ledger', 'get', '1', '--store', url, '--key', stranger])).code).toBe(1);
    expect((await ect(['ledger', 'verify', '--store', url, '--key', stranger])).code).toBe(1);

    // Tampering with the database: verify names the first broken index.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      "UPDATE ect_ledger_entries SET token = overlay(token placing 'A' from 20 for 1) WHERE idx = 270 AND substr(token, 20, 1) <> 'A'",
    );
    await client.query(
      "UPDATE ect_ledger_entries SET token = overlay(token placing 'B' from 20 for 1) WHERE idx = 270 AND substr(token, 20, 1) = 'A'",
    );
    const broken = await ect(['ledger', 'verify', '--store', url, '--key', key, '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout).firstBrokenIndex).toBe(270);
    await client.query('UPDATE ect_ledger_nodes SET hash = $1 WHERE level = 0 AND idx = 12', [Buffer.alloc(32)]);
    const earlier = JSON.parse((await ect(['ledger', 'verify', '--store', url, '--key', key, '--json'])).stdout);
    expect(earlier.firstBrokenIndex).toBe(12);
    expect(earlier.problems[0]).toMatchObject({ where: 'tile/0/000', code: 'ECT_LEDGER_CORRUPT' });
    await client.end();
    await writer.close();

    // A database without a ledger: a usage problem, nothing created.
    const empty = await freshDatabase('no_ledger');
    expect((await ect(['ledger', 'get', '0', '--store', empty])).code).toBe(2);
    const check = new pg.Client({ connectionString: empty });
    await check.connect();
    expect((await check.query("SELECT to_regclass('ect_ledger_meta') AS t")).rows[0]).toEqual({ t: null });
    await check.end();
    const codeOf = (url: string) =>
      PgLedger.openForReading({ url }).then(
        (opened) => opened.close().then(() => 'opened'),
        (e: unknown) => (isEctError(e) ? e.code : String(e)),
      );
    expect(await codeOf(server.replace(/\/postgres$/, '/no_such_database'))).toBe('ECT_LEDGER_NOT_FOUND');
    expect(await codeOf(`postgres://ect@127.0.0.1:${await freePort()}/postgres`)).toBe('ECT_LEDGER_UNAVAILABLE');
  }, 60_000);
});
