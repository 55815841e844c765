/**
 * The full audit of a ledger directory, read-only: every entry is re-hashed, the whole tree is
 * recomputed and compared with every stored hash (so every tile), the index files are checked
 * against the entries, the `(wid, jti)` rule is re-checked, and the recomputed root is compared
 * with the signed checkpoint, whose signature is checked with the public note key. Problems come
 * back sorted by the first log index they break.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { EctLedgerError, type EctErrorCode } from '../base/errors.js';
import { openCheckpoint, parseCheckpoint, type Checkpoint } from './checkpoint.js';
import { claimsOf, JTI_KEY_SIZE, jtiKeyOf } from './entry.js';
import { levelFile, LEDGER_FILES } from './file-store.js';
import { emptyRoot, HASH_SIZE, leafHash, nodeHash } from './merkle/hash.js';
import { NoteVerifier } from './note.js';
import { hashesAtLevel, TILE_HEIGHT, TILE_WIDTH, tilePath } from './tiles.js';

/** One thing found wrong. */
export interface LedgerProblem {
  code: EctErrorCode;
  /** First log index the problem breaks, when it is tied to one. */
  index?: number;
  /** The file or resource at fault: `entries`, `entries.idx`, `jti.idx`, `checkpoint`, a tile path or `tree/NN`. */
  where: string;
  message: string;
}

/** The verdict of {@link auditLedger}. */
export interface LedgerAudit {
  ok: boolean;
  origin: string | undefined;
  /** Size the checkpoint claims. */
  checkpointSize: number | undefined;
  /** Complete entries found in the entries file. */
  entries: number;
  /** Root recomputed from the entries (of the first `checkpointSize` of them). */
  root: string | undefined;
  /** Lowest index among the problems. */
  firstBrokenIndex: number | undefined;
  problems: LedgerProblem[];
}

/** Options of {@link auditLedger}. */
export interface AuditLedgerOptions {
  /** The public note key to trust; default the directory's own `note.pub` (which a forger could replace too). */
  verifierKey?: string;
  /** Called every 65,536 entries and at the end. */
  onProgress?: (done: number, total: number) => void;
}

const MAX_PROBLEMS = 100;

/**
 * Audits the ledger in `dir` without changing anything.
 *
 * @example const { ok, firstBrokenIndex } = auditLedger('.ect/ledger', { verifierKey });
 */
export function auditLedger(dir: string, options: AuditLedgerOptions = {}): LedgerAudit {
  const problems: LedgerProblem[] = [];
  const report = (problem: LedgerProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(problem);
  };
  const read = (name: string): Buffer => {
    const path = join(dir, name);
    return existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
  };

  const head = readHead(dir, options.verifierKey, report);
  const n = head?.size;
  const offsets = read(LEDGER_FILES.offsets);
  const jtis = read(LEDGER_FILES.jti);
  const levels: Buffer[] = [];
  for (let level = 0; existsSync(levelFile(dir, level)); level++) levels.push(readFileSync(levelFile(dir, level)));
  const firstMismatch = new Set<number>();
  const seen = new Set<string>();
  const pending: (Buffer | undefined)[] = [];
  // A node above a mismatch differs because of it; only a node whose children matched is compared.
  const pendingTainted: boolean[] = [];
  let rootAtCheckpoint: Buffer | undefined = n === 0 ? emptyRoot() : undefined;

  const compare = (level: number, index: number, hash: Buffer): boolean => {
    const stored = levels[level];
    const at = index * HASH_SIZE;
    if (stored !== undefined && stored.length >= at + HASH_SIZE && stored.subarray(at, at + HASH_SIZE).equals(hash))
      return true;
    if (firstMismatch.has(level)) return false;
    firstMismatch.add(level);
    const where = level % TILE_HEIGHT === 0 ? tileOf(level, index) : `tree/${String(level).padStart(2, '0')}`;
    report({
      code: 'ECT_LEDGER_CORRUPT',
      index: index * 2 ** level,
      where,
      message:
        level === 0
          ? `entry ${index} and its stored leaf hash disagree (the entry or ${where} was altered)`
          : `stored hash ${index} of tree level ${level} is ${stored !== undefined && stored.length >= at + HASH_SIZE ? 'not the hash of its children' : 'missing'}`,
    });
    return false;
  };

  const fd = openSync(join(dir, LEDGER_FILES.entries), 'r');
  const total = fstatSync(fd).size;
  let count = 0;
  try {
    const chunk = Buffer.allocUnsafe(1 << 22);
    let carry = Buffer.alloc(0);
    let position = 0;
    let consumed = 0;
    for (;;) {
      const got = readSync(fd, chunk, 0, chunk.length, position);
      position += got;
      const data = carry.length === 0 ? chunk.subarray(0, got) : Buffer.concat([carry, chunk.subarray(0, got)]);
      let at = 0;
      while (at + 2 <= data.length) {
        const length = data.readUInt16BE(at);
        if (at + 2 + length > data.length) break;
        const entry = data.subarray(at + 2, at + 2 + length);
        at += 2 + length;
        consumed += 2 + length;
        checkEntry(count, entry, consumed);
        count++;
        if (count === n) rootAtCheckpoint = fold(pending);
        if (count % 65_536 === 0) options.onProgress?.(consumed, total);
      }
      carry = Buffer.from(data.subarray(at));
      if (got === 0) break;
    }
    if (carry.length > 0) {
      report({
        code: 'ECT_LEDGER_CORRUPT',
        index: count,
        where: 'entries',
        message: `the entries file ends inside entry ${count}`,
      });
    }
  } finally {
    closeSync(fd);
  }
  options.onProgress?.(total, total);

  function checkEntry(index: number, entry: Buffer, end: number): void {
    const at = index * 8;
    if (offsets.length < at + 8 || Number(offsets.readBigUInt64BE(at)) !== end) {
      report({
        code: 'ECT_LEDGER_CORRUPT',
        index,
        where: 'entries.idx',
        message: `entry ${index} does not end where entries.idx says`,
      });
    }
    const token = entry.toString('latin1');
    try {
      const { jti, wid } = claimsOf(token);
      const key = jtiKeyOf(jti);
      if (jtis.toString('latin1', index * JTI_KEY_SIZE, (index + 1) * JTI_KEY_SIZE) !== key) {
        report({
          code: 'ECT_LEDGER_CORRUPT',
          index,
          where: 'jti.idx',
          message: `jti.idx does not hold entry ${index}'s jti`,
        });
      }
      const pair = createHash('sha256')
        .update(`${wid ?? ''}\u0000${jti}`)
        .digest()
        .toString('latin1');
      if (seen.has(pair)) {
        report({
          code: 'ECT_LEDGER_DUPLICATE',
          index,
          where: 'entries',
          message: `entry ${index} repeats jti ${jti} in workflow ${wid ?? '(none)'}`,
        });
      }
      seen.add(pair);
    } catch (error) {
      report({
        code: 'ECT_LEDGER_ENTRY_INVALID',
        index,
        where: 'entries',
        message: `entry ${index}: ${(error as Error).message}`,
      });
    }
    let hash = leafHash(entry);
    let nodeIndex = index;
    let tainted = false;
    for (let level = 0; ; level++) {
      tainted = tainted || !compare(level, nodeIndex, hash);
      const left = pending[level];
      if (nodeIndex % 2 === 0) {
        pending[level] = hash;
        pendingTainted[level] = tainted;
        break;
      }
      pending[level] = undefined;
      tainted = tainted || pendingTainted[level] === true;
      hash = nodeHash(left as Buffer, hash);
      nodeIndex = (nodeIndex - 1) / 2;
    }
  }

  if (n !== undefined && count < n) {
    report({
      code: 'ECT_LEDGER_CORRUPT',
      index: count,
      where: 'entries',
      message: `entries ${count}…${n - 1} that the checkpoint commits are missing`,
    });
  }
  if (n !== undefined && count > n) {
    report({
      code: 'ECT_LEDGER_CORRUPT',
      index: n,
      where: 'checkpoint',
      message: `entries from ${n} on are not covered by the signed checkpoint (of size ${n}; ${count} entries)`,
    });
  }
  const expectedLength = (level: number) => hashesAtLevel(count, level) * HASH_SIZE;
  levels.forEach((stored, level) => {
    if (stored.length > expectedLength(level)) {
      report({
        code: 'ECT_LEDGER_CORRUPT',
        index: count,
        where: `tree/${String(level).padStart(2, '0')}`,
        message: `tree level ${level} holds hashes past the entries`,
      });
    }
  });
  if (offsets.length > count * 8)
    report({
      code: 'ECT_LEDGER_CORRUPT',
      index: count,
      where: 'entries.idx',
      message: 'entries.idx lists entries that are not in the entries file',
    });
  if (head !== undefined && rootAtCheckpoint !== undefined && !rootAtCheckpoint.equals(head.root)) {
    report({
      code: 'ECT_LEDGER_CORRUPT',
      where: 'checkpoint',
      message: `the root of the first ${head.size} entries is not the checkpoint's root`,
    });
  }
  problems.sort((a, b) => (a.index ?? Number.POSITIVE_INFINITY) - (b.index ?? Number.POSITIVE_INFINITY));
  const indexed = problems.find((p) => p.index !== undefined);
  return {
    ok: problems.length === 0,
    origin: head?.origin,
    checkpointSize: n,
    entries: count,
    root: rootAtCheckpoint?.toString('base64'),
    firstBrokenIndex: indexed?.index,
    problems,
  };
}

function fold(pending: readonly (Buffer | undefined)[]): Buffer {
  let root: Buffer | undefined;
  for (const node of pending) if (node !== undefined) root = root === undefined ? node : nodeHash(node, root);
  return root ?? emptyRoot();
}

function tileOf(level: number, index: number): string {
  return tilePath({ level: level / TILE_HEIGHT, index: Math.floor(index / TILE_WIDTH), width: TILE_WIDTH });
}

function readHead(
  dir: string,
  verifierKey: string | undefined,
  report: (p: LedgerProblem) => void,
): Checkpoint | undefined {
  const path = join(dir, LEDGER_FILES.checkpoint);
  if (!existsSync(path)) {
    report({ code: 'ECT_LEDGER_CORRUPT', where: 'checkpoint', message: 'no checkpoint' });
    return undefined;
  }
  const note = readFileSync(path, 'utf8');
  let verifier: NoteVerifier;
  try {
    verifier = NoteVerifier.fromString(verifierKey ?? readFileSync(join(dir, LEDGER_FILES.pub), 'utf8'));
  } catch (error) {
    throw error instanceof EctLedgerError
      ? error
      : new EctLedgerError('ECT_LEDGER_NOTE_INVALID', `no usable note key: ${String(error)}`);
  }
  try {
    return openCheckpoint(note, verifier, verifier.name);
  } catch (error) {
    report({
      code: 'ECT_LEDGER_NOTE_INVALID',
      where: 'checkpoint',
      message: `checkpoint: ${(error as Error).message}`,
    });
    try {
      // Go on with what the unsigned text claims, so the entries are still checked.
      return parseCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1));
    } catch {
      return undefined;
    }
  }
}
