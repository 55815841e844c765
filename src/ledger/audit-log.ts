/**
 * The full audit of a ledger, read-only: every entry is re-hashed, the whole tree is recomputed
 * and compared with the stored hashes, the `(wid, jti)` rule is re-checked, and the recomputed
 * root is compared with the signed checkpoint, whose signature is checked with the public note
 * key. Problems come back sorted by the first log index they break.
 *
 * One tree check ({@link TreeCheck}) is fed by two readers: {@link auditLedger} reads a ledger
 * directory (every stored tree level, and the index files besides), {@link auditTiledLedger}
 * reads any ledger through the C2SP read paths (entry bundles, hash tiles, checkpoint), as a
 * PostgreSQL store or a ledger server serves them.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { EctLedgerError, isEctError, type EctErrorCode } from '../base/errors.js';
import { openCheckpoint, parseCheckpoint, type Checkpoint } from './checkpoint.js';
import { claimsOf, JTI_KEY_SIZE, jtiKeyOf } from './entry.js';
import { levelFile, LEDGER_FILES } from './file-store.js';
import { emptyRoot, HASH_SIZE, leafHash, nodeHash } from './merkle/hash.js';
import { NoteVerifier } from './note.js';
import { hashesAtLevel, parseEntryBundle, TILE_HEIGHT, TILE_WIDTH, tilePath, type TileId } from './tiles.js';

/** One thing found wrong. */
export interface LedgerProblem {
  code: EctErrorCode;
  /** First log index the problem breaks, when it is tied to one. */
  index?: number;
  /** The file or resource at fault: `entries`, `entries.idx`, `jti.idx`, `checkpoint`, a tile path or `tree/NN`. */
  where: string;
  message: string;
}

/** The verdict of {@link auditLedger} and {@link auditTiledLedger}. */
export interface LedgerAudit {
  ok: boolean;
  origin: string | undefined;
  /** Size the checkpoint claims. */
  checkpointSize: number | undefined;
  /** Complete entries found (in the entries file, or in the entry bundles). */
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
  /** Called every 65,536 entries and at the end, with the work done and the work in all. */
  onProgress?: (done: number, total: number) => void;
}

const MAX_PROBLEMS = 100;
const PROGRESS_EVERY = 65_536;

/**
 * Where a tree check finds the stored hash of a node: the hash, `undefined` when the store should
 * hold it and does not, `null` when the store keeps no hashes at that level (then it is not
 * compared).
 */
type StoredNode = (level: number, index: number) => Uint8Array | undefined | null;

/**
 * The store-independent part of an audit: entries are fed in log order; each is parsed for the
 * `(wid, jti)` rule, hashed into the tree, and every node it completes is compared with the stored
 * one. A node above a mismatch differs because of it, so only a node whose children matched is
 * compared, and one problem is reported per tree level.
 */
class TreeCheck {
  readonly problems: LedgerProblem[] = [];
  count = 0;
  #rootAtCheckpoint: Buffer | undefined;
  readonly #firstMismatch = new Set<number>();
  readonly #seen = new Set<string>();
  readonly #pending: (Buffer | undefined)[] = [];
  readonly #pendingTainted: boolean[] = [];

  constructor(
    readonly checkpointSize: number | undefined,
    readonly stored: StoredNode,
    readonly where: (level: number, index: number) => string,
  ) {
    this.#rootAtCheckpoint = checkpointSize === 0 ? emptyRoot() : undefined;
  }

  report = (problem: LedgerProblem): void => {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(problem);
  };

  /** Checks the next entry, read from `where`; returns its `jti` and `wid` when it parses. */
  add(entry: Buffer, where = 'entries'): { jti: string; wid: string | undefined } | undefined {
    const index = this.count;
    let claims: { jti: string; wid: string | undefined } | undefined;
    try {
      const { jti, wid } = claimsOf(entry.toString('latin1'));
      claims = { jti, wid };
      const pair = createHash('sha256')
        .update(`${wid ?? ''}\u0000${jti}`)
        .digest()
        .toString('latin1');
      if (this.#seen.has(pair)) {
        this.report({
          code: 'ECT_LEDGER_DUPLICATE',
          index,
          where,
          message: `entry ${index} repeats jti ${jti} in workflow ${wid ?? '(none)'}`,
        });
      }
      this.#seen.add(pair);
    } catch (error) {
      this.report({
        code: 'ECT_LEDGER_ENTRY_INVALID',
        index,
        where,
        message: `entry ${index}: ${(error as Error).message}`,
      });
    }
    let hash = leafHash(entry);
    let nodeIndex = index;
    let tainted = false;
    for (let level = 0; ; level++) {
      tainted = tainted || !this.#compare(level, nodeIndex, hash);
      const left = this.#pending[level];
      if (nodeIndex % 2 === 0) {
        this.#pending[level] = hash;
        this.#pendingTainted[level] = tainted;
        break;
      }
      this.#pending[level] = undefined;
      tainted = tainted || this.#pendingTainted[level] === true;
      hash = nodeHash(left as Buffer, hash);
      nodeIndex = (nodeIndex - 1) / 2;
    }
    this.count++;
    if (this.count === this.checkpointSize) this.#rootAtCheckpoint = fold(this.#pending);
    return claims;
  }

  #compare(level: number, index: number, hash: Buffer): boolean {
    const stored = this.stored(level, index);
    if (stored === null || (stored !== undefined && hash.equals(stored))) return true;
    if (this.#firstMismatch.has(level)) return false;
    this.#firstMismatch.add(level);
    const where = this.where(level, index);
    this.report({
      code: 'ECT_LEDGER_CORRUPT',
      index: index * 2 ** level,
      where,
      message:
        level === 0
          ? `entry ${index} and its stored leaf hash disagree (the entry or ${where} was altered)`
          : `stored hash ${index} of tree level ${level} is ${stored !== undefined ? 'not the hash of its children' : 'missing'}`,
    });
    return false;
  }

  /** The checks that need every entry seen, then the verdict. */
  finish(head: Checkpoint | undefined): LedgerAudit {
    const n = this.checkpointSize;
    const count = this.count;
    if (n !== undefined && count < n) {
      this.report({
        code: 'ECT_LEDGER_CORRUPT',
        index: count,
        where: 'entries',
        message: `entries ${count}…${n - 1} that the checkpoint commits are missing`,
      });
    }
    if (n !== undefined && count > n) {
      this.report({
        code: 'ECT_LEDGER_CORRUPT',
        index: n,
        where: 'checkpoint',
        message: `entries from ${n} on are not covered by the signed checkpoint (of size ${n}; ${count} entries)`,
      });
    }
    const root = this.#rootAtCheckpoint;
    if (head !== undefined && root !== undefined && !root.equals(head.root)) {
      this.report({
        code: 'ECT_LEDGER_CORRUPT',
        where: 'checkpoint',
        message: `the root of the first ${head.size} entries is not the checkpoint's root`,
      });
    }
    const problems = [...this.problems].sort(
      (a, b) => (a.index ?? Number.POSITIVE_INFINITY) - (b.index ?? Number.POSITIVE_INFINITY),
    );
    const indexed = problems.find((p) => p.index !== undefined);
    return {
      ok: problems.length === 0,
      origin: head?.origin,
      checkpointSize: n,
      entries: count,
      root: root?.toString('base64'),
      firstBrokenIndex: indexed?.index,
      problems,
    };
  }
}

/**
 * Audits the ledger in `dir` without changing anything: besides the tree, the index files
 * (`entries.idx`, `jti.idx`) are checked against the entries and every stored tree level, not
 * only the tile levels, is compared.
 *
 * @example const { ok, firstBrokenIndex } = auditLedger('.ect/ledger', { verifierKey });
 */
export function auditLedger(dir: string, options: AuditLedgerOptions = {}): LedgerAudit {
  const read = (name: string): Buffer => {
    const path = join(dir, name);
    return existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
  };
  const early: LedgerProblem[] = [];
  const checkpointPath = join(dir, LEDGER_FILES.checkpoint);
  const head = openHead(
    existsSync(checkpointPath) ? readFileSync(checkpointPath, 'utf8') : undefined,
    () => options.verifierKey ?? readFileSync(join(dir, LEDGER_FILES.pub), 'utf8'),
    (p) => early.push(p),
  );
  const offsets = read(LEDGER_FILES.offsets);
  const jtis = read(LEDGER_FILES.jti);
  const levels: Buffer[] = [];
  for (let level = 0; existsSync(levelFile(dir, level)); level++) levels.push(readFileSync(levelFile(dir, level)));
  const check = new TreeCheck(
    head?.size,
    (level, index) => {
      const stored = levels[level];
      const at = index * HASH_SIZE;
      return stored !== undefined && stored.length >= at + HASH_SIZE ? stored.subarray(at, at + HASH_SIZE) : undefined;
    },
    (level, index) =>
      level % TILE_HEIGHT === 0
        ? tilePath({ level: level / TILE_HEIGHT, index: Math.floor(index / TILE_WIDTH), width: TILE_WIDTH })
        : `tree/${String(level).padStart(2, '0')}`,
  );
  for (const p of early) check.report(p);
  const { report } = check;

  const checkEntry = (index: number, entry: Buffer, end: number): void => {
    const at = index * 8;
    if (offsets.length < at + 8 || Number(offsets.readBigUInt64BE(at)) !== end) {
      report({
        code: 'ECT_LEDGER_CORRUPT',
        index,
        where: 'entries.idx',
        message: `entry ${index} does not end where entries.idx says`,
      });
    }
    const claims = check.add(entry);
    if (
      claims !== undefined &&
      jtis.toString('latin1', index * JTI_KEY_SIZE, (index + 1) * JTI_KEY_SIZE) !== jtiKeyOf(claims.jti)
    ) {
      report({
        code: 'ECT_LEDGER_CORRUPT',
        index,
        where: 'jti.idx',
        message: `jti.idx does not hold entry ${index}'s jti`,
      });
    }
  };

  const fd = openSync(join(dir, LEDGER_FILES.entries), 'r');
  const total = fstatSync(fd).size;
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
        checkEntry(check.count, entry, consumed);
        if (check.count % PROGRESS_EVERY === 0) options.onProgress?.(consumed, total);
      }
      carry = Buffer.from(data.subarray(at));
      if (got === 0) break;
    }
    if (carry.length > 0) {
      report({
        code: 'ECT_LEDGER_CORRUPT',
        index: check.count,
        where: 'entries',
        message: `the entries file ends inside entry ${check.count}`,
      });
    }
  } finally {
    closeSync(fd);
  }
  options.onProgress?.(total, total);

  const count = check.count;
  levels.forEach((stored, level) => {
    if (stored.length > hashesAtLevel(count, level) * HASH_SIZE) {
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
  return check.finish(head);
}

/**
 * A ledger as its C2SP read paths show it: what {@link auditTiledLedger} reads. A PostgreSQL
 * store and a ledger server (through `RemoteLedger`) both are one.
 */
export interface TiledLedgerSource {
  /** The latest signed checkpoint (note text); `undefined` when there is none. */
  checkpointNote(): Promise<string | undefined>;
  /**
   * The hash tile or entry bundle `tile` (its width that of the tree being read); `undefined`
   * when the ledger does not have it. Failing to reach the ledger throws.
   */
  readTile(tile: TileId): Promise<Buffer | undefined>;
}

/** Options of {@link auditTiledLedger}. */
export interface AuditTiledLedgerOptions {
  /** The public note key to trust (`name+hash+base64`). */
  verifierKey: string;
  /** Called every 65,536 entries and at the end, with entries checked and entries in all. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Audits a ledger through its C2SP read paths, reading every entry bundle and hash tile of the
 * tree its checkpoint commits, once each: the tree is recomputed from the entries and compared
 * with every hash tile (tree levels 0, 8, 16, …), and its root with the signed checkpoint. Memory
 * stays at one bundle and one tile per tile level.
 *
 * @example const audit = await auditTiledLedger(await RemoteLedger.open(url), { verifierKey });
 */
export async function auditTiledLedger(
  source: TiledLedgerSource,
  options: AuditTiledLedgerOptions,
): Promise<LedgerAudit> {
  const early: LedgerProblem[] = [];
  const head = openHead(
    await source.checkpointNote(),
    () => options.verifierKey,
    (p) => early.push(p),
  );
  const n = head?.size ?? 0;
  const tileOf = (tileLevel: number, index: number): TileId => ({
    level: tileLevel,
    index,
    width: Math.min(TILE_WIDTH, hashesAtLevel(n, tileLevel * TILE_HEIGHT) - index * TILE_WIDTH),
  });
  // The one tile per tile level that the bundle being checked completes nodes in.
  const current = new Map<number, { index: number; data: Buffer | undefined }>();
  const check = new TreeCheck(
    head?.size,
    (level, index) => {
      if (level % TILE_HEIGHT !== 0) return null;
      const held = current.get(level / TILE_HEIGHT);
      // A tile that could not be read was reported as a whole when it was fetched.
      if (held === undefined || held.index !== Math.floor(index / TILE_WIDTH) || held.data === undefined) return null;
      const at = (index % TILE_WIDTH) * HASH_SIZE;
      return held.data.subarray(at, at + HASH_SIZE);
    },
    (level, index) => tilePath(tileOf(level / TILE_HEIGHT, Math.floor(index / TILE_WIDTH))),
  );
  for (const p of early) check.report(p);
  const { report } = check;

  const readTile = async (tile: TileId): Promise<Buffer | undefined> => {
    try {
      return await source.readTile(tile);
    } catch (error) {
      // A tile or bundle the ledger serves but that does not parse is the ledger's fault.
      if (!isEctError(error, 'ECT_LEDGER_CORRUPT')) throw error;
      return undefined;
    }
  };
  const fetchTiles = async (bundle: number): Promise<void> => {
    for (let tileLevel = 0; hashesAtLevel(n, tileLevel * TILE_HEIGHT) > 0; tileLevel++) {
      const index = Math.floor(bundle / TILE_WIDTH ** tileLevel);
      if (index * TILE_WIDTH >= hashesAtLevel(n, tileLevel * TILE_HEIGHT) || current.get(tileLevel)?.index === index)
        continue;
      const tile = tileOf(tileLevel, index);
      let data = await readTile(tile);
      if (data === undefined || data.length !== tile.width * HASH_SIZE) {
        report({
          code: 'ECT_LEDGER_CORRUPT',
          index: index * TILE_WIDTH * 2 ** (tileLevel * TILE_HEIGHT),
          where: tilePath(tile),
          message:
            data === undefined
              ? `hash tile ${tilePath(tile)} is missing`
              : `hash tile ${tilePath(tile)} is ${data.length} bytes, not ${tile.width * HASH_SIZE}`,
        });
        data = undefined;
      }
      current.set(tileLevel, { index, data });
    }
  };

  const bundles = Math.ceil(n / TILE_WIDTH);
  const bundleOf = (b: number): TileId => ({
    level: 'entries',
    index: b,
    width: Math.min(TILE_WIDTH, n - b * TILE_WIDTH),
  });
  // The next bundle is fetched while this one is hashed; a fetch left behind when a failure ends
  // the audit early must not become an unhandled rejection.
  const prefetch = (b: number): Promise<Buffer | undefined> => {
    const promise = readTile(bundleOf(b));
    promise.catch(() => undefined);
    return promise;
  };
  let next = bundles > 0 ? prefetch(0) : undefined;
  for (let b = 0; b < bundles && next !== undefined; b++) {
    const bundle = bundleOf(b);
    const where = tilePath(bundle);
    const data = await next;
    next = b + 1 < bundles ? prefetch(b + 1) : undefined;
    let entries: Buffer[];
    try {
      if (data === undefined) throw new EctLedgerError('ECT_LEDGER_CORRUPT', `entry bundle ${where} is missing`);
      entries = parseEntryBundle(data);
    } catch (error) {
      if (!isEctError(error)) throw error;
      report({ code: 'ECT_LEDGER_CORRUPT', index: b * TILE_WIDTH, where, message: error.message });
      break;
    }
    await fetchTiles(b);
    for (const entry of entries.slice(0, bundle.width)) check.add(entry, where);
    if (entries.length !== bundle.width) {
      report({
        code: 'ECT_LEDGER_CORRUPT',
        index: b * TILE_WIDTH + Math.min(entries.length, bundle.width),
        where,
        message: `entry bundle ${where} holds ${entries.length} entries, not ${bundle.width}`,
      });
      if (entries.length < bundle.width) break;
    }
    if (check.count % PROGRESS_EVERY === 0) options.onProgress?.(check.count, n);
  }
  options.onProgress?.(check.count, n);
  return check.finish(head);
}

function fold(pending: readonly (Buffer | undefined)[]): Buffer {
  let root: Buffer | undefined;
  for (const node of pending) if (node !== undefined) root = root === undefined ? node : nodeHash(node, root);
  return root ?? emptyRoot();
}

function noteVerifier(key: () => string): NoteVerifier {
  try {
    return NoteVerifier.fromString(key());
  } catch (error) {
    throw error instanceof EctLedgerError
      ? error
      : new EctLedgerError('ECT_LEDGER_NOTE_INVALID', `no usable note key: ${String(error)}`);
  }
}

/**
 * The checkpoint, its signature checked; when the signature fails, what its unsigned text claims,
 * so that the entries are still checked.
 */
function openHead(
  note: string | undefined,
  verifierKey: () => string,
  report: (p: LedgerProblem) => void,
): Checkpoint | undefined {
  if (note === undefined) {
    report({ code: 'ECT_LEDGER_CORRUPT', where: 'checkpoint', message: 'no checkpoint' });
    return undefined;
  }
  const verifier = noteVerifier(verifierKey);
  try {
    return openCheckpoint(note, verifier, verifier.name);
  } catch (error) {
    report({
      code: 'ECT_LEDGER_NOTE_INVALID',
      where: 'checkpoint',
      message: `checkpoint: ${(error as Error).message}`,
    });
    try {
      return parseCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1));
    } catch {
      return undefined;
    }
  }
}
