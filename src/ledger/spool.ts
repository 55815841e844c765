/**
 * The spool: a durable, size-bounded first-in first-out queue of tokens on local disk, between a
 * service and its ledger. Tokens are appended as they are signed and read back in the same order
 * by the forwarder, which moves the cursor only once the ledger has them; so a ledger outage, or a
 * restart of the service during one, loses nothing that was spooled.
 *
 * Layout of a spool directory:
 * - `NNNNNNNNNNNNNNNN.spool`: segments of one compact token per line, appended to and fsynced
 *   (`fdatasync`) per batch before {@link Spool.append} resolves; a new segment is started past
 *   `segmentBytes`, and a segment wholly forwarded is deleted;
 * - `cursor`: `{"segment": S, "offset": O}`, the first byte not yet in the ledger, replaced by
 *   rename. It is not fsynced: a cursor lost in a power cut moves back, and the ledger answers the
 *   tokens sent again as duplicates, which is not a loss;
 * - `rejected.jsonl`: tokens the ledger refused for good (an invalid signature, say), with the
 *   reason, kept so that nothing is silently destroyed;
 * - `lock`: the pid of the process that owns the spool (one at a time).
 *
 * A crash can tear the last line of the last segment; on open it is cut back to the last newline.
 */
import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { appendFile, open, type FileHandle, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { releaseLockFile, takeLockFile } from './lock-file.js';

/** Options of {@link Spool.open}. */
export interface SpoolOptions {
  /** Directory of this spool (created if missing). */
  dir: string;
  /** Bytes spooled at most (tokens not yet in the ledger); beyond, appends are refused. Default 256 MiB. */
  maxBytes?: number;
  /** Size from which a new segment file is started. Default 8 MiB. */
  segmentBytes?: number;
}

/** A position in the spool: segment number and byte offset in it. */
export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

/** Tokens read from the spool and where the next read starts once they are committed. */
export interface SpoolBatch {
  readonly tokens: string[];
  readonly end: SpoolPosition;
}

/** A token the ledger refused for good, with its reason. */
export interface RejectedToken {
  token: string;
  code: string;
  message: string;
}

const SEGMENT = /^(\d{16})\.spool$/;
const NEWLINE = 0x0a;

const segmentName = (segment: number): string => `${String(segment).padStart(16, '0')}.spool`;

/**
 * A spool directory, owned by this process while open.
 *
 * @example
 * const spool = Spool.open({ dir: '.ect/spool/orders' });
 * await spool.append([token]);
 * const { tokens, end } = await spool.read(256, 1 << 20);
 * await spool.commit(end); // once the ledger has `tokens`
 */
export class Spool {
  readonly dir: string;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  /** Segment numbers on disk, oldest first, with their sizes. */
  readonly #segments = new Map<number, number>();
  #cursor: SpoolPosition;
  #writer: { segment: number; handle: FileHandle } | undefined;
  #reader: { segment: number; handle: FileHandle } | undefined;
  /** Appends and commits run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(dir: string, options: SpoolOptions) {
    this.dir = dir;
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
    this.#cursor = { segment: 0, offset: 0 };
  }

  /**
   * Opens (or creates) a spool directory and takes its lock; `ECT_LEDGER_LOCKED` when a live
   * process owns it. Cuts a torn last line and drops segments the cursor has passed.
   *
   * @example const spool = Spool.open({ dir: '.ect/spool/orders', maxBytes: 64 << 20 });
   */
  static open(options: SpoolOptions): Spool {
    mkdirSync(options.dir, { recursive: true });
    takeLockFile(join(options.dir, 'lock'));
    const spool = new Spool(options.dir, options);
    try {
      spool.#recover();
    } catch (error) {
      releaseLockFile(join(options.dir, 'lock'));
      throw error;
    }
    return spool;
  }

  /** Bytes spooled and not yet committed (what counts against `maxBytes`). */
  get pendingBytes(): number {
    let bytes = 0;
    for (const [segment, size] of this.#segments) {
      if (segment > this.#cursor.segment) bytes += size;
      else if (segment === this.#cursor.segment) bytes += size - this.#cursor.offset;
    }
    return bytes;
  }

  /**
   * Appends tokens, durably, in order; resolves with how many were taken: a prefix of `tokens`,
   * shorter only when the spool would grow past `maxBytes`.
   *
   * @example const taken = await spool.append(tokens); if (taken < tokens.length) countDropped(tokens.length - taken);
   */
  append(tokens: readonly string[]): Promise<number> {
    return this.#serial(async () => {
      this.#usable();
      let room = this.#maxBytes - this.pendingBytes;
      let taken = 0;
      const lines: string[] = [];
      for (const token of tokens) {
        const bytes = Buffer.byteLength(token) + 1;
        if (bytes > room) break;
        room -= bytes;
        lines.push(token);
        taken++;
      }
      if (taken === 0) return 0;
      const data = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      const writer = await this.#writerFor(data.length);
      await writer.handle.write(data, 0, data.length, null);
      await writer.handle.datasync();
      this.#segments.set(writer.segment, (this.#segments.get(writer.segment) ?? 0) + data.length);
      return taken;
    });
  }

  /**
   * Reads up to `maxTokens` tokens (and about `maxBytes` bytes) from the cursor, without moving it.
   *
   * @example const { tokens, end } = await spool.read(256, 512 * 1024);
   */
  async read(maxTokens: number, maxBytes: number): Promise<SpoolBatch> {
    this.#usable();
    let { segment, offset } = this.#cursor;
    const tokens: string[] = [];
    let bytes = 0;
    while (tokens.length < maxTokens && bytes < maxBytes) {
      const size = this.#segments.get(segment);
      if (size === undefined || offset >= size) {
        const next = this.#nextSegment(segment);
        if (next === undefined) break;
        segment = next;
        offset = 0;
        continue;
      }
      const handle = await this.#readerFor(segment);
      const chunk = Buffer.allocUnsafe(Math.min(size - offset, Math.max(64 * 1024, maxBytes - bytes)));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      let start = 0;
      for (let i = 0; i < bytesRead && tokens.length < maxTokens; i++) {
        if (chunk[i] !== NEWLINE) continue;
        if (i > start) tokens.push(chunk.toString('utf8', start, i));
        start = i + 1;
      }
      if (start === 0) break; // a line longer than the chunk: cannot happen with tokens under 4 KiB
      offset += start;
      bytes += start;
    }
    return { tokens, end: { segment, offset } };
  }

  /**
   * Moves the cursor to `end` (tokens before it are in the ledger) and deletes passed segments.
   *
   * @example await spool.commit(batch.end);
   */
  commit(end: SpoolPosition): Promise<void> {
    return this.#serial(async () => {
      this.#usable();
      this.#cursor = end;
      const temporary = join(this.dir, 'cursor.tmp');
      writeFileSync(temporary, `${JSON.stringify(end)}\n`);
      renameSync(temporary, join(this.dir, 'cursor'));
      for (const segment of [...this.#segments.keys()]) {
        if (segment >= end.segment) break;
        if (this.#reader?.segment === segment) {
          await this.#reader.handle.close();
          this.#reader = undefined;
        }
        this.#segments.delete(segment);
        await rm(join(this.dir, segmentName(segment)), { force: true });
      }
    });
  }

  /**
   * Keeps tokens the ledger refused for good in `rejected.jsonl`, one JSON object per line.
   *
   * @example await spool.reject([{ token, code: 'ECT_BAD_SIGNATURE', message: '…' }]);
   */
  async reject(tokens: readonly RejectedToken[]): Promise<void> {
    if (tokens.length === 0) return;
    const at = new Date().toISOString();
    await appendFile(
      join(this.dir, 'rejected.jsonl'),
      tokens.map((t) => `${JSON.stringify({ at, code: t.code, message: t.message, token: t.token })}\n`).join(''),
    );
  }

  /** Closes the files and releases the lock; what is spooled stays for the next owner. */
  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#writer?.handle.close();
      await this.#reader?.handle.close();
      this.#writer = undefined;
      this.#reader = undefined;
      releaseLockFile(join(this.dir, 'lock'));
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #usable(): void {
    if (this.#closed) throw new Error(`spool ${this.dir} is closed`);
  }

  #nextSegment(after: number): number | undefined {
    for (const segment of this.#segments.keys()) if (segment > after) return segment;
    return undefined;
  }

  async #writerFor(bytes: number): Promise<{ segment: number; handle: FileHandle }> {
    const last = [...this.#segments.keys()].pop();
    const lastSize = last === undefined ? 0 : (this.#segments.get(last) ?? 0);
    const segment =
      last === undefined
        ? this.#cursor.segment
        : lastSize > 0 && lastSize + bytes > this.#segmentBytes
          ? last + 1
          : last;
    if (this.#writer?.segment === segment) return this.#writer;
    await this.#writer?.handle.close();
    const handle = await open(join(this.dir, segmentName(segment)), 'a');
    if (!this.#segments.has(segment)) this.#segments.set(segment, 0);
    this.#writer = { segment, handle };
    return this.#writer;
  }

  async #readerFor(segment: number): Promise<FileHandle> {
    if (this.#reader?.segment === segment) return this.#reader.handle;
    await this.#reader?.handle.close();
    const handle = await open(join(this.dir, segmentName(segment)), 'r');
    this.#reader = { segment, handle };
    return handle;
  }

  #recover(): void {
    const numbers = readdirSync(this.dir)
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    this.#cursor = readCursor(join(this.dir, 'cursor')) ?? { segment: numbers[0] ?? 0, offset: 0 };
    for (const segment of numbers) {
      const path = join(this.dir, segmentName(segment));
      if (segment < this.#cursor.segment) {
        rmSync(path, { force: true }); // passed by the cursor before a crash cut the clean-up short
        continue;
      }
      this.#segments.set(segment, statSync(path).size);
    }
    const last = [...this.#segments.keys()].at(-1);
    if (last !== undefined) this.#segments.set(last, cutTornTail(join(this.dir, segmentName(last))));
    // A cursor past the end (its segment cut or lost) means: nothing is pending.
    const size = this.#segments.get(this.#cursor.segment);
    if (size !== undefined && this.#cursor.offset > size)
      this.#cursor = { segment: this.#cursor.segment, offset: size };
  }
}

function readCursor(path: string): SpoolPosition | undefined {
  try {
    const { segment, offset } = JSON.parse(readFileSync(path, 'utf8')) as Partial<SpoolPosition>;
    if (Number.isSafeInteger(segment) && Number.isSafeInteger(offset) && segment! >= 0 && offset! >= 0) {
      return { segment: segment!, offset: offset! };
    }
  } catch {
    // No cursor, or a torn one: start from the oldest segment; the ledger answers repeats as duplicates.
  }
  return undefined;
}

/** Cuts a segment back to its last newline (a line torn by a crash was never acknowledged); returns its size. */
function cutTornTail(path: string): number {
  const data = readFileSync(path);
  const end = data.lastIndexOf(NEWLINE) + 1;
  if (end < data.length) {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, end);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return end;
}
