/**
 * The embedded ledger: a transparency log kept in append-only files in one directory
 * (default `$ECT_HOME/ledger`).
 *
 * Layout (all appended to, never rewritten, except the checkpoint which is replaced atomically):
 * - `entries`: the entries in C2SP entry-bundle encoding (uint16 length ‖ token bytes), so a
 *   bundle `tile/entries/N` is one contiguous byte range;
 * - `entries.idx`: the end offset of each entry in `entries`, uint64 big-endian;
 * - `jti.idx`: 16 bytes of SHA-256(jti) per entry, for lookups and the duplicate rule;
 * - `tree/NN`: the hashes of tree level NN (00 = leaf hashes), 32 bytes each. Levels 0, 8, 16, …
 *   are the C2SP hash tiles laid end to end; the levels between are kept too so that a proof reads
 *   one stored hash per node (O(log n) reads, no hashing up inside tiles);
 * - `checkpoint`: the latest C2SP signed checkpoint; `note.key` (mode 0600) and `note.pub`: the
 *   Ed25519 note key as Go's sumdb/note strings; `synced`: how many entries the derived files
 *   (`entries.idx`, `jti.idx`, `tree/`) are known durable for.
 *
 * Durability policy: a batch is appended to `entries` and that file is fsynced; then the new
 * checkpoint is written to a temporary file, fsynced, renamed over `checkpoint` and the directory
 * fsynced. `append` resolves after that: the checkpoint is the commit record. The other files are
 * derived from the entries, so they are written per batch but fsynced only every 16,384 entries
 * and on close, after which `synced` records up to which entry they are durable. On open, the
 * derived files are trusted up to `synced` and rebuilt from the entries past it; anything past the
 * checkpoint's size (a batch torn by a crash, never acknowledged) is cut off, its bytes first
 * copied to `recovered/` so nothing is silently destroyed; then the root of the stored tree is
 * recomputed and checked against the checkpoint, and the leaf hashes of the last partial entry
 * bundle are recomputed from the entries.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { EctLedgerError } from '../base/errors.js';
import type { DagNode, DagStore } from '../dag/types.js';
import { openCheckpoint, signCheckpoint, type Checkpoint } from './checkpoint.js';
import { claimsOf, tokenOfNode, JTI_KEY_SIZE, jtiKeyOf, toLedgerEntry, type LedgerEntry } from './entry.js';
import { grow } from './merkle/append.js';
import { emptyRoot, HASH_SIZE, leafHash } from './merkle/hash.js';
import { consistencyProof, inclusionProof } from './merkle/proofs.js';
import { treeRoot, type NodeReader } from './merkle/range.js';
import { releaseLockFile, takeLockFile } from './lock-file.js';
import { NoteSigner, NoteVerifier } from './note.js';
import type { Receipt } from './receipt.js';
import { hashesAtLevel, parseTilePath, TILE_HEIGHT, TILE_WIDTH } from './tiles.js';

/** Options of {@link FileLedger.open}. */
export interface FileLedgerOptions {
  /** Directory of the ledger. Default `$ECT_HOME/ledger` (`ECT_HOME` defaults to `.ect`). */
  dir?: string;
  /** Origin (log name) for a new ledger; checked against an existing one. Default `ect-ledger.local/<random>`. */
  origin?: string;
  /**
   * Open an existing ledger for reading only, without the writer lock, e.g. while `ect ledger
   * serve` appends to it: the reader sees the log as of its latest checkpoint at opening.
   */
  readOnly?: boolean;
  /**
   * A closed earlier instance of this ledger, whose jti index is taken over when the ledger still
   * begins with everything that instance held (the stored tree at its size has its root): opening
   * then indexes only the entries appended since, instead of reading the whole jti index (about
   * 1.3 s at a million entries, in the calling thread). For a writer that shares the directory
   * with other processes and so closes and reopens it at every turn of the lock.
   */
  resume?: FileLedger;
}

/** What {@link FileLedger.append} acknowledges. */
export interface AppendResult {
  /** Index of each appended token, in order. */
  indexes: number[];
  /** The signed checkpoint that covers them. */
  checkpoint: string;
}

/** File names inside a ledger directory. */
export const LEDGER_FILES = {
  entries: 'entries',
  offsets: 'entries.idx',
  jti: 'jti.idx',
  tree: 'tree',
  checkpoint: 'checkpoint',
  key: 'note.key',
  pub: 'note.pub',
  lock: 'lock',
  recovered: 'recovered',
  synced: 'synced',
} as const;

/**
 * The default ledger directory: `$ECT_HOME/ledger`.
 *
 * @example defaultLedgerDir() // '/srv/app/.ect/ledger' when ECT_HOME is unset and the cwd is /srv/app
 */
export function defaultLedgerDir(): string {
  return resolve(process.env.ECT_HOME ?? '.ect', 'ledger');
}

/**
 * Path of the file of tree level `level`.
 *
 * @example levelFile('ledger', 8) // 'ledger/tree/08': the level-1 hash tiles end to end
 */
export function levelFile(dir: string, level: number): string {
  return join(dir, LEDGER_FILES.tree, String(level).padStart(2, '0'));
}

/** Entries appended between syncs of the derived files; bounds the rebuild on open. */
const DERIVED_SYNC_INTERVAL = 16_384;

const corrupt = (message: string, index?: number): EctLedgerError =>
  new EctLedgerError('ECT_LEDGER_CORRUPT', message, index === undefined ? {} : { index });

function fileSize(fd: number): number {
  return fstatSync(fd).size;
}

function pread(fd: number, length: number, position: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw corrupt(`short read at byte ${position + done}`);
    done += n;
  }
  return out;
}

function writeAll(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A transparency log of tokens in files; also a {@link DagStore}, so the DAG rules look
 * predecessors up in it. One writer per directory (a `lock` file holds the writer's pid).
 *
 * @example
 * const ledger = await FileLedger.open({ dir: '/var/lib/ect/ledger' });
 * const { indexes } = await ledger.append([token]);
 * const receipt = ledger.receipt(indexes[0]);
 */
export class FileLedger implements DagStore {
  readonly dir: string;
  /** The key checkpoints are checked with; its name is the origin. */
  readonly verifier: NoteVerifier;
  readonly #signer: NoteSigner | undefined;
  #size: number;
  #checkpoint: string;
  #root: Buffer;
  readonly #fds: { entries: number; offsets: number; jti: number; levels: number[] };
  #entriesEnd: number;
  /** Last hash of each level: the left sibling of the next node when that level's count is odd. */
  readonly #lastAtLevel: Buffer[] = [];
  #byJti = new Map<string, number | number[]>();
  #queue: Promise<unknown> = Promise.resolve();
  #broken: Error | undefined;
  /** Entries up to which the derived files are known durable. */
  #synced = 0;
  #closed = false;

  readonly #readOnly: boolean;

  private constructor(
    dir: string,
    key: NoteSigner | NoteVerifier,
    head: { note: string; checkpoint: Checkpoint },
    readOnly: boolean,
  ) {
    this.dir = dir;
    this.#signer = key instanceof NoteSigner ? key : undefined;
    this.verifier = key instanceof NoteSigner ? key.verifier : key;
    this.#readOnly = readOnly;
    this.#checkpoint = head.note;
    this.#size = head.checkpoint.size;
    this.#root = head.checkpoint.root;
    const open = (name: string) => openSync(join(dir, name), readOnly ? 'r' : 'a+');
    this.#fds = {
      entries: open(LEDGER_FILES.entries),
      offsets: open(LEDGER_FILES.offsets),
      jti: open(LEDGER_FILES.jti),
      levels: [],
    };
    this.#entriesEnd = 0;
  }

  /**
   * Opens (creating if needed) the ledger in `options.dir`, recovering from a crash: see the
   * module comment. Throws `ECT_LEDGER_CORRUPT` when acknowledged data is missing or does not
   * match the signed checkpoint, `ECT_LEDGER_LOCKED` when a live process holds it.
   *
   * @example const ledger = await FileLedger.open({ dir: 'ledger', origin: 'example.com/ledger' });
   */
  static async open(options: FileLedgerOptions = {}): Promise<FileLedger> {
    return FileLedger.openSync(options);
  }

  /** {@link FileLedger.open}, synchronously. */
  static openSync(options: FileLedgerOptions = {}): FileLedger {
    const dir = resolve(options.dir ?? defaultLedgerDir());
    if (options.readOnly) return FileLedger.#openReadOnly(dir);
    mkdirSync(join(dir, LEDGER_FILES.tree), { recursive: true });
    takeLockFile(join(dir, LEDGER_FILES.lock));
    try {
      const signer = loadOrCreateKey(dir, options.origin);
      const note = loadOrCreateCheckpoint(dir, signer);
      const checkpoint = openCheckpoint(note, signer.verifier, signer.name);
      const ledger = new FileLedger(dir, signer, { note, checkpoint }, false);
      ledger.#recover(options.resume);
      return ledger;
    } catch (error) {
      releaseLockFile(join(dir, LEDGER_FILES.lock));
      throw error;
    }
  }

  // A reader needs only the public key (note.pub): note.key is the writer's, mode 0600.
  static #openReadOnly(dir: string): FileLedger {
    const keyPath = join(dir, LEDGER_FILES.key);
    const pubPath = join(dir, LEDGER_FILES.pub);
    const checkpointPath = join(dir, LEDGER_FILES.checkpoint);
    if (!(existsSync(pubPath) || existsSync(keyPath)) || !existsSync(checkpointPath)) {
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no ledger at ${dir}`);
    }
    const verifier = existsSync(pubPath)
      ? NoteVerifier.fromString(readFileSync(pubPath, 'utf8').trim())
      : NoteSigner.fromString(readFileSync(keyPath, 'utf8')).verifier;
    const note = readFileSync(checkpointPath, 'utf8');
    const ledger = new FileLedger(
      dir,
      verifier,
      { note, checkpoint: openCheckpoint(note, verifier, verifier.name) },
      true,
    );
    try {
      ledger.#checkCommitted();
    } catch (error) {
      ledger.close();
      throw error;
    }
    return ledger;
  }

  /** Read-only open: the files hold everything the checkpoint commits, with its root. */
  #checkCommitted(): void {
    const n = this.#size;
    const short = () =>
      corrupt(
        'the files do not hold what the checkpoint commits (a crashed writer?): open the ledger for writing once',
      );
    if (fileSize(this.#fds.offsets) < n * 8 || fileSize(this.#fds.jti) < n * JTI_KEY_SIZE) throw short();
    for (let level = 0; hashesAtLevel(n, level) > 0; level++) {
      if (
        !existsSync(levelFile(this.dir, level)) ||
        fileSize(this.#levelFd(level)) < hashesAtLevel(n, level) * HASH_SIZE
      )
        throw short();
    }
    this.#entriesEnd = n === 0 ? 0 : this.#offset(n - 1);
    if (fileSize(this.#fds.entries) < this.#entriesEnd) throw short();
    if (!treeRoot(this.readNode, n).equals(this.#root)) {
      throw corrupt(`the stored tree of size ${n} does not have the checkpoint's root`);
    }
    this.#loadJtiIndex();
  }

  #loadJtiIndex(resume?: FileLedger): void {
    const n = this.#size;
    const from = this.#resumeIndex(resume);
    const jtis = n === from ? Buffer.alloc(0) : pread(this.#fds.jti, (n - from) * JTI_KEY_SIZE, from * JTI_KEY_SIZE);
    for (let index = from; index < n; index++) {
      const at = (index - from) * JTI_KEY_SIZE;
      this.#index(jtis.toString('latin1', at, at + JTI_KEY_SIZE), index);
    }
  }

  /**
   * Takes over the jti index of a closed earlier instance of this ledger when the stored tree
   * still holds what it held (its root at its size: the entries, hence their jtis, are the same)
   * and returns the number of entries it covers; 0 when it cannot be used.
   */
  #resumeIndex(resume: FileLedger | undefined): number {
    if (resume === undefined || resume === this || resume.dir !== this.dir) return 0;
    // Open, it may still be in use; broken, a failed write left it unsure.
    if (!resume.#closed || resume.#broken !== undefined) return 0;
    const size = resume.#size;
    if (size === 0 || size > this.#size || !treeRoot(this.readNode, size).equals(resume.#root)) return 0;
    this.#byJti = resume.#byJti;
    // The earlier instance gives its index up: it is closed, and two ledgers must not share one.
    resume.#byJti = new Map();
    resume.#size = 0;
    return size;
  }

  /** Number of committed entries. */
  get size(): number {
    return this.#size;
  }

  /** The latest signed checkpoint (note text). */
  get checkpoint(): string {
    return this.#checkpoint;
  }

  /** Root hash of the committed tree. */
  get root(): Buffer {
    return Buffer.from(this.#root);
  }

  /** The public note key, `name+hash+base64`: all a receipt's checker needs. */
  get verifierKey(): string {
    return this.verifier.toString();
  }

  /** The note signing key; `ECT_LEDGER_LOCKED` for a ledger opened read-only, which does not load it. */
  get signer(): NoteSigner {
    if (this.#signer === undefined) throw new EctLedgerError('ECT_LEDGER_LOCKED', 'ledger was opened read-only');
    return this.#signer;
  }

  /**
   * Appends a batch of tokens atomically and resolves once they are durable and covered by a new
   * signed checkpoint. Refuses the whole batch when a token is not a compact token
   * (`ECT_LEDGER_ENTRY_INVALID`) or repeats a stored or batched `(wid, jti)` (`ECT_LEDGER_DUPLICATE`).
   *
   * @example const { indexes, checkpoint } = await ledger.append(tokens);
   */
  append(tokens: readonly string[]): Promise<AppendResult> {
    const run = this.#queue.then(() => this.#appendAsync(tokens));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * {@link FileLedger.append}, synchronously: the fsyncs block the thread (31 ms median per batch
   * on this machine's busy disk, where `append` leaves the event loop free meanwhile).
   */
  appendSync(tokens: readonly string[]): AppendResult {
    this.#usable();
    const entries = this.#admit(tokens);
    if (entries.length === 0) return { indexes: [], checkpoint: this.#checkpoint };
    try {
      const staged = this.#stage(entries);
      fdatasyncSync(this.#fds.entries);
      const signed = this.#sign(staged.size);
      writeCheckpoint(this.dir, signed.note);
      this.#commit(entries, staged, signed);
      if (this.#size - this.#synced >= DERIVED_SYNC_INTERVAL) this.#syncDerived();
    } catch (error) {
      throw this.#break(error);
    }
    return this.#appended(entries.length);
  }

  async #appendAsync(tokens: readonly string[]): Promise<AppendResult> {
    this.#usable();
    const entries = this.#admit(tokens);
    if (entries.length === 0) return { indexes: [], checkpoint: this.#checkpoint };
    try {
      const staged = this.#stage(entries);
      await promisify(fdatasync)(this.#fds.entries);
      const signed = this.#sign(staged.size);
      await writeCheckpointAsync(this.dir, signed.note);
      this.#commit(entries, staged, signed);
      if (this.#size - this.#synced >= DERIVED_SYNC_INTERVAL) await this.#syncDerivedAsync();
    } catch (error) {
      throw this.#break(error);
    }
    return this.#appended(entries.length);
  }

  /** State in memory may be ahead of the files; reopening recovers from the checkpoint. */
  #break(error: unknown): unknown {
    this.#broken = error instanceof Error ? error : new Error(String(error));
    return error;
  }

  #appended(count: number): AppendResult {
    const first = this.#size - count;
    return { indexes: Array.from({ length: count }, (_, i) => first + i), checkpoint: this.#checkpoint };
  }

  /**
   * The token at `index`.
   *
   * @example ledger.entry(0)
   */
  entry(index: number): string {
    this.#checkIndex(index, this.#size);
    const start = index === 0 ? 0 : this.#offset(index - 1);
    const end = this.#offset(index);
    return pread(this.#fds.entries, end - start - 2, start + 2).toString('latin1');
  }

  /**
   * Indexes of the entries whose `jti` is `jti` (one per workflow at most).
   *
   * @example ledger.indexesOf(claims.jti)
   */
  indexesOf(jti: string): number[] {
    return this.#indexesOf(jti, jtiKeyOf(jti));
  }

  #indexesOf(jti: string, key: string): number[] {
    const found = this.#byJti.get(key);
    const candidates = found === undefined ? [] : typeof found === 'number' ? [found] : found;
    // 16 bytes of SHA-256 make a collision unlikely, not impossible: confirm on the entry itself.
    return candidates.filter((index) => claimsOf(this.entry(index)).jti === jti);
  }

  /** {@link DagStore.get}: the claims of the stored tokens with this `jti`. */
  get(jti: string): readonly DagNode[] {
    return this.indexesOf(jti).map((index) => claimsOf(this.entry(index)));
  }

  /**
   * {@link DagStore.add}: the ledger stores signed tokens, not bare claims, so `node` must carry
   * the compact `token` whose claims it is (a {@link VerifiedEct}-like object); it is appended.
   *
   * @example await ledger.add({ ...verified.claims, token: verified.token });
   */
  async add(node: DagNode & { token?: string }): Promise<void> {
    await this.append([tokenOfNode(node)]);
  }

  /** Reads the stored hash of a perfect subtree (committed part only). */
  readonly readNode: NodeReader = (level, index) => {
    const fd = this.#levelFd(level);
    return pread(fd, HASH_SIZE, index * HASH_SIZE);
  };

  /**
   * Root of the tree of the first `size` entries (default: the committed tree).
   *
   * @example ledger.rootAt(10).toString('base64')
   */
  rootAt(size: number = this.#size): Buffer {
    this.#checkSize(size);
    return treeRoot(this.readNode, size);
  }

  /**
   * Inclusion proof of entry `index` in the tree of `size` entries.
   *
   * @example ledger.inclusionProof(3)
   */
  inclusionProof(index: number, size: number = this.#size): Buffer[] {
    this.#checkSize(size);
    this.#checkIndex(index, size);
    return inclusionProof(this.readNode, index, size);
  }

  /**
   * Consistency proof from the tree of `oldSize` entries to the tree of `newSize`.
   *
   * @example ledger.consistencyProof(10, ledger.size)
   */
  consistencyProof(oldSize: number, newSize: number = this.#size): Buffer[] {
    this.#checkSize(newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize) {
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no tree of size ${oldSize} before size ${newSize}`);
    }
    return consistencyProof(this.readNode, oldSize, newSize);
  }

  /**
   * The receipt of entry `index` against the latest checkpoint.
   *
   * @example JSON.stringify(ledger.receipt(0))
   */
  receipt(index: number): Receipt {
    return {
      token: this.entry(index),
      leaf_index: index,
      inclusion_proof: this.inclusionProof(index).map((h) => h.toString('base64')),
      checkpoint: this.#checkpoint,
    };
  }

  /**
   * A C2SP read path of the committed tree: `checkpoint`, `tile/<L>/<N>[.p/<W>]` or
   * `tile/entries/<N>[.p/<W>]`; `undefined` when the tree has no such resource.
   *
   * @example ledger.resource('tile/0/000.p/5')
   */
  resource(path: string): Buffer | undefined {
    if (path === 'checkpoint') return Buffer.from(this.#checkpoint, 'utf8');
    const tile = parseTilePath(path);
    if (tile === undefined) return undefined;
    const size = this.#size;
    const count = tile.level === 'entries' ? size : hashesAtLevel(size, tile.level * TILE_HEIGHT);
    const first = tile.index * TILE_WIDTH;
    const available = Math.min(TILE_WIDTH, count - first);
    // A full tile is served for its full path only; a partial tile for its exact width.
    if (available <= 0 || available !== tile.width) return undefined;
    if (tile.level === 'entries') {
      const start = first === 0 ? 0 : this.#offset(first - 1);
      return pread(this.#fds.entries, this.#offset(first + tile.width - 1) - start, start);
    }
    return pread(this.#levelFd(tile.level * TILE_HEIGHT), tile.width * HASH_SIZE, first * HASH_SIZE);
  }

  /** Releases the files and the lock. */
  close(): void {
    if (this.#closed) return;
    if (!this.#readOnly && this.#broken === undefined && this.#size > this.#synced) this.#syncDerived();
    this.#closed = true;
    for (const fd of [this.#fds.entries, this.#fds.offsets, this.#fds.jti, ...this.#fds.levels]) {
      if (fd !== undefined) closeSync(fd);
    }
    if (!this.#readOnly) releaseLockFile(join(this.dir, LEDGER_FILES.lock));
  }

  #usable(): void {
    if (this.#closed) throw new EctLedgerError('ECT_LEDGER_LOCKED', 'ledger is closed');
    if (this.#readOnly) throw new EctLedgerError('ECT_LEDGER_LOCKED', 'ledger was opened read-only');
    if (this.#broken !== undefined) {
      throw corrupt(`an earlier write failed (${this.#broken.message}); reopen the ledger to recover`);
    }
  }

  #checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no entry ${index} in a tree of size ${size}`);
    }
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.#size) {
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no tree of size ${size}; the ledger has ${this.#size} entries`);
    }
  }

  #offset(index: number): number {
    return Number(pread(this.#fds.offsets, 8, index * 8).readBigUInt64BE(0));
  }

  #levelFd(level: number): number {
    let fd = this.#fds.levels[level];
    if (fd === undefined) {
      fd = openSync(levelFile(this.dir, level), this.#readOnly ? 'r' : 'a+');
      this.#fds.levels[level] = fd;
    }
    return fd;
  }

  #admit(tokens: readonly string[]): LedgerEntry[] {
    const entries: LedgerEntry[] = [];
    const batch = new Map<string, LedgerEntry[]>();
    tokens.forEach((token, position) => {
      let entry: LedgerEntry;
      try {
        entry = toLedgerEntry(token);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', `token ${position} of the batch: ${message}`, {
          cause: error,
        });
      }
      const sameJti = batch.get(entry.jtiKey) ?? [];
      const stored = this.#indexesOf(entry.jti, entry.jtiKey);
      const clash =
        sameJti.some((other) => other.jti === entry.jti && other.wid === entry.wid) ||
        stored.some((index) => claimsOf(this.entry(index)).wid === entry.wid);
      if (clash) {
        throw new EctLedgerError(
          'ECT_LEDGER_DUPLICATE',
          `token ${position} of the batch: jti ${entry.jti} is already in the ledger for workflow ${entry.wid ?? '(none)'}`,
          stored.length > 0 ? { index: stored[0] } : {},
        );
      }
      sameJti.push(entry);
      batch.set(entry.jtiKey, sameJti);
      entries.push(entry);
    });
    return entries;
  }

  /**
   * Writes a batch's entries and derived files (not synced: only the entries are, per batch, by the
   * caller; the others are rebuilt on open past the last `synced` mark, see the module comment).
   */
  #stage(entries: readonly LedgerEntry[]): { first: number; size: number; end: number } {
    const first = this.#size;
    const records: Buffer[] = [];
    const ends: number[] = [];
    let end = this.#entriesEnd;
    for (const entry of entries) {
      const prefix = Buffer.allocUnsafe(2);
      prefix.writeUInt16BE(entry.bytes.length);
      records.push(prefix, entry.bytes);
      end += 2 + entry.bytes.length;
      ends.push(end);
    }
    writeAll(this.#fds.entries, Buffer.concat(records));
    this.#appendDerived(
      first,
      entries.map((e) => e.bytes),
      entries.map((e) => e.jtiKey),
      ends,
    );
    return { first, size: first + entries.length, end };
  }

  /** The signed checkpoint of the tree of `size` entries (its nodes already written). */
  #sign(size: number): { note: string; root: Buffer } {
    const root = treeRoot(this.readNode, size);
    return { note: signCheckpoint({ origin: this.signer.name, size, root }, this.signer), root };
  }

  /** Once the checkpoint is durable: the batch is committed, and visible to readers. */
  #commit(
    entries: readonly LedgerEntry[],
    staged: { first: number; size: number; end: number },
    signed: { note: string; root: Buffer },
  ): void {
    this.#entriesEnd = staged.end;
    this.#size = staged.size;
    this.#root = signed.root;
    this.#checkpoint = signed.note;
    entries.forEach((entry, i) => {
      this.#index(entry.jtiKey, staged.first + i);
    });
  }

  /** Appends the offsets, jti keys and tree nodes of entries `first…` (not synced). */
  #appendDerived(first: number, bytes: readonly Buffer[], jtiKeys: readonly string[], ends: readonly number[]): void {
    const offsets = Buffer.allocUnsafe(bytes.length * 8);
    const jtis = Buffer.allocUnsafe(bytes.length * JTI_KEY_SIZE);
    ends.forEach((end, i) => {
      offsets.writeBigUInt64BE(BigInt(end), i * 8);
      jtis.write(jtiKeys[i] as string, i * JTI_KEY_SIZE, 'latin1');
    });
    const newNodes = grow(first, bytes.map(leafHash), (level) => this.#lastAtLevel[level]);
    writeAll(this.#fds.offsets, offsets);
    writeAll(this.#fds.jti, jtis);
    newNodes.forEach((nodes, level) => {
      writeAll(this.#levelFd(level), Buffer.concat(nodes));
      this.#lastAtLevel[level] = nodes[nodes.length - 1] as Buffer;
    });
  }

  /** Makes the derived files durable up to the current size and records it in `synced`. */
  #syncDerived(): void {
    for (const fd of [this.#fds.offsets, this.#fds.jti, ...this.#fds.levels]) if (fd !== undefined) fdatasyncSync(fd);
    const path = join(this.dir, LEDGER_FILES.synced);
    rmSync(`${path}.tmp`, { force: true });
    writeDurably(`${path}.tmp`, `${this.#size}\n`, 0o644);
    renameSync(`${path}.tmp`, path);
    syncDir(this.dir);
    this.#synced = this.#size;
  }

  /** {@link FileLedger.#syncDerived} with its fsyncs on libuv's threads (appends are queued meanwhile). */
  async #syncDerivedAsync(): Promise<void> {
    const size = this.#size;
    const fds = [this.#fds.offsets, this.#fds.jti, ...this.#fds.levels].filter((fd) => fd !== undefined);
    await Promise.all(fds.map((fd) => promisify(fdatasync)(fd)));
    await replaceDurablyAsync(this.dir, LEDGER_FILES.synced, `${size}\n`);
    this.#synced = size;
  }

  #index(key: string, index: number): void {
    const found = this.#byJti.get(key);
    if (found === undefined) this.#byJti.set(key, index);
    else if (typeof found === 'number') this.#byJti.set(key, [found, index]);
    else found.push(index);
  }

  /**
   * Recovery on open (see the module comment): derived files are trusted up to the `synced` mark
   * and rebuilt from the entries past it; anything past the checkpoint is cut off.
   */
  #recover(resume?: FileLedger): void {
    const n = this.#size;
    const syncedPath = join(this.dir, LEDGER_FILES.synced);
    const synced = existsSync(syncedPath) ? Number(readFileSync(syncedPath, 'utf8').trim()) : 0;
    if (!Number.isSafeInteger(synced) || synced < 0 || synced > n) {
      throw corrupt(`the synced mark ${synced} is not inside the checkpoint's ${n} entries`);
    }
    const trust = (fd: number, length: number, what: string, index: number) => {
      const actual = fileSize(fd);
      if (actual < length) throw corrupt(`${what} is shorter than its synced mark`, index);
      if (actual > length) ftruncateSync(fd, length);
    };
    trust(this.#fds.offsets, synced * 8, 'entries.idx', Math.floor(fileSize(this.#fds.offsets) / 8));
    trust(this.#fds.jti, synced * JTI_KEY_SIZE, 'jti.idx', Math.floor(fileSize(this.#fds.jti) / JTI_KEY_SIZE));
    for (let level = 0; level < 64; level++) {
      const count = hashesAtLevel(synced, level);
      if (count === 0 && !existsSync(levelFile(this.dir, level))) break;
      trust(this.#levelFd(level), count * HASH_SIZE, `tree level ${level}`, count * 2 ** level);
      if (count > 0) this.#lastAtLevel[level] = Buffer.from(this.readNode(level, count - 1));
    }
    // Re-read the entries past the mark: the checkpoint commits n of them.
    const start = synced === 0 ? 0 : this.#offset(synced - 1);
    const length = fileSize(this.#fds.entries);
    if (length < start) throw corrupt(`entries file ends at byte ${length}, before synced byte ${start}`, synced);
    const tail = length > start ? pread(this.#fds.entries, length - start, start) : Buffer.alloc(0);
    const bytes: Buffer[] = [];
    const jtiKeys: string[] = [];
    const ends: number[] = [];
    let at = 0;
    while (bytes.length < n - synced) {
      const index = synced + bytes.length;
      if (at + 2 > tail.length || at + 2 + tail.readUInt16BE(at) > tail.length) {
        throw corrupt(`entry ${index}, which the checkpoint commits, is missing or cut short`, index);
      }
      const entry = tail.subarray(at + 2, at + 2 + tail.readUInt16BE(at));
      at += 2 + entry.length;
      try {
        jtiKeys.push(jtiKeyOf(claimsOf(entry.toString('latin1')).jti));
      } catch (cause) {
        throw new EctLedgerError('ECT_LEDGER_CORRUPT', `entry ${index} is not a token`, { index, cause });
      }
      bytes.push(entry);
      ends.push(start + at);
    }
    const end = start + at;
    if (length > end) {
      this.#saveTail(end, length, n);
      ftruncateSync(this.#fds.entries, end);
      fsyncSync(this.#fds.entries);
    }
    this.#entriesEnd = end;
    if (bytes.length > 0) this.#appendDerived(synced, bytes, jtiKeys, ends);
    // Spot check of the trusted part: the entries of the last partial bundle against their stored
    // leaf hashes (auditLedger checks the whole log).
    for (let index = n - (n % TILE_WIDTH); index < synced; index++) {
      if (!leafHash(Buffer.from(this.entry(index), 'latin1')).equals(this.readNode(0, index))) {
        throw corrupt(`entry ${index} does not match its stored leaf hash`, index);
      }
    }
    if (!treeRoot(this.readNode, n).equals(this.#root)) {
      throw corrupt(`the stored tree of size ${n} does not have the checkpoint's root`);
    }
    this.#synced = synced;
    if (n > synced) this.#syncDerived();
    this.#loadJtiIndex(resume);
  }

  #saveTail(from: number, to: number, index: number): void {
    const dir = join(this.dir, LEDGER_FILES.recovered);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `entries-from-${index}-${Date.now()}.bin`);
    writeFileSync(path, pread(this.#fds.entries, to - from, from));
    const fd = openSync(path, 'r');
    fsyncSync(fd);
    closeSync(fd);
    syncDir(dir);
  }
}

function loadOrCreateKey(dir: string, origin: string | undefined): NoteSigner {
  const keyPath = join(dir, LEDGER_FILES.key);
  if (existsSync(keyPath)) {
    const signer = NoteSigner.fromString(readFileSync(keyPath, 'utf8'));
    if (origin !== undefined && origin !== signer.name) {
      throw new EctLedgerError('ECT_LEDGER_CORRUPT', `ledger ${dir} has origin ${signer.name}, not ${origin}`);
    }
    return signer;
  }
  if (existsSync(join(dir, LEDGER_FILES.checkpoint))) throw corrupt(`ledger ${dir} has a checkpoint but no note.key`);
  const signer = NoteSigner.generate(origin ?? `ect-ledger.local/${randomBytes(4).toString('hex')}`);
  writeDurably(keyPath, `${signer.toString()}\n`, 0o600);
  writeDurably(join(dir, LEDGER_FILES.pub), `${signer.verifier.toString()}\n`, 0o644);
  syncDir(dir);
  return signer;
}

function loadOrCreateCheckpoint(dir: string, signer: NoteSigner): string {
  const path = join(dir, LEDGER_FILES.checkpoint);
  if (existsSync(path)) return readFileSync(path, 'utf8');
  const hasEntries =
    existsSync(join(dir, LEDGER_FILES.offsets)) && readFileSync(join(dir, LEDGER_FILES.offsets)).length > 0;
  if (hasEntries) throw corrupt(`ledger ${dir} has entries but no checkpoint`);
  const note = signCheckpoint({ origin: signer.name, size: 0, root: emptyRoot() }, signer);
  writeCheckpoint(dir, note);
  return note;
}

function writeDurably(path: string, text: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeAll(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** {@link writeCheckpoint} with its fsyncs off the event loop. */
function writeCheckpointAsync(dir: string, note: string): Promise<void> {
  return replaceDurablyAsync(dir, LEDGER_FILES.checkpoint, note);
}

/** Replaces `dir/name` with `text` atomically and durably (temporary file, fsync, rename, directory fsync). */
async function replaceDurablyAsync(dir: string, name: string, text: string): Promise<void> {
  const path = join(dir, name);
  const temporary = `${path}.tmp`;
  await rm(temporary, { force: true });
  const file = await open(temporary, 'wx', 0o644);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  renameSync(temporary, path);
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

function writeCheckpoint(dir: string, note: string): void {
  const path = join(dir, LEDGER_FILES.checkpoint);
  const temporary = `${path}.tmp`;
  rmSync(temporary, { force: true });
  writeDurably(temporary, note, 0o644);
  renameSync(temporary, path);
  syncDir(dir);
}
