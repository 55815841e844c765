import type { DagStore } from '../dag/types.js';
import type { AppendResult } from './file-store.js';
import type { Receipt } from './receipt.js';

/**
 * What the ledger server needs of a store; {@link FileLedger} answers synchronously,
 * {@link PgLedger} with promises.
 */
export interface LedgerStore extends DagStore {
  append(tokens: readonly string[]): Promise<AppendResult>;
  indexesOf(jti: string): number[] | Promise<number[]>;
  entry(index: number): string | Promise<string>;
  receipt(index: number): Receipt | Promise<Receipt>;
  resource(path: string): Buffer | undefined | Promise<Buffer | undefined>;
}
