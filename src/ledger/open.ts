/**
 * One way to read any ledger, whatever keeps it: a directory (`file:DIR`), PostgreSQL
 * (`postgres://…`) or a ledger server (`http(s)://…`). A reader pins the checkpoint it first
 * reads, answers about that tree only, and checks every proof and receipt against that
 * checkpoint's root before handing it out; given the ledger's public note key, it also requires
 * the checkpoint to be signed by it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EctLedgerError } from '../base/errors.js';
import { auditLedger, auditTiledLedger, type LedgerAudit } from './audit-log.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { FileLedger, LEDGER_FILES } from './file-store.js';
import { leafHash } from './merkle/hash.js';
import { verifyInclusion } from './merkle/verify.js';
import { NoteVerifier } from './note.js';
import { PgLedger } from './pg-store.js';
import type { Receipt } from './receipt.js';
import { RemoteLedger } from './remote-store.js';

/** The kinds of ledger a store string names. */
export type LedgerKind = 'file' | 'postgres' | 'http';

/** The pinned checkpoint of a {@link LedgerReader}. */
export interface LedgerHead extends Checkpoint {
  /** The signed note text. */
  note: string;
}

/** Options of {@link LedgerReader.audit}. */
export interface LedgerReaderAuditOptions {
  /** Called as the audit goes, with the work done and the work in all. */
  onProgress?: (done: number, total: number) => void;
}

/** Read access to a ledger of any kind; see {@link openLedgerForReading}. */
export interface LedgerReader {
  readonly kind: LedgerKind;
  /** The store string, without any password. */
  readonly location: string;
  /** The pinned checkpoint; `ECT_LEDGER_NOTE_INVALID` when it is not signed by the trusted key. */
  head(): Promise<LedgerHead>;
  /**
   * The public note key: the trusted one when given, else the one the ledger keeps (a file
   * ledger's `note.pub`, a database's record); `undefined` for a server read without a key.
   */
  verifierKey(): Promise<string | undefined>;
  entry(index: number): Promise<string>;
  indexesOf(jti: string): Promise<number[]>;
  rootAt(size: number): Promise<Buffer>;
  inclusionProof(index: number, size?: number): Promise<Buffer[]>;
  consistencyProof(oldSize: number, newSize?: number): Promise<Buffer[]>;
  /** The receipt of entry `index` against the pinned checkpoint. */
  receipt(index: number): Promise<Receipt>;
  /**
   * The full audit (see {@link auditLedger}, {@link auditTiledLedger}); it reports a bad
   * checkpoint instead of failing on it. A server needs the trusted key for it.
   */
  audit(options?: LedgerReaderAuditOptions): Promise<LedgerAudit>;
  close(): Promise<void>;
}

/** Options of {@link openLedgerForReading}. */
export interface OpenForReadingOptions {
  /** The ledger's public note key (`name+hash+base64`) to trust. */
  key?: string;
  /** Per-request timeout for a server. Default 10 s. */
  timeoutMs?: number;
}

/**
 * The kind of ledger a store string names; `undefined` when it names none.
 *
 * @example ledgerKind('file:.ect/ledger') // 'file'
 */
export function ledgerKind(spec: string): LedgerKind | undefined {
  if (spec.startsWith('file:')) return 'file';
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) return 'postgres';
  if (spec.startsWith('http://') || spec.startsWith('https://')) return 'http';
  return undefined;
}

/**
 * Opens a ledger for reading from its store string: `file:DIR`, `postgres://…` or
 * `http(s)://ledger-server`. Nothing is written, and no signing key is needed. Throws
 * `ECT_LEDGER_NOT_FOUND` when there is no ledger there (directory, database), `RangeError` for a
 * string that names no kind of ledger, `ECT_LEDGER_NOTE_INVALID` for an unusable key.
 *
 * @example
 * const ledger = await openLedgerForReading('https://ledger.example', { key: pub });
 * const receipt = await ledger.receipt(12);
 * await ledger.close();
 */
export async function openLedgerForReading(spec: string, options: OpenForReadingOptions = {}): Promise<LedgerReader> {
  const verifier = options.key === undefined ? undefined : parseKey(options.key);
  switch (ledgerKind(spec)) {
    case 'file':
      return new FileReader(resolve(spec.slice('file:'.length)), verifier);
    case 'postgres':
      return new PgReader(await PgLedger.openForReading({ url: spec, ...(verifier ? { verifier } : {}) }), spec);
    case 'http':
      return new RemoteReader(
        RemoteLedger.open({
          url: spec,
          ...(verifier ? { verifier } : {}),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        }),
      );
    default:
      throw new RangeError(`a ledger is file:DIR, postgres://… or http(s)://…, not ${spec}`);
  }
}

function parseKey(key: string): NoteVerifier {
  try {
    return NoteVerifier.fromString(key.trim());
  } catch (error) {
    throw new EctLedgerError('ECT_LEDGER_NOTE_INVALID', `not a note key: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The parts every kind shares: pinning, receipts built and checked here. */
abstract class BaseReader {
  #head: Promise<LedgerHead> | undefined;

  protected abstract readHead(): Promise<LedgerHead>;
  abstract entry(index: number): Promise<string>;
  abstract inclusionProof(index: number, size?: number): Promise<Buffer[]>;

  head(): Promise<LedgerHead> {
    this.#head ??= this.readHead();
    return this.#head;
  }

  async receipt(index: number): Promise<Receipt> {
    const head = await this.head();
    const token = await this.entry(index);
    const proof = await this.inclusionProof(index, head.size);
    // A store whose entries, tree and checkpoint disagree must not hand out a receipt.
    verifyInclusion(leafHash(Buffer.from(token, 'latin1')), index, head.size, proof, head.root);
    return {
      token,
      leaf_index: index,
      inclusion_proof: proof.map((h) => h.toString('base64')),
      checkpoint: head.note,
    };
  }

  protected async checkSize(size: number | undefined): Promise<number> {
    const pinned = (await this.head()).size;
    const n = size ?? pinned;
    if (!Number.isSafeInteger(n) || n < 0 || n > pinned)
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no tree of size ${n}; the checkpoint has ${pinned} entries`);
    return n;
  }
}

class FileReader extends BaseReader implements LedgerReader {
  readonly kind = 'file';
  readonly location: string;
  #ledger: FileLedger | undefined;

  constructor(
    readonly dir: string,
    readonly verifier: NoteVerifier | undefined,
  ) {
    super();
    this.location = `file:${dir}`;
    if (!existsSync(dir)) throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no ledger at ${dir}`);
  }

  // Opened on the first read, not for an audit, which must work on a ledger too broken to open.
  get #log(): FileLedger {
    this.#ledger ??= FileLedger.openSync({ dir: this.dir, readOnly: true });
    return this.#ledger;
  }

  protected async readHead(): Promise<LedgerHead> {
    const note = this.#log.checkpoint;
    const verifier = this.verifier ?? this.#log.verifier;
    return { ...openCheckpoint(note, verifier, verifier.name), note };
  }

  async verifierKey(): Promise<string> {
    return this.verifier?.toString() ?? readFileSync(join(this.dir, LEDGER_FILES.pub), 'utf8').trim();
  }

  async entry(index: number): Promise<string> {
    await this.head();
    return this.#log.entry(index);
  }

  async indexesOf(jti: string): Promise<number[]> {
    await this.head();
    return this.#log.indexesOf(jti);
  }

  async rootAt(size: number): Promise<Buffer> {
    return this.#log.rootAt(await this.checkSize(size));
  }

  async inclusionProof(index: number, size?: number): Promise<Buffer[]> {
    return this.#log.inclusionProof(index, await this.checkSize(size));
  }

  async consistencyProof(oldSize: number, newSize?: number): Promise<Buffer[]> {
    return this.#log.consistencyProof(oldSize, await this.checkSize(newSize));
  }

  async audit(options: LedgerReaderAuditOptions = {}): Promise<LedgerAudit> {
    return auditLedger(this.dir, {
      ...(this.verifier === undefined ? {} : { verifierKey: this.verifier.toString() }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  }

  async close(): Promise<void> {
    this.#ledger?.close();
  }
}

class PgReader extends BaseReader implements LedgerReader {
  readonly kind = 'postgres';
  readonly location: string;

  constructor(
    readonly ledger: PgLedger,
    spec: string,
  ) {
    super();
    this.location = hidePassword(spec);
  }

  protected async readHead(): Promise<LedgerHead> {
    const head = await this.ledger.head();
    return { ...openCheckpoint(head.note, this.ledger.verifier, this.ledger.verifier.name), note: head.note };
  }

  async verifierKey(): Promise<string> {
    return this.ledger.verifierKey;
  }

  async entry(index: number): Promise<string> {
    const size = await this.checkSize(undefined);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size)
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no entry ${index} in a tree of size ${size}`);
    return this.ledger.entry(index);
  }

  async indexesOf(jti: string): Promise<number[]> {
    const size = await this.checkSize(undefined);
    return (await this.ledger.indexesOf(jti)).filter((index) => index < size);
  }

  async rootAt(size: number): Promise<Buffer> {
    return this.ledger.rootAt(await this.checkSize(size));
  }

  async inclusionProof(index: number, size?: number): Promise<Buffer[]> {
    return this.ledger.inclusionProof(index, await this.checkSize(size));
  }

  async consistencyProof(oldSize: number, newSize?: number): Promise<Buffer[]> {
    return this.ledger.consistencyProof(oldSize, await this.checkSize(newSize));
  }

  audit(options: LedgerReaderAuditOptions = {}): Promise<LedgerAudit> {
    return auditTiledLedger(
      { checkpointNote: () => this.ledger.checkpointNote(), readTile: (tile) => this.ledger.tileAt(tile) },
      { verifierKey: this.ledger.verifierKey, ...options },
    );
  }

  close(): Promise<void> {
    return this.ledger.close();
  }
}

class RemoteReader extends BaseReader implements LedgerReader {
  readonly kind = 'http';
  readonly location: string;

  constructor(readonly ledger: RemoteLedger) {
    super();
    this.location = ledger.url;
  }

  protected readHead(): Promise<LedgerHead> {
    return this.ledger.head();
  }

  async verifierKey(): Promise<string | undefined> {
    if (this.ledger.verifier === undefined) return undefined;
    // Only a key that signs the checkpoint is this ledger's.
    await this.head();
    return this.ledger.verifier.toString();
  }

  entry(index: number): Promise<string> {
    return this.ledger.entry(index);
  }

  indexesOf(jti: string): Promise<number[]> {
    return this.ledger.indexesOf(jti);
  }

  rootAt(size: number): Promise<Buffer> {
    return this.ledger.rootAt(size);
  }

  inclusionProof(index: number, size?: number): Promise<Buffer[]> {
    return this.ledger.inclusionProof(index, size);
  }

  consistencyProof(oldSize: number, newSize?: number): Promise<Buffer[]> {
    return this.ledger.consistencyProof(oldSize, newSize);
  }

  audit(options: LedgerReaderAuditOptions = {}): Promise<LedgerAudit> {
    const verifier = this.ledger.verifier;
    if (verifier === undefined) {
      return Promise.reject(
        new EctLedgerError(
          'ECT_LEDGER_NOTE_INVALID',
          "auditing a ledger server needs the ledger's public note key: the read paths do not carry it",
        ),
      );
    }
    return auditTiledLedger(this.ledger, { verifierKey: verifier.toString(), ...options });
  }

  async close(): Promise<void> {}
}

function hidePassword(spec: string): string {
  try {
    const url = new URL(spec);
    if (url.password !== '') url.password = '***';
    return url.href;
  } catch {
    return spec.replace(/:[^:@/]*@/, ':***@');
  }
}
