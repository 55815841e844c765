import { LIMITS } from '../../base/limits.js';
import { fitsExecutionContext } from '../../token/header.js';
import type { TokenRef } from './token-ref.js';

/** Options of {@link JoinPolicy}. */
export interface JoinPolicyOptions {
  /** Most `pred` entries in one token before the frontier is folded into join tokens. Default 100. */
  maxPred?: number;
  /** Lifetime of the tokens this service issues, seconds: a predecessor older than this less a minute is stale. */
  ttlSeconds?: number;
}

// A predecessor is sent as it is only while a receiver has a minute left to accept it.
const STALE_MARGIN_SECONDS = 60;

/**
 * When a frontier is carried as it is and when it is folded into join tokens (src/otel/DESIGN.md
 * §3): `pred` holds at most `maxPred` entries, and a request carries its predecessors only while
 * they fit one `Execution-Context` message and none is close to expiry. Edges are folded, never
 * dropped. Pure decisions: the tracker issues the join tokens.
 *
 * @example
 * const joins = new JoinPolicy({ maxPred: 100 });
 * for (const chunk of joins.chunks(frontier)) folded.push(issueJoin(chunk));
 */
export class JoinPolicy {
  readonly maxPred: number;
  readonly #ttlSeconds: number;

  constructor(options: JoinPolicyOptions = {}) {
    this.maxPred = options.maxPred ?? LIMITS.maxPred;
    this.#ttlSeconds = options.ttlSeconds ?? LIMITS.defaultTtlSeconds;
  }

  /** True when a token may name `preds` directly. */
  fitsPred(preds: readonly TokenRef[]): boolean {
    return preds.length <= this.maxPred;
  }

  /** `preds` in slices of at most `maxPred`: one join token each. */
  *chunks(preds: readonly TokenRef[]): Generator<readonly TokenRef[]> {
    for (let i = 0; i < preds.length; i += this.maxPred) yield preds.slice(i, i + this.maxPred);
  }

  /**
   * True when a request may carry `preds` as they are. Signing is what costs here, so the tokens
   * are compacted (signed) only once the cheap checks pass: a stale or too numerous set goes out
   * as one join token either way.
   */
  sendableAsIs(preds: readonly TokenRef[], nowSeconds: number): boolean {
    if (preds.length > LIMITS.maxHeaderTokens) return false;
    for (const token of preds) if (nowSeconds - token.iat > this.#ttlSeconds - STALE_MARGIN_SECONDS) return false;
    return fitsExecutionContext(preds.map((token) => token.compact()));
  }
}
