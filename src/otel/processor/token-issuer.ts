import type { Attributes, SpanContext } from '@opentelemetry/api';
import { ATTR, EDGE_PREDECESSOR } from '../../base/conventions.js';
import type { EctSigner, PendingEct } from '../../token/sign.js';
import type { EctStats } from '../stats.js';
import type { EctWritableSpan } from '../span-types.js';
import type { SpanBinding } from './binding.js';
import type { JoinPolicy } from './join-policy.js';
import type { SpanClaims } from './span-claims.js';
import { type BuildSpanClaims, LocalToken, type TokenRef } from './token-ref.js';
import type { TokenRegistry } from './token-registry.js';

/** A token the processor issued, handed to the export pipeline in issue order. */
export interface IssuedToken {
  readonly pending: PendingEct;
  /** The span the token describes (a join token: the span it was folded in). */
  readonly spanContext: SpanContext | undefined;
}

/** Where issued tokens go: the batch signer and log-record exporter. */
export interface TokenSink {
  push(token: IssuedToken): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** What a {@link TokenIssuer} works with. */
export interface TokenIssuerParts {
  signer: EctSigner;
  claims: SpanClaims;
  joins: JoinPolicy;
  registry: TokenRegistry;
  stats: EctStats;
  sink?: TokenSink | undefined;
}

/**
 * Issues tokens: fixes a span's token (its `jti`, `pred` and time) and records it on the span
 * (`ect.pred`, a span link per predecessor edge whose span is known), folds predecessors past
 * `maxPred` into join tokens, keeps every token in the registry and hands it to the sink, which
 * signs it off the request path.
 *
 * @example const token = issuer.issue(span, jti, wid, frontier.entries);
 */
export class TokenIssuer {
  readonly #signer: EctSigner;
  readonly #claims: SpanClaims;
  readonly #joins: JoinPolicy;
  readonly #registry: TokenRegistry;
  readonly #stats: EctStats;
  readonly #sink: TokenSink | undefined;
  readonly #buildClaims: BuildSpanClaims;

  constructor(parts: TokenIssuerParts) {
    this.#signer = parts.signer;
    this.#claims = parts.claims;
    this.#joins = parts.joins;
    this.#registry = parts.registry;
    this.#stats = parts.stats;
    this.#sink = parts.sink;
    const claims = parts.claims;
    this.#buildClaims = (span, jti, pred, iat, wid) => claims.forSpan(span, jti, pred, iat, wid);
  }

  /**
   * Issues the token of `span` naming `frontier` (folded first if too wide). Without `extra`, only
   * the jti, predecessors and time are fixed now and the claims are built from the ended
   * (immutable) span when the batch is signed; with `extra` (a token issued early, for a response
   * header) the claims are fixed from the span as it is now, to be signed at once.
   */
  issue(
    span: EctWritableSpan,
    jti: string,
    wid: string,
    frontier: readonly TokenRef[],
    extra?: Partial<SpanBinding>,
  ): LocalToken {
    let preds = frontier;
    while (!this.#joins.fitsPred(preds)) preds = this.#fold(span, wid, preds);
    const pred = new Array<string>(preds.length);
    for (let i = 0; i < preds.length; i++) pred[i] = preds[i]!.jti;
    const iat = Math.floor(Date.now() / 1000);
    const token =
      extra === undefined
        ? LocalToken.ofSpan(this.#signer, span, jti, pred, iat, wid, this.#buildClaims)
        : LocalToken.ofClaims(this.#signer, this.#claims.forSpan(span, jti, pred, iat, wid, extra), span.spanContext());
    span.setAttribute(ATTR.pred, pred);
    for (const p of preds) {
      if (p.spanContext !== undefined) span.addLink({ context: p.spanContext, attributes: edgeAttributes(p.jti) });
    }
    this.#registry.remember(token);
    this.#stats.add('tokens.issued');
    this.#sink?.push(token);
    return token;
  }

  /**
   * Issues a join token naming `preds`, bound to the span it is folded in. It has no span of its
   * own, so no span link ever points at it; its log record sits in the folding span.
   */
  join(span: EctWritableSpan, wid: string, preds: readonly TokenRef[]): TokenRef {
    const token = LocalToken.ofClaims(
      this.#signer,
      this.#claims.forJoin(
        span,
        wid,
        preds.map((t) => t.jti),
      ),
      undefined,
    );
    this.#stats.add('tokens.joined');
    this.#sink?.push({ pending: token, spanContext: span.spanContext() });
    return token;
  }

  #fold(span: EctWritableSpan, wid: string, preds: readonly TokenRef[]): TokenRef[] {
    const joins: TokenRef[] = [];
    for (const chunk of this.#joins.chunks(preds)) joins.push(this.join(span, wid, chunk));
    return joins;
  }
}

/** Attributes of a predecessor-edge span link. Literal keys: a literal with computed keys is built slower, once per edge. */
function edgeAttributes(jti: string): Attributes {
  return { 'ect.edge': EDGE_PREDECESSOR, 'ect.jti': jti } satisfies Record<(typeof ATTR)['edge' | 'jti'], string>;
}
