import { cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEctError } from '../../../src/base/errors.js';
import { checkDagRules } from '../../../src/dag/validate-token.js';
import { openCheckpoint } from '../../../src/ledger/checkpoint.js';
import { claimsOf } from '../../../src/ledger/entry.js';
import { FileLedger } from '../../../src/ledger/file-store.js';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  readerOverLeaves,
  treeRoot,
  verifyConsistency,
} from '../../../src/ledger/merkle/index.js';
import { NoteVerifier } from '../../../src/ledger/note.js';
import { verifyReceipt } from '../../../src/ledger/receipt.js';
import { nodeReaderFromTiles, parseEntryBundle, tilePath, tilesOfTree } from '../../../src/ledger/tiles.js';
import { sharedIssuer, validClaims, WID } from '../../helpers/ect.js';
import { makeTokens, tempDir } from '../../helpers/ledger.js';

const tokens = makeTokens(700);

const codeOf = async (run: () => unknown): Promise<string | undefined> => {
  try {
    await run();
    return undefined;
  } catch (error) {
    return isEctError(error) ? error.code : String(error);
  }
};

describe('FileLedger', () => {
  it('appends batches, serves entries, proofs, receipts and tiles that match a brute-force tree', async () => {
    const dir = tempDir();
    const ledger = await FileLedger.open({ dir, origin: 'test.example/ledger' });
    const sizes: { size: number; checkpoint: string }[] = [];
    let at = 0;
    for (const batch of [1, 2, 61, 256, 380]) {
      const { indexes, checkpoint } = await ledger.append(tokens.slice(at, at + batch));
      expect(indexes).toEqual(Array.from({ length: batch }, (_, i) => at + i));
      at += batch;
      sizes.push({ size: at, checkpoint });
    }
    const leaves = tokens.map((t) => leafHash(Buffer.from(t)));
    const reference = readerOverLeaves(leaves);
    expect(ledger.size).toBe(700);
    expect(ledger.root).toEqual(treeRoot(reference, 700));
    const verifier = NoteVerifier.fromString(readFileSync(join(dir, 'note.pub'), 'utf8'));
    for (const { size, checkpoint } of sizes) {
      const head = openCheckpoint(checkpoint, verifier, 'test.example/ledger');
      expect(head.size).toBe(size);
      expect(head.root).toEqual(treeRoot(reference, size));
      const proof = ledger.consistencyProof(size);
      expect(proof).toEqual(consistencyProof(reference, size, 700));
      verifyConsistency(size, 700, proof, head.root, ledger.root);
    }
    for (const index of [0, 1, 255, 256, 699]) {
      expect(ledger.entry(index)).toBe(tokens[index]);
      expect(ledger.inclusionProof(index)).toEqual(inclusionProof(reference, index, 700));
      const receipt = ledger.receipt(index);
      expect(verifyReceipt(JSON.stringify(receipt), verifier).index).toBe(index);
      const forged = { ...receipt, token: tokens[(index + 1) % 700] };
      expect(await codeOf(() => verifyReceipt(forged, verifier))).toBe('ECT_LEDGER_PROOF_INVALID');
    }
    const jti = claimsOf(tokens[300] as string).jti;
    expect(ledger.indexesOf(jti)).toEqual([300]);
    // Tiles and bundles alone rebuild the tree and the entries.
    const fromTiles = nodeReaderFromTiles((level, index, width) => {
      const data = ledger.resource(tilePath({ level, index, width }));
      if (data === undefined) throw new Error(`no tile ${level}/${index}`);
      return data;
    }, 700);
    expect(treeRoot(fromTiles, 700)).toEqual(ledger.root);
    const bundled = tilesOfTree(700)
      .filter((t) => t.level === 'entries')
      .flatMap((t) => parseEntryBundle(ledger.resource(tilePath(t)) as Buffer).map((b) => b.toString()));
    expect(bundled).toEqual(tokens);
    expect(ledger.resource('tile/0/002')).toBeUndefined(); // partial: only .p/188 exists
    expect(ledger.resource('tile/0/002.p/188')?.length).toBe(188 * 32);
    ledger.close();

    const reopened = await FileLedger.open({ dir });
    expect(reopened.size).toBe(700);
    expect(reopened.root).toEqual(ledger.root);
    expect(reopened.indexesOf(jti)).toEqual([300]);
    await reopened.append(makeTokens(3));
    expect(reopened.rootAt(700)).toEqual(ledger.root);
    reopened.close();
  });

  it('refuses a duplicate (wid, jti) in the log or in the batch, and invalid tokens, appending nothing', async () => {
    const ledger = await FileLedger.open({ dir: tempDir() });
    await ledger.append(tokens.slice(0, 5));
    expect(await codeOf(() => ledger.append([tokens[5] as string, tokens[2] as string]))).toBe('ECT_LEDGER_DUPLICATE');
    expect(await codeOf(() => ledger.append([tokens[6] as string, tokens[6] as string]))).toBe('ECT_LEDGER_DUPLICATE');
    expect(await codeOf(() => ledger.append(['not a token']))).toBe('ECT_LEDGER_ENTRY_INVALID');
    expect(ledger.size).toBe(5);
    // Same jti in another workflow is a different task.
    const { signer } = sharedIssuer();
    const claims = claimsOf(tokens[0] as string);
    const other = signer.sign({ ...validClaims({ wid: '0190b7a4-8d6e-7cc4-9a7e-000000000000' }), jti: claims.jti });
    await ledger.append([other]);
    expect(ledger.indexesOf(claims.jti)).toEqual([0, 5]);
    ledger.close();
  });

  it('is a DagStore: predecessors are looked up in the ledger', async () => {
    const ledger = await FileLedger.open({ dir: tempDir() });
    const { signer } = sharedIssuer();
    const root = signer.sign(validClaims({ wid: WID, iat: 1_760_000_000 }));
    const rootClaims = claimsOf(root);
    await ledger.add({ ...rootClaims, token: root });
    const child = validClaims({ wid: WID, pred: [rootClaims.jti], iat: 1_760_000_010 });
    expect(await checkDagRules(child, ledger)).toEqual({ status: 'valid', missing: [] });
    const orphan = validClaims({ wid: WID, pred: ['3f2504e0-4f89-41d3-9a0c-0305e82c3301'], iat: 1_760_000_010 });
    expect((await checkDagRules(orphan, ledger)).status).toBe('partial');
    expect(ledger.get(rootClaims.jti)).toHaveLength(1);
    expect(await codeOf(() => ledger.add(rootClaims))).toBe('ECT_LEDGER_ENTRY_INVALID');
    expect(await codeOf(() => ledger.add({ ...rootClaims, token: root }))).toBe('ECT_LEDGER_DUPLICATE');
    ledger.close();
  });

  it('locks the directory against a second writer and keeps the key private', async () => {
    const dir = tempDir();
    const ledger = await FileLedger.open({ dir });
    expect(statSync(join(dir, 'note.key')).mode & 0o777).toBe(0o600);
    ledger.close();
    // A live process (our parent) holds the lock; then a dead one.
    writeFileSync(join(dir, 'lock'), String(process.ppid));
    expect(await codeOf(() => FileLedger.open({ dir }))).toBe('ECT_LEDGER_LOCKED');
    writeFileSync(join(dir, 'lock'), '999999999');
    (await FileLedger.open({ dir })).close();
  });
});

describe('FileLedger derived files', () => {
  it('append makes them durable every 16,384 entries (off the event loop) and marks how far; a crash after that loses nothing', async () => {
    const dir = tempDir();
    const many = makeTokens(16_384 + 1_000);
    const ledger = await FileLedger.open({ dir });
    for (let at = 0; at < 16_000; at += 1_000) await ledger.append(many.slice(at, at + 1_000));
    // No mark yet: nothing synced but the entries and the checkpoint.
    expect(existsSync(join(dir, 'synced'))).toBe(false);
    await ledger.append(many.slice(16_000, 17_000));
    expect(readFileSync(join(dir, 'synced'), 'utf8').trim()).toBe('17000');
    await ledger.append(many.slice(17_000));
    // No close (a crash): reopening trusts the files up to the mark and rebuilds the rest.
    const reopened = FileLedger.openSync({ dir: cpDir(dir) });
    expect(reopened.size).toBe(many.length);
    expect(reopened.indexesOf(claimsOf(many[16_999] as string).jti)).toEqual([16_999]);
    expect(reopened.indexesOf(claimsOf(many.at(-1) as string).jti)).toEqual([many.length - 1]);
    reopened.close();
    ledger.close();
  }, 60_000);

  /** A copy of a ledger directory without its lock, as a crashed writer leaves it. */
  function cpDir(dir: string): string {
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    rmSync(join(copy, 'lock'), { force: true });
    return copy;
  }
});

describe('FileLedger reopened with resume (a writer that shares the directory, turn by turn)', () => {
  const jtiOf = (token: string | undefined) => claimsOf(token as string).jti;

  it("takes the closed instance's jti index over and reads only the entries appended since", async () => {
    const dir = tempDir();
    const first = await FileLedger.open({ dir });
    await first.append(tokens.slice(0, 100));
    first.close();
    // Another writer's turn.
    const other = await FileLedger.open({ dir });
    await other.append(tokens.slice(100, 150));
    other.close();
    // The first 100 jti keys on disk overwritten: an open that read them would index garbage.
    const jtiFile = join(dir, 'jti.idx');
    const keys = readFileSync(jtiFile);
    const keySize = keys.length / 150;
    keys.fill(0, 0, 100 * keySize);
    writeFileSync(jtiFile, keys);

    const resumed = FileLedger.openSync({ dir, resume: first });
    expect(resumed.size).toBe(150);
    expect(resumed.indexesOf(jtiOf(tokens[3]))).toEqual([3]);
    expect(resumed.indexesOf(jtiOf(tokens[120]))).toEqual([120]);
    expect(await codeOf(() => resumed.append([tokens[3] as string]))).toBe('ECT_LEDGER_DUPLICATE');
    resumed.close();
    // The control: a plain open reads the whole (here damaged) index.
    const plain = FileLedger.openSync({ dir });
    expect(plain.indexesOf(jtiOf(tokens[3]))).toEqual([]);
    expect(plain.indexesOf(jtiOf(tokens[120]))).toEqual([120]);
    plain.close();
  });

  it('does not resume from a ledger that no longer begins with what it held, nor from an open or another one', async () => {
    const dir = tempDir();
    const first = await FileLedger.open({ dir });
    await first.append(tokens.slice(0, 10));
    first.close();
    // The directory replaced by another ledger with other entries.
    rmSync(dir, { recursive: true, force: true });
    const replaced = await FileLedger.open({ dir });
    await replaced.append(tokens.slice(10, 30));
    replaced.close();
    const reopened = FileLedger.openSync({ dir, resume: first });
    expect(reopened.indexesOf(jtiOf(tokens[3]))).toEqual([]);
    expect(reopened.indexesOf(jtiOf(tokens[15]))).toEqual([5]);
    expect(reopened.size).toBe(20);

    // An instance still open (a reader) or of another directory is not taken over either.
    const reader = FileLedger.openSync({ dir, readOnly: true });
    const elsewhere = await FileLedger.open({ dir: tempDir() });
    await elsewhere.append(tokens.slice(40, 45));
    elsewhere.close();
    reopened.close();
    for (const resume of [reader, elsewhere]) {
      const again = FileLedger.openSync({ dir, resume });
      expect(again.indexesOf(jtiOf(tokens[15]))).toEqual([5]);
      expect(again.indexesOf(jtiOf(tokens[41]))).toEqual([]);
      again.close();
    }
    expect(reader.indexesOf(jtiOf(tokens[15]))).toEqual([5]);
    reader.close();
  });
});

describe('FileLedger read-only', () => {
  it('reads the committed log while a writer holds the lock, and refuses to append', async () => {
    const dir = tempDir();
    const writer = FileLedger.openSync({ dir });
    writer.appendSync(tokens.slice(0, 10));
    const reader = FileLedger.openSync({ dir, readOnly: true });
    expect(reader.size).toBe(10);
    expect(reader.entry(9)).toBe(tokens[9]);
    expect(verifyReceipt(reader.receipt(3), NoteVerifier.fromString(writer.verifierKey)).index).toBe(3);
    expect(await codeOf(() => reader.appendSync(tokens.slice(10, 11)))).toBe('ECT_LEDGER_LOCKED');
    writer.appendSync(tokens.slice(10, 20));
    expect(reader.size).toBe(10); // as of opening
    reader.close();
    const later = FileLedger.openSync({ dir, readOnly: true });
    expect(later.size).toBe(20);
    later.close();
    writer.close();
    expect(await codeOf(() => FileLedger.openSync({ dir: join(dir, 'none'), readOnly: true }))).toBe(
      'ECT_LEDGER_NOT_FOUND',
    );
  });

  it('needs only the public note key: a copy without note.key reads, and has no signer', async () => {
    const dir = tempDir();
    const writer = FileLedger.openSync({ dir, origin: 'copy.example/ledger' });
    writer.appendSync(tokens.slice(0, 5));
    writer.close();
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    rmSync(join(copy, 'note.key'));
    const reader = FileLedger.openSync({ dir: copy, readOnly: true });
    expect(reader.verifierKey).toBe(writer.verifierKey);
    expect(verifyReceipt(reader.receipt(4), reader.verifier).index).toBe(4);
    expect(await codeOf(() => reader.signer)).toBe('ECT_LEDGER_LOCKED');
    reader.close();
  });
});
