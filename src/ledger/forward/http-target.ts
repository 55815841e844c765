import { readCappedBody } from '../../base/capped-body.js';
import { EctLedgerError } from '../../base/errors.js';
import type { ForwardOutcome, LedgerTarget } from './target.js';

/** Options of {@link HttpLedgerTarget}. */
export interface HttpLedgerTargetOptions {
  /** Per request, ms. Default 10,000. */
  timeoutMs?: number;
  /** Extra request headers (e.g. `authorization` for a ledger behind a gateway). */
  headers?: Readonly<Record<string, string>>;
}

/** Largest answer read from a ledger server: 1,024 receipts of a few KiB each fit well within it. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * Forwards to a ledger server (`ect ledger serve`): `POST {base}/v1/entries` with
 * `{"tokens": [...]}`, one receipt or error per token in the answer. Unreachable, timed out, 401,
 * 403, 429 and 5xx are retryable failures (429 and 503 honour `Retry-After`; 401 and 403 are
 * credentials to fix, not tokens to refuse); a 413 asks for smaller batches.
 *
 * @example const target = new HttpLedgerTarget(new URL('https://ledger.internal:8443'));
 */
export class HttpLedgerTarget implements LedgerTarget {
  readonly description: string;
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;

  constructor(base: URL, options: HttpLedgerTargetOptions = {}) {
    this.#url = new URL('v1/entries', base.href.endsWith('/') ? base : new URL(`${base.href}/`));
    const shown = new URL(base);
    shown.username = '';
    shown.password = '';
    this.description = shown.href;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#headers = { 'content-type': 'application/json', ...options.headers };
  }

  async append(tokens: readonly string[], signal: AbortSignal): Promise<ForwardOutcome[]> {
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: this.#headers,
        body: JSON.stringify({ tokens }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]),
      });
    } catch (error) {
      throw unavailable(`ledger ${this.description} unreachable: ${messageOf(error)}`, error);
    }
    const text = await readText(response);
    if (response.status === 429 || response.status >= 500) {
      const error = unavailable(`ledger ${this.description} answered ${response.status}: ${text.slice(0, 200)}`);
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter >= 0) Object.assign(error, { retryAfterMs: retryAfter * 1000 });
      throw error;
    }
    if (response.status === 401 || response.status === 403) {
      // Credentials (ECT_LEDGER_HEADERS) the server or a gateway refuses: a setting to fix, after
      // which every token must still get in. Retried with the back-off, never rejected for good.
      throw unavailable(
        `ledger ${this.description} refused the request (${response.status}): check ECT_LEDGER_HEADERS: ${text.slice(0, 200)}`,
      );
    }
    if (response.status === 413) {
      throw Object.assign(unavailable(`ledger ${this.description}: batch of ${tokens.length} too large`), {
        tooLarge: true,
      });
    }
    if (!response.ok) {
      // A request the server cannot take (400: not our shape?) will not succeed later either.
      const reason = errorOf(text) ?? { code: `HTTP_${response.status}`, message: text.slice(0, 200) };
      return tokens.map(() => ({ status: 'rejected', ...reason }));
    }
    return outcomesOf(text, tokens.length, this.description);
  }

  async close(): Promise<void> {}
}

function outcomesOf(text: string, count: number, description: string): ForwardOutcome[] {
  let results: unknown;
  try {
    results = (JSON.parse(text) as { results?: unknown }).results;
  } catch {
    results = undefined;
  }
  if (!Array.isArray(results) || results.length !== count) {
    throw unavailable(`ledger ${description} sent an answer that is not one result per token`);
  }
  return results.map((result: unknown): ForwardOutcome => {
    const r = result as { receipt?: { leaf_index?: unknown }; error?: { code?: unknown; message?: unknown } } | null;
    if (r?.receipt !== undefined) {
      const index = r.receipt.leaf_index;
      return typeof index === 'number' ? { status: 'appended', index } : { status: 'appended' };
    }
    const code = typeof r?.error?.code === 'string' ? r.error.code : 'ECT_LEDGER_UNAVAILABLE';
    const message = typeof r?.error?.message === 'string' ? r.error.message : 'no receipt';
    return code === 'ECT_LEDGER_DUPLICATE' ? { status: 'duplicate' } : { status: 'rejected', code, message };
  });
}

async function readText(response: Response): Promise<string> {
  const body = await readCappedBody(response, MAX_ANSWER_BYTES, (declared) =>
    unavailable(
      `ledger answer${declared === undefined ? '' : ` of ${declared} bytes`} is over ${MAX_ANSWER_BYTES} bytes`,
    ),
  );
  return body.toString('utf8');
}

function errorOf(text: string): { code: string; message: string } | undefined {
  try {
    const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof error?.code === 'string') return { code: error.code, message: String(error.message ?? '') };
  } catch {
    // not JSON
  }
  return undefined;
}

function unavailable(message: string, cause?: unknown): EctLedgerError {
  return new EctLedgerError('ECT_LEDGER_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

function messageOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
