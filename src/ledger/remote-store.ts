import { readCappedBody } from '../base/capped-body.js';
/**
 * A read-only ledger over a ledger server's HTTP API, speaking only what any C2SP tiled log serves
 * (`GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]`) plus
 * `GET /v1/entries/{jti}` to find a token by `jti`. Proofs are computed here from the hash tiles,
 * never taken from the server: a proof reads O(log n) tiles, fetched in parallel and kept in a
 * small cache (full tiles never change; a partial tile is only read at the width the pinned
 * checkpoint gives it). Every proof and receipt is checked against the checkpoint's root before it
 * is handed out, and the checkpoint's signature against the trusted note key when one is given.
 *
 * Every request is bounded: a timeout, and a largest body per kind of resource (a hash tile's
 * exact size, an entry bundle's largest possible size, small JSON and checkpoints). Failures are
 * typed: `ECT_LEDGER_UNAVAILABLE` (no connection, or no answer in time), `ECT_LEDGER_BAD_RESPONSE`
 * (an unexpected status or an answer that does not parse), `ECT_LEDGER_RESPONSE_TOO_LARGE`.
 */
import { EctLedgerError, isEctError } from '../base/errors.js';
import { BoundedMap } from '../base/bounded-map.js';
import type { TiledLedgerSource } from './audit-log.js';
import { openCheckpoint, parseCheckpoint, type Checkpoint } from './checkpoint.js';
import { claimsOf } from './entry.js';
import { HASH_SIZE } from './merkle/hash.js';
import { consistencyProof, inclusionProof } from './merkle/proofs.js';
import { treeRoot, type NodeReader } from './merkle/range.js';
import { verifyConsistency, verifyInclusion } from './merkle/verify.js';
import type { NoteVerifier } from './note.js';
import {
  hashesAtLevel,
  nodeReaderFromTiles,
  parseEntryBundle,
  TILE_HEIGHT,
  TILE_WIDTH,
  tilePath,
  type TileId,
} from './tiles.js';

/** Options of {@link RemoteLedger.open}. */
export interface RemoteLedgerOptions {
  /** Base URL of the ledger server, `http(s)://host[:port][/prefix]`. */
  url: string;
  /** The ledger's public note key: the checkpoint must be signed by it. Without it, the signature is not checked. */
  verifier?: NoteVerifier;
  /** Per-request timeout, body included. Default 10 s. */
  timeoutMs?: number;
  /** Largest JSON answer (`GET /v1/entries/{jti}`). Default 4 MiB. */
  maxJsonBytes?: number;
  /** Hash tiles kept between proofs. Default 64 (up to 512 KiB). */
  tileCacheSize?: number;
}

/** A checkpoint as read, with its note text. */
export interface RemoteHead extends Checkpoint {
  note: string;
  /** Whether its signature was checked against a trusted key. */
  signatureChecked: boolean;
}

const MAX_CHECKPOINT_BYTES = 16 * 1024;
// An entry of a bundle is at most 65,535 bytes behind its 2-byte length.
const MAX_BUNDLE_ENTRY_BYTES = 2 + 0xffff;
const MAX_ERROR_BODY_BYTES = 4096;

/**
 * A ledger server read as a transparency log. The first read pins its checkpoint: every later
 * answer is about that tree, as a file ledger opened read-only sees its checkpoint at opening.
 *
 * @example
 * const ledger = RemoteLedger.open({ url: 'https://ledger.example', verifier });
 * const receipt = await ledger.receipt(12);
 */
export class RemoteLedger implements TiledLedgerSource {
  readonly url: string;
  readonly verifier: NoteVerifier | undefined;
  readonly #base: URL;
  readonly #timeoutMs: number;
  readonly #maxJsonBytes: number;
  readonly #tiles: BoundedMap<string, Buffer>;
  #head: Promise<RemoteHead> | undefined;
  #note: Promise<string> | undefined;
  #bundle: { path: string; entries: Buffer[] } | undefined;

  private constructor(options: RemoteLedgerOptions) {
    let base: URL;
    try {
      base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    } catch {
      throw new RangeError(`not a URL: ${options.url}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError('a ledger server is http(s)://…');
    this.#base = base;
    this.url = base.href.replace(/\/$/, '');
    this.verifier = options.verifier;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxJsonBytes = options.maxJsonBytes ?? 4 << 20;
    this.#tiles = new BoundedMap(options.tileCacheSize ?? 64);
  }

  /**
   * A reader of the ledger server at `options.url`; nothing is fetched until the first read.
   *
   * @example const ledger = RemoteLedger.open({ url: 'http://127.0.0.1:8080' });
   */
  static open(options: RemoteLedgerOptions): RemoteLedger {
    return new RemoteLedger(options);
  }

  /**
   * The checkpoint's note text as served (pinned at the first read), its signature not checked.
   *
   * @example await ledger.checkpointNote()
   */
  checkpointNote(): Promise<string> {
    this.#note ??= this.#get('checkpoint', MAX_CHECKPOINT_BYTES).then((body) => {
      if (body === undefined) throw new EctLedgerError('ECT_LEDGER_BAD_RESPONSE', `${this.url} serves no checkpoint`);
      return body.toString('utf8');
    });
    return this.#note;
  }

  /**
   * The pinned checkpoint, its signature checked when a key was given (`ECT_LEDGER_NOTE_INVALID`
   * when it does not check).
   *
   * @example const { size, root } = await ledger.head();
   */
  head(): Promise<RemoteHead> {
    this.#head ??= this.checkpointNote().then((note) => {
      if (this.verifier !== undefined) {
        return { ...openCheckpoint(note, this.verifier, this.verifier.name), note, signatureChecked: true };
      }
      const body = note.lastIndexOf('\n\n');
      if (body < 0) throw new EctLedgerError('ECT_LEDGER_NOTE_INVALID', 'the checkpoint is not a signed note');
      return { ...parseCheckpoint(note.slice(0, body + 1)), note, signatureChecked: false };
    });
    return this.#head;
  }

  /**
   * A hash tile or entry bundle as served; `undefined` on 404. What {@link auditTiledLedger} reads.
   *
   * @example await ledger.readTile({ level: 0, index: 0, width: 256 })
   */
  async readTile(tile: TileId): Promise<Buffer | undefined> {
    const path = tilePath(tile);
    if (tile.level === 'entries') return this.#get(path, tile.width * MAX_BUNDLE_ENTRY_BYTES);
    const cached = this.#tiles.get(path);
    if (cached !== undefined) return cached;
    const data = await this.#get(path, tile.width * HASH_SIZE);
    if (data !== undefined && data.length === tile.width * HASH_SIZE) this.#tiles.set(path, data);
    return data;
  }

  /**
   * The token at `index` of the pinned tree, from its entry bundle.
   *
   * @example await ledger.entry(0)
   */
  async entry(index: number): Promise<string> {
    const { size } = await this.head();
    if (!Number.isSafeInteger(index) || index < 0 || index >= size)
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no entry ${index} in a tree of size ${size}`);
    const bundle: TileId = {
      level: 'entries',
      index: Math.floor(index / TILE_WIDTH),
      width: Math.min(TILE_WIDTH, size - Math.floor(index / TILE_WIDTH) * TILE_WIDTH),
    };
    const path = tilePath(bundle);
    if (this.#bundle?.path !== path) {
      const data = await this.readTile(bundle);
      if (data === undefined) throw new EctLedgerError('ECT_LEDGER_BAD_RESPONSE', `${this.url} serves no ${path}`);
      const entries = badAnswer(path, () => parseEntryBundle(data));
      if (entries.length !== bundle.width)
        throw new EctLedgerError('ECT_LEDGER_BAD_RESPONSE', `${path} holds ${entries.length} entries`);
      this.#bundle = { path, entries };
    }
    return (this.#bundle.entries[index % TILE_WIDTH] as Buffer).toString('latin1');
  }

  /**
   * Indexes (in the pinned tree) of the entries with this `jti`, found with `GET /v1/entries/{jti}`.
   *
   * @example await ledger.indexesOf(jti)
   */
  async indexesOf(jti: string): Promise<number[]> {
    const { size } = await this.head();
    const body = await this.#get(`v1/entries/${encodeURIComponent(jti)}`, this.#maxJsonBytes);
    if (body === undefined) return [];
    const answer = badAnswer('the jti lookup', () => JSON.parse(body.toString('utf8')) as unknown);
    const entries = (answer as { entries?: unknown } | null)?.entries;
    if (!Array.isArray(entries)) throw new EctLedgerError('ECT_LEDGER_BAD_RESPONSE', 'the jti lookup has no entries');
    const indexes: number[] = [];
    for (const item of entries as unknown[]) {
      const { token, receipt } = (item ?? {}) as { token?: unknown; receipt?: { leaf_index?: unknown } };
      const index = receipt?.leaf_index;
      if (typeof token !== 'string' || typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0)
        throw new EctLedgerError('ECT_LEDGER_BAD_RESPONSE', 'the jti lookup answered an entry without token or index');
      // Only what the pinned tree holds; entry(index) reads the token itself from the bundle.
      if (index < size && badAnswer('the jti lookup', () => claimsOf(token)).jti === jti) indexes.push(index);
    }
    return indexes.sort((a, b) => a - b);
  }

  /**
   * Root of the tree of the first `size` entries, from the hash tiles.
   *
   * @example await ledger.rootAt(10)
   */
  async rootAt(size: number): Promise<Buffer> {
    await this.#checkSize(size);
    const head = await this.head();
    return this.#withTiles(size, (read, blank) => {
      const root = treeRoot(read, size);
      if (!blank && size === head.size && !root.equals(head.root)) this.#disagree();
      return root;
    });
  }

  /**
   * Inclusion proof of entry `index` in the tree of `size` entries (default: the pinned tree).
   *
   * @example await ledger.inclusionProof(3)
   */
  async inclusionProof(index: number, size?: number): Promise<Buffer[]> {
    const n = await this.#checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= n)
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no entry ${index} in a tree of size ${n}`);
    const head = await this.head();
    return this.#withTiles(n, (read, blank) => {
      const proof = inclusionProof(read, index, n);
      if (!blank && n === head.size) this.#checked(() => verifyInclusion(read(0, index), index, n, proof, head.root));
      return proof;
    });
  }

  /**
   * Consistency proof from the tree of `oldSize` entries to the tree of `newSize` (default: the pinned tree).
   *
   * @example await ledger.consistencyProof(10)
   */
  async consistencyProof(oldSize: number, newSize?: number): Promise<Buffer[]> {
    const n = await this.#checkSize(newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > n)
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no tree of size ${oldSize} before size ${n}`);
    const head = await this.head();
    return this.#withTiles(n, (read, blank) => {
      const proof = consistencyProof(read, oldSize, n);
      const oldRoot = treeRoot(read, oldSize);
      if (!blank && n === head.size) this.#checked(() => verifyConsistency(oldSize, n, proof, oldRoot, head.root));
      return proof;
    });
  }

  // A proof in the pinned tree must lead to the checkpoint's root: a server whose tiles disagree
  // with what it signed hands out no proof. (An older tree's root is not signed here.)
  #checked(verify: () => void): void {
    try {
      verify();
    } catch (error) {
      if (isEctError(error, 'ECT_LEDGER_PROOF_INVALID')) this.#disagree();
      throw error;
    }
  }

  #disagree(): never {
    throw new EctLedgerError(
      'ECT_LEDGER_PROOF_INVALID',
      `the hash tiles ${this.url} serves do not lead to its checkpoint's root`,
    );
  }

  async #checkSize(size: number | undefined): Promise<number> {
    const pinned = (await this.head()).size;
    const n = size ?? pinned;
    if (!Number.isSafeInteger(n) || n < 0 || n > pinned)
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no tree of size ${n}; the checkpoint has ${pinned} entries`);
    return n;
  }

  /**
   * Runs a computation over the nodes of the tree of `size` entries: a first pass over blank tiles
   * learns which tiles it reads (a proof's shape does not depend on hash values), they are fetched
   * at once, then it runs over them. Tiles are read at their width in the pinned tree (an older
   * tree's partial tile is a prefix of it: servers need not keep older partial tiles).
   * `compute` is told when it runs over the blank tiles, so that it checks nothing then.
   */
  async #withTiles<T>(size: number, compute: (read: NodeReader, blank: boolean) => T): Promise<T> {
    const head = await this.head();
    const pinned = head.size;
    const wanted = new Map<string, TileId>();
    const blank = Buffer.alloc(HASH_SIZE);
    // The dry run only notes the tile each node comes from (a node between tile levels is hashed
    // up from one tile of the level below): no hashing of blank tiles.
    compute((level, index) => {
      const tileLevel = Math.floor(level / TILE_HEIGHT);
      const tileIndex = Math.floor((index * 2 ** (level - tileLevel * TILE_HEIGHT)) / TILE_WIDTH);
      const served = Math.min(TILE_WIDTH, hashesAtLevel(pinned, tileLevel * TILE_HEIGHT) - tileIndex * TILE_WIDTH);
      wanted.set(`${tileLevel}/${tileIndex}`, { level: tileLevel, index: tileIndex, width: served });
      return blank;
    }, true);
    const fetched = new Map<string, Buffer>();
    await Promise.all(
      [...wanted].map(async ([key, tile]) => {
        const data = await this.readTile(tile);
        if (data === undefined || data.length !== tile.width * HASH_SIZE) {
          throw new EctLedgerError(
            'ECT_LEDGER_BAD_RESPONSE',
            data === undefined
              ? `${this.url} serves no ${tilePath(tile)}`
              : `${tilePath(tile)} is ${data.length} bytes`,
          );
        }
        fetched.set(key, data);
      }),
    );
    return compute(
      nodeReaderFromTiles(
        (level, index, width) => (fetched.get(`${level}/${index}`) as Buffer).subarray(0, width * HASH_SIZE),
        size,
      ),
      false,
    );
  }

  /** GET `path` under the base URL, at most `limit` bytes; `undefined` on 404. */
  async #get(path: string, limit: number): Promise<Buffer | undefined> {
    const url = new URL(path, this.#base);
    let response: Response | undefined;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    // A kept-alive connection that the server closed as it was reused fails at once with a reset:
    // a GET is safe to send again, once.
    for (let attempt = 0; response === undefined; attempt++) {
      try {
        response = await fetch(url, { signal, headers: { accept: '*/*' } });
      } catch (error) {
        if (attempt > 0 || signal.aborted || !connectionReset(error)) throw unreachable(url, error, this.#timeoutMs);
      }
    }
    if (response.status === 404) {
      await response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    if (!response.ok) {
      const text = await readBounded(response, MAX_ERROR_BODY_BYTES, url, this.#timeoutMs)
        .then((b) => b.toString('utf8'))
        .catch(() => '');
      const code = /"code"\s*:\s*"([A-Z_]+)"/.exec(text)?.[1];
      throw new EctLedgerError(
        'ECT_LEDGER_BAD_RESPONSE',
        `${url.href} answered ${response.status}${code === undefined ? '' : ` (${code})`}`,
      );
    }
    return readBounded(response, limit, url, this.#timeoutMs);
  }
}

async function readBounded(response: Response, limit: number, url: URL, timeoutMs: number): Promise<Buffer> {
  try {
    return await readCappedBody(
      response,
      limit,
      () => new EctLedgerError('ECT_LEDGER_RESPONSE_TOO_LARGE', `${url.href} answered more than ${limit} bytes`),
    );
  } catch (error) {
    if (isEctError(error)) throw error;
    throw unreachable(url, error, timeoutMs);
  }
}

function connectionReset(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } } | null)?.cause?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET';
}

function unreachable(url: URL, error: unknown, timeoutMs: number): EctLedgerError {
  const name = (error as { name?: string } | null)?.name;
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  const reason =
    name === 'TimeoutError' || name === 'AbortError'
      ? `no answer within ${timeoutMs} ms`
      : (cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error)));
  return new EctLedgerError('ECT_LEDGER_UNAVAILABLE', `cannot read ${url.href}: ${reason}`, { cause: error });
}

function badAnswer<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new EctLedgerError('ECT_LEDGER_BAD_RESPONSE', `${what} does not parse: ${message}`, { cause: error });
  }
}
