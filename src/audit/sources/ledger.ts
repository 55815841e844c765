import { EctLedgerError } from '../../base/errors.js';
import type { Receipt } from '../../ledger/receipt.js';
import type { AuditSource } from '../report/model.js';
import type { AuditSourceReader, SourceRecord } from './types.js';

/**
 * A ledger read by an audit, whatever stores it: its latest signed checkpoint, its entries in
 * order, and the receipts it serves. The engine checks the checkpoint's signature, hashes every
 * entry back to the checkpoint's root (so each entry's inclusion is proven at once) and compares
 * the first entries with a checkpoint the auditor saved earlier. Nothing here is trusted: a reader
 * only fetches.
 */
export interface LedgerReader extends AuditSourceReader {
  readonly kind: Extract<AuditSource['kind'], `ledger-${string}`>;
  /** The latest signed checkpoint (C2SP note text). */
  checkpoint(): Promise<string>;
  /**
   * The public note key kept beside the data (file and PostgreSQL stores), `undefined` when the
   * ledger offers none (a server: the auditor must bring the key, `--ledger-key`).
   */
  ownKey(): Promise<string | undefined>;
  /** Entries `0 … size − 1`, in order, each as its compact token. */
  entries(size: number, signal?: AbortSignal): AsyncIterable<string>;
  /** The receipts the ledger serves for a `jti` (empty when it serves none). */
  receipts(jti: string): Promise<Receipt[]>;
  close(): Promise<void>;
}

/**
 * The entries of a ledger as audit records, `at` naming each leaf (`ledger:#41`): what
 * {@link LedgerReader.records} does for every store.
 *
 * @example for await (const record of ledgerRecords(reader)) console.log(record.at);
 */
export async function* ledgerRecords(reader: LedgerReader, signal?: AbortSignal): AsyncIterable<SourceRecord> {
  const size = checkpointSize(await reader.checkpoint());
  let index = 0;
  for await (const token of reader.entries(size, signal)) yield { kind: 'token', token, at: `ledger:#${index++}` };
}

/**
 * The tree size of a checkpoint note, read without checking its signature.
 *
 * @example checkpointSize(await reader.checkpoint()) // 41
 */
export function checkpointSize(note: string): number {
  const size = note.split('\n')[1] ?? '';
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new EctLedgerError('ECT_LEDGER_NOTE_INVALID', 'checkpoint has no size');
  return Number(size);
}

/**
 * Opens the reader a `--ledger` value names: `file:DIR` (or a plain directory), `postgres://…`
 * (or `postgresql://…`), or `http://…`/`https://…` (a ledger server). Nothing is read yet.
 *
 * @example const ledger = await openLedgerReader('file:.ect/ledger');
 */
export async function openLedgerReader(spec: string): Promise<LedgerReader> {
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) {
    const { PgLedgerReader } = await import('./ledger-pg.js');
    return new PgLedgerReader(spec);
  }
  if (spec.startsWith('http://') || spec.startsWith('https://')) {
    const { HttpLedgerReader } = await import('./ledger-http.js');
    return new HttpLedgerReader(spec);
  }
  const { FileLedgerReader } = await import('./ledger-file.js');
  return new FileLedgerReader(spec.startsWith('file:') ? spec.slice('file:'.length) : spec);
}
