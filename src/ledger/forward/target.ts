/** What a ledger made of one forwarded token. */
export type ForwardOutcome =
  | { status: 'appended'; index?: number }
  /** Already in the ledger (a batch sent again after a restart): not a loss. */
  | { status: 'duplicate' }
  /** Refused for good (e.g. a signature the ledger's keys do not verify): kept aside, counted. */
  | { status: 'rejected'; code: string; message: string };

/**
 * Where forwarded tokens go: a ledger server or a ledger directory. `append` answers per token,
 * in order, or throws when the ledger cannot be reached or is busy (the batch is then retried
 * whole, later); an error with a `retryAfterMs` says when.
 */
export interface LedgerTarget {
  /** For messages: the URL or directory. */
  readonly description: string;
  append(tokens: readonly string[], signal: AbortSignal): Promise<ForwardOutcome[]>;
  close(): Promise<void>;
}

/** An error after which a batch is retried; `retryAfterMs` when the ledger said when. */
export interface RetryHint {
  retryAfterMs?: number;
}
