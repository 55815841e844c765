import { diag, type Meter } from '@opentelemetry/api';

/** Counter names; also the suffixes of the OTel metrics (`ect.tokens.issued`, …). */
export type EctCounter =
  | 'tokens.issued'
  | 'tokens.joined'
  | 'tokens.signed'
  | 'tokens.sign_failed'
  | 'tokens.exported'
  | 'tokens.export_dropped'
  | 'spans.export_failed'
  | 'token_logs.export_failed'
  | 'incoming.verified'
  | 'incoming.rejected'
  | 'incoming.missing'
  | 'incoming.busy'
  | 'responses.tagged'
  | 'spans.untracked'
  | 'hooks.failed'
  | 'crypto.fallbacks'
  | 'jwks.fetch_failed'
  | 'ledger.spooled'
  | 'ledger.forwarded'
  | 'ledger.rejected'
  | 'ledger.dropped'
  | 'ledger.retries';

const DESCRIPTIONS: Record<EctCounter, string> = {
  'tokens.issued': 'ECTs issued (claims fixed) for spans',
  'tokens.joined': 'join tokens issued to fold wide or stale frontiers',
  'tokens.signed': 'ECTs signed',
  'tokens.sign_failed': 'ECTs that could not be signed (dropped)',
  'tokens.exported': 'ECT log records handed to the log pipeline',
  'tokens.export_dropped': 'ECTs dropped by a failing or full export path',
  'spans.export_failed': 'spans (with their ect.token) whose export failed',
  'token_logs.export_failed': 'token log records whose export failed',
  'incoming.verified': 'incoming Execution-Context tokens that verified',
  'incoming.rejected': 'incoming Execution-Context tokens that failed verification',
  'incoming.missing': 'requests without an Execution-Context token on a route that requires one (ECT_REQUIRE)',
  'incoming.busy':
    'requests refused with 503 in enforce mode because too many were already waiting for their tokens to be verified',
  'responses.tagged': 'responses that carried the server span token back',
  'spans.untracked': 'spans started past the live-span limit (spans that never end?), left without a token',
  'crypto.fallbacks': 'signatures a crypto pool worker could not make, made in the event loop instead',
  'jwks.fetch_failed':
    'fetches of the remote JWK Set (ECT_JWKS_URL) that failed: unreachable, timed out, too large or not a JWK Set',
  'ledger.spooled': 'ECTs written to the local spool on their way to the ledger (ECT_LEDGER)',
  'ledger.forwarded': 'spooled ECTs the ledger has taken (including ones it already had)',
  'ledger.rejected': 'spooled ECTs the ledger refused for good (kept in the spool folder, rejected.jsonl)',
  'ledger.dropped': 'ECTs that never reached the spool: spool full (ledger unreachable too long) or unusable',
  'ledger.retries': 'ledger deliveries that failed (unreachable, overloaded) and will be retried',
  'hooks.failed': 'internal failures caught in a span processor, propagator or hook (never thrown into the app)',
};

/**
 * The bridge's counters: plain numbers on the hot path, published as OTel observable counters once
 * a meter is bound (the metrics API has no proxy provider, so binding waits for the SDK to start).
 * Failures are also logged through `diag`, the first time and then every 1000th, so a broken
 * exporter cannot flood the application's logs.
 */
export class EctStats {
  readonly #counts: Record<EctCounter, number> = Object.fromEntries(
    Object.keys(DESCRIPTIONS).map((c) => [c, 0]),
  ) as Record<EctCounter, number>;

  /** Adds to a counter. */
  add(counter: EctCounter, by = 1): void {
    this.#counts[counter] += by;
  }

  /** Counts a failure and logs it, rate-limited. */
  fail(counter: EctCounter, error: unknown, by = 1): void {
    const before = this.get(counter);
    this.add(counter, by);
    if (before === 0 || Math.floor(before / 1000) !== Math.floor((before + by) / 1000)) {
      diag.warn(
        `otel-ect: ${DESCRIPTIONS[counter]} (${before + by} so far): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Current value of a counter. */
  get(counter: EctCounter): number {
    return this.#counts[counter];
  }

  /** All counters, for tests and status pages. */
  snapshot(): Record<EctCounter, number> {
    return Object.fromEntries((Object.keys(DESCRIPTIONS) as EctCounter[]).map((c) => [c, this.get(c)])) as Record<
      EctCounter,
      number
    >;
  }

  /**
   * Publishes every counter as an observable counter on `meter`.
   *
   * @example bridge.stats.bindMeter(metrics.getMeter('otel-ect'));
   */
  bindMeter(meter: Meter): void {
    for (const counter of Object.keys(DESCRIPTIONS) as EctCounter[]) {
      meter
        .createObservableCounter(`ect.${counter}`, { description: DESCRIPTIONS[counter] })
        .addCallback((result) => result.observe(this.get(counter)));
    }
  }
}

/**
 * Runs `fn`, turning any exception into a counted, logged `hooks.failed`: the bridge must never
 * throw into the host application.
 *
 * @example guard(stats, () => processor.work(span));
 */
export function guard<T>(stats: EctStats, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    stats.fail('hooks.failed', error);
    return undefined;
  }
}
