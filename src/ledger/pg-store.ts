/**
 * The shared ledger: the same log in PostgreSQL, for several writers and server instances.
 *
 * Tables (prefix `ect_ledger_`): `meta` (origin and public note key, checked by every opener),
 * `entries` (index, wid, jti, token; `UNIQUE (wid, jti)`), `nodes` (every complete tree node by
 * level and index) and `checkpoints` (every signed checkpoint by size). An append runs in one
 * transaction that first takes a transaction-scoped advisory lock, so appends from any number of
 * processes are serialised: indexes are gap-free, each checkpoint extends the previous one, and a
 * batch is acknowledged only once PostgreSQL has committed it (durable under its default
 * `synchronous_commit = on`). Every instance is given the same note key. A reader
 * ({@link PgLedger.openForReading}) needs only the public note key, and changes nothing.
 *
 * `pg` is an optional peer dependency, loaded when a PostgreSQL ledger is opened.
 */
import type { Pool, PoolClient } from 'pg';
import { EctLedgerError } from '../base/errors.js';
import type { DagNode, DagStore } from '../dag/types.js';
import { openCheckpoint, signCheckpoint } from './checkpoint.js';
import { claimsOf, tokenOfNode, toLedgerEntry, type LedgerEntry } from './entry.js';
import type { AppendResult } from './file-store.js';
import { grow, nodesRead, readerOverNodes, rightEdge, type NodePosition } from './merkle/append.js';
import { emptyRoot, leafHash } from './merkle/hash.js';
import { consistencyProof, inclusionProof } from './merkle/proofs.js';
import { treeRoot, type NodeReader } from './merkle/range.js';
import { NoteVerifier, type NoteSigner } from './note.js';
import type { Receipt } from './receipt.js';
import { encodeEntryBundle, hashesAtLevel, parseTilePath, TILE_HEIGHT, TILE_WIDTH, type TileId } from './tiles.js';

/** Options of {@link PgLedger.open}. */
export interface PgLedgerOptions {
  /** Connection string, e.g. `postgres://user@127.0.0.1:5432/db`. */
  url: string;
  /** The ledger's note key; its name is the origin. The same key on every instance. */
  signer: NoteSigner;
  /** Connections in the pool. Default 4. */
  poolSize?: number;
}

/** Options of {@link PgLedger.openForReading}. */
export interface PgLedgerReadOptions {
  /** Connection string, e.g. `postgres://user@127.0.0.1:5432/db`. */
  url: string;
  /**
   * The public note key to trust: every checkpoint read must be signed by it. Default the key the
   * database names (which whoever can write the database could replace too).
   */
  verifier?: NoteVerifier;
  /** Connections in the pool. Default 2. */
  poolSize?: number;
}

// Arbitrary constant naming this ledger's advisory lock.
const APPEND_LOCK = 0x45435431;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ect_ledger_meta (
  id int PRIMARY KEY CHECK (id = 1), origin text NOT NULL, verifier_key text NOT NULL);
CREATE TABLE IF NOT EXISTS ect_ledger_entries (
  idx bigint PRIMARY KEY, wid text NOT NULL, jti text NOT NULL, token text NOT NULL, UNIQUE (wid, jti));
CREATE INDEX IF NOT EXISTS ect_ledger_entries_jti ON ect_ledger_entries (jti);
CREATE TABLE IF NOT EXISTS ect_ledger_nodes (
  level smallint NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE IF NOT EXISTS ect_ledger_checkpoints (
  size bigint PRIMARY KEY, root bytea NOT NULL, note text NOT NULL);
`;

interface Head {
  size: number;
  root: Buffer;
  note: string;
}

const key = (p: NodePosition): string => `${p.level}/${p.index}`;

/**
 * A transparency log of tokens in PostgreSQL; also a {@link DagStore}.
 *
 * @example
 * const ledger = await PgLedger.open({ url, signer: NoteSigner.fromString(keyText) });
 * const { indexes } = await ledger.append(tokens);
 */
export class PgLedger implements DagStore {
  /** The key checkpoints are checked with; its name is the origin. */
  readonly verifier: NoteVerifier;
  readonly #signer: NoteSigner | undefined;
  readonly #pool: Pool;

  private constructor(pool: Pool, verifier: NoteVerifier, signer: NoteSigner | undefined) {
    this.#pool = pool;
    this.verifier = verifier;
    this.#signer = signer;
  }

  /** The note signing key; `ECT_LEDGER_LOCKED` for a ledger opened for reading. */
  get signer(): NoteSigner {
    if (this.#signer === undefined) throw new EctLedgerError('ECT_LEDGER_LOCKED', 'ledger was opened for reading');
    return this.#signer;
  }

  /**
   * Connects, creates the tables if needed and checks that the stored origin and note key are
   * this signer's (`ECT_LEDGER_CORRUPT` otherwise).
   *
   * @example const ledger = await PgLedger.open({ url: 'postgres://ect@127.0.0.1:5432/postgres', signer });
   */
  static async open(options: PgLedgerOptions): Promise<PgLedger> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 4 });
    // An idle client losing its server must not crash the process: the next query reports it.
    pool.on('error', () => undefined);
    const ledger = new PgLedger(pool, options.signer.verifier, options.signer);
    try {
      await ledger.#transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
        await client.query(SCHEMA);
        const verifierKey = options.signer.verifier.toString();
        await client.query(
          'INSERT INTO ect_ledger_meta (id, origin, verifier_key) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING',
          [options.signer.name, verifierKey],
        );
        const meta = await client.query<{ origin: string; verifier_key: string }>(
          'SELECT origin, verifier_key FROM ect_ledger_meta',
        );
        if (meta.rows[0]?.verifier_key !== verifierKey) {
          throw new EctLedgerError(
            'ECT_LEDGER_CORRUPT',
            `the database holds ledger ${meta.rows[0]?.origin}, signed by another key`,
          );
        }
        const note = signCheckpoint({ origin: options.signer.name, size: 0, root: emptyRoot() }, options.signer);
        await client.query(
          'INSERT INTO ect_ledger_checkpoints (size, root, note) VALUES (0, $1, $2) ON CONFLICT (size) DO NOTHING',
          [emptyRoot(), note],
        );
      });
    } catch (error) {
      await pool.end();
      throw error;
    }
    return ledger;
  }

  /**
   * Connects to an existing ledger for reading only: no table is created, nothing is written, and
   * no signing key is needed. `ECT_LEDGER_NOT_FOUND` when the database holds no ledger.
   *
   * @example const ledger = await PgLedger.openForReading({ url, verifier: NoteVerifier.fromString(pub) });
   */
  static async openForReading(options: PgLedgerReadOptions): Promise<PgLedger> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 2 });
    pool.on('error', () => undefined);
    try {
      const meta = await pool
        .query<{ origin: string; verifier_key: string }>('SELECT origin, verifier_key FROM ect_ledger_meta')
        .catch((error: unknown) => {
          const code = (error as { code?: string }).code;
          // 42P01: undefined_table; 3D000: no such database.
          if (code === '42P01' || code === '3D000')
            throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', 'the database holds no ledger', { cause: error });
          throw new EctLedgerError(
            'ECT_LEDGER_UNAVAILABLE',
            `cannot read the database: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        });
      const row = meta.rows[0];
      if (row === undefined) throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', 'the database holds no ledger');
      return new PgLedger(pool, options.verifier ?? NoteVerifier.fromString(row.verifier_key), undefined);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** The public note key, `name+hash+base64`. */
  get verifierKey(): string {
    return this.verifier.toString();
  }

  /**
   * The latest signed checkpoint.
   *
   * @example const { size, note } = await ledger.head();
   */
  async head(): Promise<Head> {
    return this.#head(this.#pool);
  }

  /**
   * The latest checkpoint's note text as stored, its signature not checked (an audit reports a
   * bad one instead of failing on it); `undefined` when there is none.
   *
   * @example await ledger.checkpointNote()
   */
  async checkpointNote(): Promise<string | undefined> {
    const rows = await this.#pool.query<{ note: string }>(
      'SELECT note FROM ect_ledger_checkpoints ORDER BY size DESC LIMIT 1',
    );
    return rows.rows[0]?.note;
  }

  /**
   * Appends a batch atomically; see {@link FileLedger.append} for what is refused.
   *
   * @example const { indexes, checkpoint } = await ledger.append(tokens);
   */
  async append(tokens: readonly string[]): Promise<AppendResult> {
    const signer = this.signer;
    const entries = admit(tokens);
    if (entries.length === 0) return { indexes: [], checkpoint: (await this.head()).note };
    try {
      return await this.#transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
        const head = await this.#head(client);
        const clash = await client.query<{ jti: string; wid: string; idx: string }>(
          `SELECT e.jti, e.wid, e.idx FROM ect_ledger_entries e
             JOIN unnest($1::text[], $2::text[]) AS b(wid, jti) ON e.wid = b.wid AND e.jti = b.jti LIMIT 1`,
          [entries.map((e) => e.wid ?? ''), entries.map((e) => e.jti)],
        );
        const first = clash.rows[0];
        if (first !== undefined) {
          throw new EctLedgerError(
            'ECT_LEDGER_DUPLICATE',
            `jti ${first.jti} is already in the ledger for workflow ${first.wid === '' ? '(none)' : first.wid}`,
            { index: Number(first.idx) },
          );
        }
        const edge = await fetchNodes(client, rightEdge(head.size));
        const added = grow(
          head.size,
          entries.map((e) => leafHash(e.bytes)),
          (level) => edge.get(`${level}/${Math.floor(head.size / 2 ** level) - 1}`),
        );
        const size = head.size + entries.length;
        await client.query(
          `INSERT INTO ect_ledger_entries (idx, wid, jti, token)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])`,
          [
            entries.map((_, i) => head.size + i),
            entries.map((e) => e.wid ?? ''),
            entries.map((e) => e.jti),
            entries.map((e) => e.token),
          ],
        );
        const levels: number[] = [];
        const indexes: number[] = [];
        const hashes: Buffer[] = [];
        const known = new Map(edge);
        added.forEach((nodes, level) => {
          const start = Math.floor(head.size / 2 ** level);
          nodes.forEach((hash, i) => {
            levels.push(level);
            indexes.push(start + i);
            hashes.push(hash);
            known.set(`${level}/${start + i}`, hash);
          });
        });
        await client.query(
          'INSERT INTO ect_ledger_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])',
          [levels, indexes, hashes],
        );
        const needed = nodesRead((read) => treeRoot(read, size)).filter((p) => !known.has(key(p)));
        for (const [k, hash] of await fetchNodes(client, needed)) known.set(k, hash);
        const root = treeRoot(readerOverNodes(known), size);
        const note = signCheckpoint({ origin: signer.name, size, root }, signer);
        await client.query('INSERT INTO ect_ledger_checkpoints (size, root, note) VALUES ($1, $2, $3)', [
          size,
          root,
          note,
        ]);
        return { indexes: entries.map((_, i) => head.size + i), checkpoint: note };
      });
    } catch (error) {
      // A unique violation can only come from a writer outside the lock protocol.
      if ((error as { code?: string }).code === '23505') {
        throw new EctLedgerError('ECT_LEDGER_DUPLICATE', 'a (wid, jti) of the batch is already in the ledger', {
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * The token at `index`.
   *
   * @example await ledger.entry(0)
   */
  async entry(index: number): Promise<string> {
    const found = await this.#pool.query<{ token: string }>('SELECT token FROM ect_ledger_entries WHERE idx = $1', [
      index,
    ]);
    const row = found.rows[0];
    if (row === undefined) throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no entry ${index}`);
    return row.token;
  }

  /**
   * Indexes of the entries with this `jti`.
   *
   * @example await ledger.indexesOf(jti)
   */
  async indexesOf(jti: string): Promise<number[]> {
    const found = await this.#pool.query<{ idx: string }>(
      'SELECT idx FROM ect_ledger_entries WHERE jti = $1 ORDER BY idx',
      [jti],
    );
    return found.rows.map((r) => Number(r.idx));
  }

  /** {@link DagStore.get}. */
  async get(jti: string): Promise<readonly DagNode[]> {
    const found = await this.#pool.query<{ token: string }>('SELECT token FROM ect_ledger_entries WHERE jti = $1', [
      jti,
    ]);
    return found.rows.map((r) => claimsOf(r.token));
  }

  /** {@link DagStore.add}: `node` carries its compact `token`, which is appended. */
  async add(node: DagNode & { token?: string }): Promise<void> {
    await this.append([tokenOfNode(node)]);
  }

  /**
   * Root of the tree of the first `size` entries.
   *
   * @example await ledger.rootAt(10)
   */
  async rootAt(size: number): Promise<Buffer> {
    await this.#checkSize(size);
    return this.#withNodes((read) => treeRoot(read, size));
  }

  /**
   * Inclusion proof of entry `index` in the tree of `size` entries (default: the latest).
   *
   * @example await ledger.inclusionProof(3)
   */
  async inclusionProof(index: number, size?: number): Promise<Buffer[]> {
    const n = await this.#checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no entry ${index} in a tree of size ${n}`);
    }
    return this.#withNodes((read) => inclusionProof(read, index, n));
  }

  /**
   * Consistency proof from the tree of `oldSize` entries to the tree of `newSize` (default: the latest).
   *
   * @example await ledger.consistencyProof(10)
   */
  async consistencyProof(oldSize: number, newSize?: number): Promise<Buffer[]> {
    const n = await this.#checkSize(newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > n) {
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no tree of size ${oldSize} before size ${n}`);
    }
    return this.#withNodes((read) => consistencyProof(read, oldSize, n));
  }

  /**
   * The receipt of entry `index` against the latest checkpoint.
   *
   * @example JSON.stringify(await ledger.receipt(0))
   */
  async receipt(index: number): Promise<Receipt> {
    const head = await this.head();
    return {
      token: await this.entry(index),
      leaf_index: index,
      inclusion_proof: (await this.inclusionProof(index, head.size)).map((h) => h.toString('base64')),
      checkpoint: head.note,
    };
  }

  /**
   * A C2SP read path of the latest tree (see {@link FileLedger.resource}).
   *
   * @example await ledger.resource('tile/0/000.p/5')
   */
  async resource(path: string): Promise<Buffer | undefined> {
    const head = await this.head();
    if (path === 'checkpoint') return Buffer.from(head.note, 'utf8');
    const tile = parseTilePath(path);
    if (tile === undefined) return undefined;
    const count = tile.level === 'entries' ? head.size : hashesAtLevel(head.size, tile.level * TILE_HEIGHT);
    const first = tile.index * TILE_WIDTH;
    if (Math.min(TILE_WIDTH, count - first) !== tile.width) return undefined;
    const data = await this.tileAt(tile);
    if (data === undefined) throw new EctLedgerError('ECT_LEDGER_CORRUPT', `${path} is incomplete in the database`);
    return data;
  }

  /**
   * A hash tile or entry bundle of any tree size the database holds, e.g. a partial tile of an
   * older tree, which {@link PgLedger.resource} (the latest tree's paths only) does not serve;
   * `undefined` when the database does not hold all of it.
   *
   * @example await ledger.tileAt({ level: 0, index: 0, width: 10 })
   */
  async tileAt(tile: TileId): Promise<Buffer | undefined> {
    const first = tile.index * TILE_WIDTH;
    if (tile.level === 'entries') {
      const rows = await this.#pool.query<{ token: string }>(
        'SELECT token FROM ect_ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
        [first, first + tile.width],
      );
      if (rows.rows.length !== tile.width) return undefined;
      return encodeEntryBundle(rows.rows.map((r) => Buffer.from(r.token, 'latin1')));
    }
    const rows = await this.#pool.query<{ hash: Buffer }>(
      'SELECT hash FROM ect_ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx',
      [tile.level * TILE_HEIGHT, first, first + tile.width],
    );
    if (rows.rows.length !== tile.width) return undefined;
    return Buffer.concat(rows.rows.map((r) => r.hash));
  }

  /**
   * Every signed checkpoint with a size in `[from, to]`, oldest first.
   *
   * @example await ledger.checkpoints(0, 100)
   */
  async checkpoints(from = 0, to = Number.MAX_SAFE_INTEGER): Promise<Head[]> {
    const rows = await this.#pool.query<{ size: string; root: Buffer; note: string }>(
      'SELECT size, root, note FROM ect_ledger_checkpoints WHERE size >= $1 AND size <= $2 ORDER BY size',
      [from, to],
    );
    return rows.rows.map((r) => ({ size: Number(r.size), root: r.root, note: r.note }));
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #head(client: Pool | PoolClient): Promise<Head> {
    const rows = await client.query<{ size: string; root: Buffer; note: string }>(
      'SELECT size, root, note FROM ect_ledger_checkpoints ORDER BY size DESC LIMIT 1',
    );
    const row = rows.rows[0];
    if (row === undefined) throw new EctLedgerError('ECT_LEDGER_CORRUPT', 'no checkpoint in the database');
    const head = { size: Number(row.size), root: row.root, note: row.note };
    const checked = openCheckpoint(head.note, this.verifier, this.verifier.name);
    if (checked.size !== head.size || !checked.root.equals(head.root)) {
      throw new EctLedgerError('ECT_LEDGER_CORRUPT', `checkpoint row ${head.size} does not match its signed note`);
    }
    return head;
  }

  async #checkSize(size: number | undefined): Promise<number> {
    const latest = (await this.head()).size;
    const n = size ?? latest;
    if (!Number.isSafeInteger(n) || n < 0 || n > latest) {
      throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no tree of size ${n}; the ledger has ${latest} entries`);
    }
    return n;
  }

  async #withNodes<T>(run: (read: NodeReader) => T): Promise<T> {
    const nodes = await fetchNodes(this.#pool, nodesRead(run));
    return run(readerOverNodes(nodes));
  }

  async #transaction<T>(run: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    // A connection lost while checked out is reported by the query that fails, not as an
    // unhandled 'error' event that would end the process.
    const ignore = () => undefined;
    client.on('error', ignore);
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await run(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.off('error', ignore);
      client.release(broken);
    }
  }
}

function admit(tokens: readonly string[]): LedgerEntry[] {
  const seen = new Set<string>();
  return tokens.map((token, position) => {
    let entry: LedgerEntry;
    try {
      entry = toLedgerEntry(token);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', `token ${position} of the batch: ${message}`, {
        cause: error,
      });
    }
    const pair = `${entry.wid ?? ''}\u0000${entry.jti}`;
    if (seen.has(pair))
      throw new EctLedgerError('ECT_LEDGER_DUPLICATE', `token ${position} of the batch repeats jti ${entry.jti}`);
    seen.add(pair);
    return entry;
  });
}

async function fetchNodes(client: Pool | PoolClient, positions: readonly NodePosition[]): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  if (positions.length === 0) return found;
  const rows = await client.query<{ level: number; idx: string; hash: Buffer }>(
    `SELECT n.level, n.idx, n.hash FROM ect_ledger_nodes n
       JOIN unnest($1::smallint[], $2::bigint[]) AS p(level, idx) ON n.level = p.level AND n.idx = p.idx`,
    [positions.map((p) => p.level), positions.map((p) => p.index)],
  );
  for (const row of rows.rows) found.set(`${row.level}/${Number(row.idx)}`, row.hash);
  for (const p of positions) {
    if (!found.has(key(p)))
      throw new EctLedgerError('ECT_LEDGER_CORRUPT', `tree node ${key(p)} is missing from the database`);
  }
  return found;
}
