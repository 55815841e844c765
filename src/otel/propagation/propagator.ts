import { isTracingSuppressed } from '@opentelemetry/core';
import {
  SpanKind,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { EctError, EctReplayError, isEctError } from '../../base/errors.js';
import { MemoryReplayCache, type ReplayStore } from '../../token/replay.js';
import type { VerifiedEct } from '../../token/claims.js';
import { checkTimes, readClaims } from '../../token/check-claims.js';
import type { CryptoPool } from '../../token/crypto-pool.js';
import { decodeUnverified } from '../../token/decode.js';
import { BoundedMap } from '../../base/bounded-map.js';
import { EXECUTION_CONTEXT_HEADER } from '../../base/conventions.js';
import { formatExecutionContext, formatExecutionContextLines, parseExecutionContext } from '../../token/header.js';
import type { EctVerifier } from '../../token/verify.js';
import { boundSpanContext } from '../processor/binding.js';
import { INCOMING_CARRIER, INCOMING_FAILURES, INCOMING_TOKENS, INCOMING_VERDICT } from './context-keys.js';
import type { SpanLike } from '../processor/live-spans.js';
import { remoteToken, type TokenRef } from '../processor/token-ref.js';
import { EctStats, guard } from '../stats.js';

/**
 * True when `inject` may replace the comma list it just wrote with one token per field line.
 *
 * `TextMapSetter.set` takes one string, and a generic carrier may hold one value per field (gRPC
 * metadata, a `Headers` object whose `set` replaces, a message's attribute map), so the comma list
 * always goes through the setter first. Both HTTP clients we instrument inject into a fresh plain
 * object with the API's default setter (`carrier[key] = value`), and both turn an array value into
 * repeated lines: `@opentelemetry/instrumentation-http` passes the object as the request's
 * `options.headers`, where Node's `setHeader` writes one line per element; `instrumentation-undici`
 * (fetch) hands each entry to undici's `Request.addHeader`, which writes one line per element too.
 * So the array is written only when the setter was seen to store our string verbatim as a property
 * of a plain object (what the default setter does, whichever copy of the API it comes from) and
 * the span is an HTTP-style CLIENT span: a messaging PRODUCER that injects into a plain header
 * table keeps the single string its receivers expect. Calling the setter once per token instead
 * would not work: the default setter overwrites, so only the last token would remain.
 */
function writesHeaderLines(span: unknown, carrier: unknown, joined: string): boolean {
  if (typeof carrier !== 'object' || carrier === null) return false;
  const prototype = Object.getPrototypeOf(carrier);
  if (prototype !== Object.prototype && prototype !== null) return false;
  if ((carrier as Record<string, unknown>)[EXECUTION_CONTEXT_HEADER] !== joined) return false;
  return (span as { kind?: SpanKind }).kind === SpanKind.CLIENT;
}

/** Where `inject` finds the tokens a request must carry: the processor's `frontiers`. */
export interface InjectionSource {
  tokensToInject(span: SpanLike): TokenRef[];
}

/** Options of {@link EctPropagator}. */
export interface EctPropagatorOptions {
  /** The span processor's frontiers (`EctSpanProcessor.frontiers`). */
  frontiers: InjectionSource;
  /** Verifies incoming tokens (with a replay cache, and this service's audience). */
  verifier: EctVerifier;
  /** Where failures are counted; share the processor's. Default a new one. */
  stats?: EctStats;
  /**
   * Check incoming signatures in this pool's worker threads instead of on the request path. The
   * server span then starts with the tokens as received (parsed, shape-checked), and their verdict
   * is recorded on the span, or added at export if it comes after the span ended (src/otel/DESIGN.md
   * §3). In enforce mode `installEnforcement` holds the request until that verdict.
   */
  deferVerification?: CryptoPool;
  /**
   * Seen tokens, to refuse replays. A predecessor token legitimately travels on every request its
   * holder fans out, so a replay is the same token presented again *by the same calling span*
   * (W3C `parent-id`): the store is keyed by workflow, caller span and `jti`. Default: an in-memory
   * LRU; share one store between instances behind a load balancer.
   */
  replay?: ReplayStore;
}

/**
 * `TextMapPropagator` for the `Execution-Context` field. `inject` writes the signed tokens of the
 * active (client) span's start predecessors, signing them now if needed and folding them into a join
 * token when they would not fit, one token per field line on HTTP requests (a comma list where the
 * carrier holds one value per field); `extract` verifies every incoming token and puts the valid ones in
 * the context as the next server span's start predecessors, and the failures beside them (recorded
 * on that span; refused by {@link installEnforcement} in enforce mode). Use it in a
 * `CompositePropagator` beside W3C trace context and baggage.
 *
 * @example
 * const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new EctPropagator({ frontiers: processor.frontiers, verifier })] });
 */
export class EctPropagator implements TextMapPropagator {
  readonly #frontiers: InjectionSource;
  readonly #verifier: EctVerifier;
  readonly #stats: EctStats;
  readonly #replay: ReplayStore;
  readonly #deferTo: CryptoPool | undefined;
  // A predecessor token rides on every request its holder makes until a later token covers it, so
  // one receiver often sees the same bytes many times: verify once, re-check only the clock.
  readonly #verified = new BoundedMap<string, VerifiedEct>(4096);

  constructor(options: EctPropagatorOptions) {
    this.#frontiers = options.frontiers;
    this.#verifier = options.verifier;
    this.#replay = options.replay ?? new MemoryReplayCache();
    this.#stats = options.stats ?? new EctStats();
    this.#deferTo = options.deferVerification;
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    // The SDK's own exports run with tracing suppressed: they must not carry tokens.
    if (isTracingSuppressed(context)) return;
    guard(this.#stats, () => {
      const span = trace.getSpan(context);
      if (span === undefined) return;
      const tokens = this.#frontiers.tokensToInject(span);
      if (tokens.length === 0) return;
      const compact = tokens.map((t) => t.compact());
      const joined = formatExecutionContext(compact);
      setter.set(carrier, EXECUTION_CONTEXT_HEADER, joined);
      if (compact.length > 1 && writesHeaderLines(span, carrier, joined)) {
        (carrier as Record<string, unknown>)[EXECUTION_CONTEXT_HEADER] = formatExecutionContextLines(compact);
      }
    });
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const result = guard(this.#stats, () => this.#extract(context, carrier, getter));
    return result ?? context;
  }

  fields(): string[] {
    return [EXECUTION_CONTEXT_HEADER];
  }

  /**
   * Verifies the `Execution-Context` values of one message; shared by `extract` and the response
   * path (a callee's token coming back). With `callerSpanId`, each token is also checked against
   * the replay store.
   */
  verifyValues(
    values: string | string[] | undefined,
    callerSpanId?: string,
  ): { tokens: TokenRef[]; failures: EctError[]; covers: string[] } {
    const tokens: TokenRef[] = [];
    const failures: EctError[] = [];
    const covers: string[] = [];
    const compact = this.#split(values, failures);
    for (const token of compact) {
      try {
        const verified = this.#cached(token) ?? this.#verifyNow(token);
        if (callerSpanId !== undefined) this.#checkReplay(verified, callerSpanId);
        tokens.push(remoteToken(token, verified.claims, boundSpanContext(verified.claims)));
        covers.push(...verified.claims.pred);
        this.#stats.add('incoming.verified');
      } catch (error) {
        if (!isEctError(error)) throw error;
        failures.push(error);
        this.#stats.add('incoming.rejected');
      }
    }
    return { tokens, failures, covers };
  }

  /** A token verified before and still within its times, else undefined. */
  #cached(token: string): VerifiedEct | undefined {
    const cached = this.#verified.get(token);
    if (cached === undefined) return undefined;
    try {
      checkTimes(cached.claims, Math.floor(Date.now() / 1000), this.#verifier.options);
      return cached;
    } catch {
      // Expired or too old by now: verify afresh, which reports why.
      this.#verified.delete(token);
      return undefined;
    }
  }

  #verifyNow(token: string): VerifiedEct {
    const verified = this.#verifier.verifySync(token);
    this.#verified.set(token, verified);
    return verified;
  }

  /** Refuses a token the same calling span presented before. */
  #checkReplay(verified: VerifiedEct, callerSpanId: string): void {
    const { wid, jti, exp } = verified.claims;
    if (!this.#replay.checkAndRecord(`${wid ?? ''}\u0000${callerSpanId}`, jti, exp, Math.floor(Date.now() / 1000))) {
      throw new EctReplayError(jti);
    }
  }

  #extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const raw = getter.get(carrier, EXECUTION_CONTEXT_HEADER);
    // Marked even without a token: the enforcement guard then knows the server span is this request's.
    let next = context.setValue(INCOMING_CARRIER, carrier);
    if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) return next;
    const callerSpanId = trace.getSpanContext(context)?.spanId ?? '';
    const pool = this.#deferTo;
    const { tokens, failures, verdict } =
      pool?.offThread === true
        ? this.#receive(raw, callerSpanId, pool)
        : { ...this.verifyValues(raw, callerSpanId), verdict: undefined };
    if (tokens.length > 0) next = next.setValue(INCOMING_TOKENS, tokens);
    if (failures.length > 0) next = next.setValue(INCOMING_FAILURES, failures);
    if (verdict !== undefined) next = next.setValue(INCOMING_VERDICT, verdict);
    return next;
  }

  /**
   * Record mode with a pool: takes the tokens as received (a token seen verified before is taken
   * as such), and checks the others' signatures and claims in the pool; the replay check waits for
   * the verdict, so a forged token cannot claim a genuine one's place in the replay store.
   */
  #receive(
    values: string | string[],
    callerSpanId: string,
    pool: CryptoPool,
  ): { tokens: TokenRef[]; failures: EctError[]; verdict: Promise<readonly EctError[]> | undefined } {
    const tokens: TokenRef[] = [];
    const failures: EctError[] = [];
    const checks: Promise<EctError | undefined>[] = [];
    const compact = this.#split(values, failures);
    for (const token of compact) {
      try {
        const cached = this.#cached(token);
        if (cached !== undefined) {
          this.#checkReplay(cached, callerSpanId);
          tokens.push(remoteToken(token, cached.claims, boundSpanContext(cached.claims)));
          this.#stats.add('incoming.verified');
          continue;
        }
        const { claims } = readClaims(decodeUnverified(token, this.#verifier.options.maxTokenBytes).payload);
        tokens.push(remoteToken(token, claims, boundSpanContext(claims)));
        // `.catch` after `.then`: a replay found once verified is a failure too. The verdict
        // never rejects, so nothing downstream can leave a rejection unhandled.
        checks.push(
          this.#verifier
            .verifyInPool(token, pool)
            .then((verified): undefined => {
              this.#verified.set(token, verified);
              this.#checkReplay(verified, callerSpanId);
              this.#stats.add('incoming.verified');
              return undefined;
            })
            .catch((error: unknown) => this.#rejected(error)),
        );
      } catch (error) {
        failures.push(this.#rejected(error));
      }
    }
    const verdict =
      checks.length === 0
        ? undefined
        : Promise.all(checks).then((results) => results.filter((failure) => failure !== undefined));
    return { tokens, failures, verdict };
  }

  /** The tokens of one message's field lines; a message over the limits is one failure and no token. */
  #split(values: string | string[] | undefined, failures: EctError[]): string[] {
    try {
      return parseExecutionContext(values);
    } catch (error) {
      failures.push(this.#rejected(error));
      return [];
    }
  }

  #rejected(error: unknown): EctError {
    this.#stats.add('incoming.rejected');
    return isEctError(error)
      ? error
      : new EctError('ECT_MALFORMED', error instanceof Error ? error.message : String(error));
  }
}
