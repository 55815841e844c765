import type { Receipt } from '../../ledger/receipt.js';
import { parseEntryBundle, TILE_WIDTH, tilePath } from '../../ledger/tiles.js';
import { checkpointSize, type LedgerReader, ledgerRecords } from './ledger.js';
import { withoutPassword } from './ledger-pg.js';
import type { SourceRecord } from './types.js';

/** Each request's time limit. */
const TIMEOUT_MS = 30_000;

/**
 * A ledger server (`ect ledger serve`) read over its public API: `GET /checkpoint`, the C2SP entry
 * bundles `GET /tile/entries/…` (256 entries per request) and `GET /v1/entries/{jti}` for receipts.
 * A server offers no key to trust: the auditor brings it (`--ledger-key`).
 *
 * @example const reader = new HttpLedgerReader('http://127.0.0.1:8080');
 */
export class HttpLedgerReader implements LedgerReader {
  readonly kind = 'ledger-http' as const;
  readonly location: string;
  readonly #base: string;

  constructor(url: string) {
    this.#base = url.replace(/\/+$/, '');
    this.location = withoutPassword(this.#base);
  }

  async #get(path: string): Promise<Response | undefined> {
    const response = await fetch(`${this.#base}/${path}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) throw new Error(`GET ${this.location}/${path}: HTTP ${response.status}`);
    return response;
  }

  async checkpoint(): Promise<string> {
    const response = await this.#get('checkpoint');
    if (response === undefined) throw new Error(`GET ${this.location}/checkpoint: not found`);
    return response.text();
  }

  async ownKey(): Promise<string | undefined> {
    return undefined;
  }

  async *entries(size: number, signal?: AbortSignal): AsyncIterable<string> {
    for (let index = 0; index * TILE_WIDTH < size; index++) {
      signal?.throwIfAborted();
      const width = Math.min(TILE_WIDTH, size - index * TILE_WIDTH);
      for (const entry of (await this.#bundle(index, width)).slice(0, width)) yield entry.toString('utf8');
    }
  }

  /**
   * Bundle `index` with at least `width` entries. A server serves a partial bundle only at its
   * current width, so once the log has grown past the checkpoint read, the wider bundle is read
   * and cut.
   */
  async #bundle(index: number, width: number): Promise<Buffer[]> {
    let response = await this.#get(tilePath({ level: 'entries', index, width }));
    if (response === undefined && width < TILE_WIDTH)
      response = await this.#get(tilePath({ level: 'entries', index, width: TILE_WIDTH }));
    if (response === undefined && width < TILE_WIDTH) {
      const now = Math.min(TILE_WIDTH, checkpointSize(await this.checkpoint()) - index * TILE_WIDTH);
      if (now > width) response = await this.#get(tilePath({ level: 'entries', index, width: now }));
    }
    if (response === undefined) throw new Error(`${this.location}: entry bundle ${index} (${width}) not found`);
    const entries = parseEntryBundle(new Uint8Array(await response.arrayBuffer()));
    if (entries.length < width)
      throw new Error(`${this.location}: entry bundle ${index} holds ${entries.length} of ${width}`);
    return entries;
  }

  async receipts(jti: string): Promise<Receipt[]> {
    const response = await this.#get(`v1/entries/${encodeURIComponent(jti)}`);
    if (response === undefined) return [];
    const body = (await response.json()) as { entries?: { receipt?: Receipt }[] };
    return (body.entries ?? []).flatMap((e) => (e.receipt === undefined ? [] : [e.receipt]));
  }

  records(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    return ledgerRecords(this, signal);
  }

  async close(): Promise<void> {}
}
