/**
 * Tampering with a ledger directory: `auditLedger` (what `ect ledger verify` runs) names what broke,
 * first broken index first, and the store refuses to open what does not match its checkpoint.
 */
import {
  copyFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isEctError } from '../../../src/base/errors.js';
import { auditLedger } from '../../../src/ledger/audit-log.js';
import { FileLedger } from '../../../src/ledger/file-store.js';
import { NoteSigner } from '../../../src/ledger/note.js';
import { makeTokens, tempDir } from '../../helpers/ledger.js';

const tokens = makeTokens(600);
// Made once for the file and removed after it (tempDir would remove it after the first test).
const pristine = mkdtempSync(join(tmpdir(), 'ect-ledger-pristine-'));
afterAll(() => rmSync(pristine, { recursive: true, force: true }));
const ledger = FileLedger.openSync({ dir: pristine, origin: 'test.example/tamper' });
ledger.appendSync(tokens.slice(0, 300));
const olderCheckpoint = ledger.checkpoint;
ledger.appendSync(tokens.slice(300));
const entryStart = (index: number) =>
  index === 0 ? 0 : Number(readFileSync(join(pristine, 'entries.idx')).readBigUInt64BE((index - 1) * 8));
ledger.close();
const verifierKey = readFileSync(join(pristine, 'note.pub'), 'utf8');

function copy(): string {
  const dir = tempDir();
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

function flipByte(path: string, at: number): void {
  const data = readFileSync(path);
  data[at] = (data[at] as number) ^ 0x01;
  writeFileSync(path, data);
}

describe('auditLedger on a tampered ledger', () => {
  it('passes the untouched ledger', () => {
    const audit = auditLedger(copy(), { verifierKey });
    expect(audit).toMatchObject({ ok: true, entries: 600, checkpointSize: 600, problems: [] });
  });

  it('names the entry whose byte was flipped', () => {
    const dir = copy();
    flipByte(join(dir, 'entries'), entryStart(417) + 40);
    const audit = auditLedger(dir, { verifierKey });
    expect(audit.ok).toBe(false);
    expect(audit.firstBrokenIndex).toBe(417);
    expect(audit.problems[0]?.index).toBe(417);
    expect(audit.problems).toContainEqual(expect.objectContaining({ index: 417, where: 'tile/0/001' }));
    expect(audit.problems.some((p) => p.where === 'checkpoint')).toBe(true);
  });

  it('names the hash tile whose byte was flipped', () => {
    const dir = copy();
    flipByte(join(dir, 'tree', '00'), 300 * 32 + 5);
    expect(auditLedger(dir, { verifierKey }).problems[0]).toMatchObject({ index: 300, where: 'tile/0/001' });
    const level8 = copy();
    flipByte(join(level8, 'tree', '08'), 32 + 1);
    expect(auditLedger(level8, { verifierKey }).problems[0]).toMatchObject({ index: 256, where: 'tile/1/000' });
  });

  it('names the first of two reordered entries', () => {
    const dir = copy();
    const data = readFileSync(join(dir, 'entries'));
    const a = [entryStart(100), entryStart(101)];
    const b = [entryStart(101), entryStart(102)];
    const reordered = Buffer.concat([
      data.subarray(0, a[0]),
      data.subarray(b[0], b[1]),
      data.subarray(a[0], a[1]),
      data.subarray(b[1]),
    ]);
    writeFileSync(join(dir, 'entries'), reordered);
    expect(auditLedger(dir, { verifierKey }).firstBrokenIndex).toBe(100);
  });

  it('names the first missing entry after truncation or deletion', () => {
    const truncated = copy();
    truncateSync(join(truncated, 'entries'), entryStart(550) + 10);
    const audit = auditLedger(truncated, { verifierKey });
    expect(audit.firstBrokenIndex).toBe(550);
    expect(audit.entries).toBe(550);
    const deleted = copy();
    const data = readFileSync(join(deleted, 'entries'));
    writeFileSync(
      join(deleted, 'entries'),
      Buffer.concat([data.subarray(0, entryStart(20)), data.subarray(entryStart(21))]),
    );
    expect(auditLedger(deleted, { verifierKey }).firstBrokenIndex).toBe(20);
  });

  it('flags an older checkpoint (entries not covered) and a forged one (signature)', () => {
    const older = copy();
    writeFileSync(join(older, 'checkpoint'), olderCheckpoint);
    const audit = auditLedger(older, { verifierKey });
    expect(audit.firstBrokenIndex).toBe(300);
    expect(audit.problems[0]).toMatchObject({ where: 'checkpoint', index: 300 });

    const forged = copy();
    const note = readFileSync(join(forged, 'checkpoint'), 'utf8');
    writeFileSync(join(forged, 'checkpoint'), note.replace('\n600\n', '\n599\n'));
    const forgedAudit = auditLedger(forged, { verifierKey });
    expect(forgedAudit.problems.map((p) => p.code)).toContain('ECT_LEDGER_NOTE_INVALID');
    expect(forgedAudit.firstBrokenIndex).toBe(599);

    // Re-signed with another key (and note.pub swapped too): only the trusted key catches it.
    const resigned = copy();
    const impostor = NoteSigner.generate('test.example/tamper');
    const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
    writeFileSync(join(resigned, 'checkpoint'), impostor.sign(text));
    writeFileSync(join(resigned, 'note.pub'), impostor.verifier.toString());
    expect(auditLedger(resigned).ok).toBe(true);
    expect(auditLedger(resigned, { verifierKey }).problems[0]?.code).toBe('ECT_LEDGER_NOTE_INVALID');
  });

  it('refuses to open a ledger whose acknowledged entries are gone or altered', () => {
    const refused = (dir: string) => {
      try {
        FileLedger.openSync({ dir }).close();
        return undefined;
      } catch (error) {
        return isEctError(error) ? error.code : String(error);
      }
    };
    const truncated = copy();
    truncateSync(join(truncated, 'entries.idx'), 8 * 599);
    expect(refused(truncated)).toBe('ECT_LEDGER_CORRUPT');
    const flipped = copy();
    flipByte(join(flipped, 'entries'), entryStart(599) + 50);
    expect(refused(flipped)).toBe('ECT_LEDGER_CORRUPT');
    const rootTile = copy();
    flipByte(join(rootTile, 'tree', '09'), 3);
    expect(refused(rootTile)).toBe('ECT_LEDGER_CORRUPT');
  });

  it('cuts an unacknowledged tail back to the checkpoint, keeping its bytes in recovered/', () => {
    const dir = copy();
    copyFileSync(join(dir, 'entries'), join(dir, 'entries.bak'));
    const size = statSync(join(dir, 'entries')).size;
    writeFileSync(
      join(dir, 'entries'),
      Buffer.concat([readFileSync(join(dir, 'entries.bak')), Buffer.from([0x01, 0x00, 0x41])]),
    );
    const reopened = FileLedger.openSync({ dir });
    expect(reopened.size).toBe(600);
    expect(statSync(join(dir, 'entries')).size).toBe(size);
    reopened.close();
    expect(auditLedger(dir, { verifierKey }).ok).toBe(true);
  });
});

describe('recovery of the derived files', () => {
  it('rebuilds index and tree files lost past the synced mark (power loss), from the entries', () => {
    const dir = tempDir();
    const writer = FileLedger.openSync({ dir, origin: 'test.example/rebuild' });
    writer.appendSync(tokens.slice(0, 100));
    writer.appendSync(tokens.slice(100, 357));
    const root = writer.root;
    // The writer "crashes" (never closes): its derived files were never synced. Simulate losing
    // them, and zeros where the page cache had not reached the disk.
    for (const name of ['entries.idx', 'jti.idx', 'tree/01', 'tree/02']) truncateSync(join(dir, name), 0);
    const level0 = readFileSync(join(dir, 'tree', '00'));
    writeFileSync(
      join(dir, 'tree', '00'),
      Buffer.concat([level0.subarray(0, 1000), Buffer.alloc(level0.length - 1000)]),
    );
    const reopened = FileLedger.openSync({ dir });
    expect(reopened.size).toBe(357);
    expect(reopened.root).toEqual(root);
    expect(reopened.entry(356)).toBe(tokens[356]);
    expect(
      reopened.indexesOf(
        JSON.parse(Buffer.from((tokens[200] as string).split('.')[1] as string, 'base64url').toString()).jti,
      ),
    ).toEqual([200]);
    reopened.close();
    expect(auditLedger(dir).ok).toBe(true);
    expect(readFileSync(join(dir, 'synced'), 'utf8').trim()).toBe('357');
  });

  it('refuses derived files shorter than their synced mark, or a mark past the checkpoint', () => {
    const refused = (dir: string) => {
      try {
        FileLedger.openSync({ dir }).close();
        return undefined;
      } catch (error) {
        return isEctError(error) ? error.code : String(error);
      }
    };
    const short = copy();
    truncateSync(join(short, 'tree', '03'), 32);
    expect(refused(short)).toBe('ECT_LEDGER_CORRUPT');
    const ahead = copy();
    writeFileSync(join(ahead, 'synced'), '601\n');
    expect(refused(ahead)).toBe('ECT_LEDGER_CORRUPT');
  });
});
