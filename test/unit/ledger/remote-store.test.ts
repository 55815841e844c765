/**
 * RemoteLedger against a real ledger server (createLedgerServer over a FileLedger, on
 * 127.0.0.1:0): proofs, roots and receipts computed from its tiles equal the file store's, for the
 * latest tree and older ones; a proof reads O(log n) tiles; the audit over the read paths finds
 * what a tampered server serves; unreachable, slow, oversized and malformed answers are typed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEctError } from '../../../src/base/errors.js';
import { auditTiledLedger } from '../../../src/ledger/audit-log.js';
import { claimsOf } from '../../../src/ledger/entry.js';
import { FileLedger } from '../../../src/ledger/file-store.js';
import { verifyConsistency } from '../../../src/ledger/merkle/verify.js';
import { NoteSigner, NoteVerifier } from '../../../src/ledger/note.js';
import { openLedgerForReading } from '../../../src/ledger/open.js';
import { verifyReceipt } from '../../../src/ledger/receipt.js';
import { RemoteLedger } from '../../../src/ledger/remote-store.js';
import { createLedgerServer } from '../../../src/ledger/server.js';
import type { LedgerStore } from '../../../src/ledger/store.js';
import { sharedIssuer } from '../../helpers/ect.js';
import { makeTokens } from '../../helpers/ledger.js';

/**
 * Well-formed compact tokens with unique jti and a placeholder signature: the ledger records bytes
 * without verifying them, and 66k signatures would only slow the test down. They take the tree
 * past one level-1 tile (65,536 leaves), so proofs read tiles of three tile levels.
 */
function bulkTokens(count: number): string[] {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'exec+jwt', kid: 'bulk' })).toString('base64url');
  const signature = Buffer.alloc(64, 7).toString('base64url');
  return Array.from({ length: count }, (_, i) => {
    const payload = Buffer.from(JSON.stringify({ jti: `bulk-${i}`, wid: 'w', iat: 1, pred: [] })).toString('base64url');
    return `${header}.${payload}.${signature}`;
  });
}

const servers: Server[] = [];
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A ledger server over `store`, counting the requests it answers. */
async function serve(store: LedgerStore): Promise<{ url: string; requests: string[] }> {
  const server = createLedgerServer({ store, keys: sharedIssuer().resolver });
  const requests: string[] = [];
  server.on('request', (request: { url?: string }) => requests.push(request.url ?? ''));
  return { url: await listen(server), requests };
}

// Made once for the file (tempDir would remove it after the first test).
const dir = mkdtempSync(join(tmpdir(), 'ect-remote-'));
let file: FileLedger;
// A smaller one to tamper with: 1,300 entries, tiles tile/0/000…005.p/20 and tile/1/000.p/5.
let small: FileLedger;
let url = '';
let requests: string[] = [];
let key = '';
const sizes: number[] = [];
const real = makeTokens(300);

beforeAll(async () => {
  file = FileLedger.openSync({ dir, origin: 'remote.example/ledger' });
  const bulk = bulkTokens(66_000);
  for (const batch of [real.slice(0, 1), real.slice(1, 7), real.slice(7), bulk.slice(0, 700), bulk.slice(700)]) {
    file.appendSync(batch);
    sizes.push(file.size);
  }
  ({ url, requests } = await serve(file));
  small = FileLedger.openSync({ dir: join(dir, 'small'), origin: 'remote.example/small' });
  small.appendSync(real);
  small.appendSync(bulk.slice(0, 1000));
  key = file.verifierKey;
}, 60_000);

afterAll(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  file.close();
  small.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RemoteLedger', () => {
  it('computes from tiles the same roots, inclusion and consistency proofs as the file store, at every size', async () => {
    const remote = RemoteLedger.open({ url, verifier: NoteVerifier.fromString(key) });
    const head = await remote.head();
    expect(head).toMatchObject({ size: 66_300, origin: 'remote.example/ledger', signatureChecked: true });
    expect(head.root).toEqual(file.root);
    for (const size of [1, 7, 300, 1000, 65_536, 65_537, 66_300]) {
      expect(await remote.rootAt(size)).toEqual(file.rootAt(size));
      for (const index of [0, 5, 255, 256, 299, 65_535, 65_536, 66_299].filter((i) => i < size)) {
        expect(await remote.inclusionProof(index, size)).toEqual(file.inclusionProof(index, size));
      }
    }
    for (const [older, newer] of [
      [1, 7],
      [7, 300],
      [300, 66_300],
      [1000, 65_536],
      [65_536, 66_300],
      [0, 66_300],
      [66_300, 66_300],
    ] as const) {
      const proof = await remote.consistencyProof(older, newer);
      expect(proof).toEqual(file.consistencyProof(older, newer));
      verifyConsistency(older, newer, proof, file.rootAt(older), file.rootAt(newer));
    }
    expect(await remote.entry(9)).toBe(real[9]);
    expect(await remote.entry(66_299)).toBe(file.entry(66_299));
    const jti = claimsOf(real[9] as string).jti;
    expect(await remote.indexesOf(jti)).toEqual([9]);
    expect(await remote.indexesOf('no-such-jti')).toEqual([]);
    const missing = await remote.inclusionProof(66_300).catch((e: unknown) => e);
    expect(isEctError(missing, 'ECT_LEDGER_NOT_FOUND')).toBe(true);
  }, 60_000);

  it('reads O(log n) tiles per proof, each once, and keeps them for the next', async () => {
    const remote = RemoteLedger.open({ url });
    await remote.head();
    const before = requests.length;
    await remote.inclusionProof(70, 66_300);
    const fetched = requests.slice(before);
    // Three tile levels: at most two tiles each (the leaf's and the right edge's).
    expect(fetched.length).toBeGreaterThan(0);
    expect(fetched.length).toBeLessThanOrEqual(6);
    expect(fetched.every((path) => path.startsWith('/tile/') && !path.startsWith('/tile/entries'))).toBe(true);
    expect(new Set(fetched).size).toBe(fetched.length);
    const again = requests.length;
    await remote.inclusionProof(71, 66_300);
    expect(requests.length).toBe(again);
  });

  it('hands out receipts equal to the file store’s, through openLedgerForReading', async () => {
    const reader = await openLedgerForReading(url, { key });
    expect(reader.kind).toBe('http');
    expect(await reader.verifierKey()).toBe(key);
    for (const index of [0, 299, 65_536, 66_299]) {
      const receipt = await reader.receipt(index);
      expect(receipt).toEqual(file.receipt(index));
      expect(verifyReceipt(receipt, NoteVerifier.fromString(key)).index).toBe(index);
    }
    await reader.close();
  });

  it('checks the checkpoint against the trusted key, and leaves it unchecked without one', async () => {
    const stranger = NoteSigner.generate('remote.example/ledger').verifier;
    const wrong = await RemoteLedger.open({ url, verifier: stranger })
      .head()
      .catch((e: unknown) => e);
    expect(isEctError(wrong, 'ECT_LEDGER_NOTE_INVALID')).toBe(true);
    const unchecked = await RemoteLedger.open({ url }).head();
    expect(unchecked.signatureChecked).toBe(false);
    expect(unchecked.size).toBe(66_300);
    const reader = await openLedgerForReading(url);
    expect(await reader.verifierKey()).toBeUndefined();
    expect(isEctError(await reader.audit().catch((e: unknown) => e), 'ECT_LEDGER_NOTE_INVALID')).toBe(true);
  });

  it('audits the ledger through its read paths as the file audit does', async () => {
    const progress: number[] = [];
    const audit = await auditTiledLedger(RemoteLedger.open({ url }), {
      verifierKey: key,
      onProgress: (done) => progress.push(done),
    });
    expect(audit).toEqual({
      ok: true,
      origin: 'remote.example/ledger',
      checkpointSize: 66_300,
      entries: 66_300,
      root: file.root.toString('base64'),
      firstBrokenIndex: undefined,
      problems: [],
    });
    expect(progress.at(-1)).toBe(66_300);
  }, 60_000);

  it('names the first broken index when a server alters an entry bundle or a hash tile', async () => {
    const tampered = (alter: (path: string, data: Buffer) => Buffer | undefined): LedgerStore =>
      new Proxy(small, {
        get(target, property) {
          if (property === 'resource') {
            return (path: string) => {
              const data = target.resource(path);
              return data === undefined ? undefined : alter(path, Buffer.from(data));
            };
          }
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const flip = (data: Buffer, at: number) => {
      data[at] = (data[at] as number) ^ 1;
      return data;
    };
    // Entry 300 is the 45th of bundle 1: skip 44 entries' length prefixes and bytes.
    const entryByte = (data: Buffer, entry: number) => {
      let at = 0;
      for (let i = 0; i < entry; i++) at += 2 + data.readUInt16BE(at);
      return at + 10;
    };
    const cases: [string, (path: string, data: Buffer) => Buffer | undefined, number, string][] = [
      ['bundle', (p, d) => (p === 'tile/entries/001' ? flip(d, entryByte(d, 44)) : d), 300, 'tile/entries/001'],
      ['hash tile', (p, d) => (p === 'tile/0/002' ? flip(d, 32 * 7) : d), 519, 'tile/0/002'],
      ['level-1 tile', (p, d) => (p === 'tile/1/000.p/5' ? flip(d, 32 * 3 + 1) : d), 3 * 256, 'tile/1/000.p/5'],
      ['missing tile', (p, d) => (p === 'tile/0/005.p/20' ? undefined : d), 5 * 256, 'tile/0/005.p/20'],
      ['missing bundle', (p, d) => (p === 'tile/entries/002' ? undefined : d), 512, 'tile/entries/002'],
    ];
    for (const [what, alter, index, where] of cases) {
      const { url: bad } = await serve(tampered(alter));
      const audit = await auditTiledLedger(RemoteLedger.open({ url: bad }), { verifierKey: small.verifierKey });
      expect(audit.ok, what).toBe(false);
      expect(audit.firstBrokenIndex, what).toBe(index);
      expect(audit.problems[0]?.where, what).toBe(where);
    }
    const { url: good } = await serve(small);
    expect((await auditTiledLedger(RemoteLedger.open({ url: good }), { verifierKey: small.verifierKey })).ok).toBe(
      true,
    );
    // Tiles and bundles that disagree never become a receipt.
    const { url: bad } = await serve(tampered((p, d) => (p === 'tile/entries/001' ? flip(d, entryByte(d, 44)) : d)));
    const reader = await openLedgerForReading(bad, { key: small.verifierKey });
    expect(isEctError(await reader.receipt(300).catch((e: unknown) => e), 'ECT_LEDGER_PROOF_INVALID')).toBe(true);
  }, 60_000);

  it('reads an empty ledger', async () => {
    const empty = FileLedger.openSync({ dir: join(dir, 'empty'), origin: 'remote.example/empty' });
    try {
      const { url: bare } = await serve(empty);
      const reader = await openLedgerForReading(bare, { key: empty.verifierKey });
      expect((await reader.head()).size).toBe(0);
      expect(await reader.rootAt(0)).toEqual(empty.root);
      expect(await reader.consistencyProof(0)).toEqual([]);
      expect(isEctError(await reader.entry(0).catch((e: unknown) => e), 'ECT_LEDGER_NOT_FOUND')).toBe(true);
      expect(await reader.audit()).toMatchObject({ ok: true, entries: 0, checkpointSize: 0, problems: [] });
    } finally {
      empty.close();
    }
  });

  it('types an unreachable server, a slow one, an oversized answer and a malformed one', async () => {
    const closed = createServer();
    const closedUrl = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'resolved',
        (e: unknown) => (isEctError(e) ? e.code : String(e)),
      );
    expect(await codeOf(RemoteLedger.open({ url: closedUrl }).head())).toBe('ECT_LEDGER_UNAVAILABLE');

    const misbehaving = await listen(
      createServer((request, response) => {
        if (request.url === '/slow/checkpoint') return; // never answers
        if (request.url === '/big/checkpoint') {
          response.end(Buffer.alloc(64 * 1024, 'a'));
          return;
        }
        if (request.url === '/chunked/checkpoint') {
          // No Content-Length: the bound is enforced while reading.
          for (let i = 0; i < 40; i++) response.write(Buffer.alloc(1024, 'a'));
          response.end();
          return;
        }
        if (request.url === '/error/checkpoint') {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end('{"error":{"code":"ECT_LEDGER_CORRUPT","message":"x"}}');
          return;
        }
        if (request.url === '/garbage/checkpoint') {
          response.end('remote.example/ledger\n10\nAAAA\n\n— sig\n');
          return;
        }
        response.writeHead(404).end();
      }),
    );
    expect(await codeOf(RemoteLedger.open({ url: `${misbehaving}/slow`, timeoutMs: 200 }).head())).toBe(
      'ECT_LEDGER_UNAVAILABLE',
    );
    expect(await codeOf(RemoteLedger.open({ url: `${misbehaving}/big` }).head())).toBe('ECT_LEDGER_RESPONSE_TOO_LARGE');
    expect(await codeOf(RemoteLedger.open({ url: `${misbehaving}/chunked` }).head())).toBe(
      'ECT_LEDGER_RESPONSE_TOO_LARGE',
    );
    const error = await RemoteLedger.open({ url: `${misbehaving}/error` })
      .head()
      .catch((e: unknown) => e);
    expect(isEctError(error, 'ECT_LEDGER_BAD_RESPONSE')).toBe(true);
    expect((error as Error).message).toContain('500 (ECT_LEDGER_CORRUPT)');
    expect(await codeOf(RemoteLedger.open({ url: `${misbehaving}/none` }).head())).toBe('ECT_LEDGER_BAD_RESPONSE');
    expect(await codeOf(RemoteLedger.open({ url: `${misbehaving}/garbage` }).head())).toBe('ECT_LEDGER_NOTE_INVALID');
    expect(() => RemoteLedger.open({ url: 'ftp://ledger.example' })).toThrow(RangeError);

    // A connection dropped as the request arrives (a kept-alive one the server just closed) is
    // retried once; one dropped every time is unreachable.
    let connections = 0;
    const dropping = (dropAll: boolean) =>
      createNetServer((socket) => {
        connections++;
        socket.once('data', () => {
          if (dropAll || connections === 1) {
            socket.destroy();
            return;
          }
          const body = Buffer.from(file.checkpoint);
          socket.end(
            `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${file.checkpoint}`,
          );
        });
      });
    const flaky = dropping(false);
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const flakyUrl = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    expect((await RemoteLedger.open({ url: flakyUrl, verifier: NoteVerifier.fromString(key) }).head()).size).toBe(
      66_300,
    );
    expect(connections).toBe(2);
    flaky.close();
    connections = 0;
    const dead = dropping(true);
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    expect(await codeOf(RemoteLedger.open({ url: deadUrl }).head())).toBe('ECT_LEDGER_UNAVAILABLE');
    expect(connections).toBe(2);
    dead.close();
  });
});
