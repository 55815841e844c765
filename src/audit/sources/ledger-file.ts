import { resolve } from 'node:path';
import { FileLedger } from '../../ledger/file-store.js';
import type { Receipt } from '../../ledger/receipt.js';
import { type LedgerReader, ledgerRecords } from './ledger.js';
import type { SourceRecord } from './types.js';

/**
 * A file ledger (`FileLedger`), opened read-only (no writer lock, so it can be audited while
 * `ect ledger serve` appends): the log as of its checkpoint at opening. Opening checks that the
 * files hold everything the checkpoint commits; a failure surfaces from the first read.
 *
 * @example const reader = new FileLedgerReader('.ect/ledger'); await reader.checkpoint();
 */
export class FileLedgerReader implements LedgerReader {
  readonly kind = 'ledger-file' as const;
  readonly location: string;
  #ledger: FileLedger | undefined;

  constructor(dir: string) {
    this.location = resolve(dir);
  }

  #open(): FileLedger {
    this.#ledger ??= FileLedger.openSync({ dir: this.location, readOnly: true });
    return this.#ledger;
  }

  async checkpoint(): Promise<string> {
    return this.#open().checkpoint;
  }

  async ownKey(): Promise<string | undefined> {
    return this.#open().verifierKey;
  }

  async *entries(size: number, signal?: AbortSignal): AsyncIterable<string> {
    const ledger = this.#open();
    for (let index = 0; index < size; index++) {
      if ((index & 4095) === 0) signal?.throwIfAborted();
      yield ledger.entry(index);
    }
  }

  async receipts(jti: string): Promise<Receipt[]> {
    const ledger = this.#open();
    return ledger.indexesOf(jti).map((index) => ledger.receipt(index));
  }

  records(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    return ledgerRecords(this, signal);
  }

  async close(): Promise<void> {
    this.#ledger?.close();
    this.#ledger = undefined;
  }
}
