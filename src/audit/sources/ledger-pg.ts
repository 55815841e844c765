import type { Pool } from 'pg';
import type { Receipt } from '../../ledger/receipt.js';
import { type LedgerReader, ledgerRecords } from './ledger.js';
import type { SourceRecord } from './types.js';

/** Rows fetched per query while streaming entries. */
const PAGE = 10_000;

/**
 * A PostgreSQL ledger (the tables `PgLedger` writes), read with plain `SELECT`s: an auditor needs
 * no note signing key and takes no lock. The latest checkpoint is the one of the largest size.
 * Receipts are not served here (the engine proves every entry against the root instead).
 *
 * @example const reader = new PgLedgerReader('postgres://audit@127.0.0.1/ledger');
 */
export class PgLedgerReader implements LedgerReader {
  readonly kind = 'ledger-postgres' as const;
  /** The connection string without its password. */
  readonly location: string;
  readonly #url: string;
  #pool: Promise<Pool> | undefined;

  constructor(url: string) {
    this.#url = url;
    this.location = withoutPassword(url);
  }

  #connect(): Promise<Pool> {
    this.#pool ??= import('pg').then(({ default: pg }) => {
      const pool = new pg.Pool({ connectionString: this.#url, max: 2 });
      // An idle client losing its server must not crash the process: the next query reports it.
      pool.on('error', () => undefined);
      return pool;
    });
    return this.#pool;
  }

  async checkpoint(): Promise<string> {
    const pool = await this.#connect();
    const rows = await pool.query<{ note: string }>(
      'SELECT note FROM ect_ledger_checkpoints ORDER BY size DESC LIMIT 1',
    );
    const note = rows.rows[0]?.note;
    if (note === undefined) throw new Error(`no checkpoint in ${this.location}`);
    return note;
  }

  async ownKey(): Promise<string | undefined> {
    const pool = await this.#connect();
    const rows = await pool.query<{ verifier_key: string }>('SELECT verifier_key FROM ect_ledger_meta WHERE id = 1');
    return rows.rows[0]?.verifier_key;
  }

  async *entries(size: number, signal?: AbortSignal): AsyncIterable<string> {
    const pool = await this.#connect();
    for (let first = 0; first < size; first += PAGE) {
      signal?.throwIfAborted();
      const last = Math.min(size, first + PAGE);
      const rows = await pool.query<{ idx: string; token: string }>(
        'SELECT idx, token FROM ect_ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
        [first, last],
      );
      // A gap (a missing row) must not shift later entries into its place: stop at it.
      for (const [k, row] of rows.rows.entries()) {
        if (Number(row.idx) !== first + k) throw new Error(`${this.location}: entry ${first + k} is missing`);
        yield row.token;
      }
      if (rows.rows.length !== last - first)
        throw new Error(`${this.location}: entries ${first}…${last - 1} are incomplete`);
    }
  }

  async receipts(): Promise<Receipt[]> {
    return [];
  }

  records(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    return ledgerRecords(this, signal);
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool !== undefined) await (await pool).end();
  }
}

/**
 * A connection string or URL with its password (and any `password` parameter) removed.
 *
 * @example withoutPassword('postgres://u:secret@h/db') // 'postgres://u@h/db'
 */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, '@');
  }
}
