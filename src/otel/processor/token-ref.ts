import type { SpanContext } from '@opentelemetry/api';
import type { Signable } from '../../token/crypto-pool.js';
import { PendingEct, type EctSigner } from '../../token/sign.js';
import type { EctClaims } from '../../token/claims.js';
import type { EctReadableSpan } from '../span-types.js';

/**
 * A token as a frontier holds it: issued here (signed on demand) or received verified from a peer.
 * `spanContext` is the span the token describes, when known, for span links.
 */
export interface TokenRef extends Signable {
  readonly jti: string;
  readonly iat: number;
  readonly wid: string | undefined;
  readonly spanContext: SpanContext | undefined;
  /** The compact JWS; signs now if the token was issued here and not yet signed. */
  compact(): string;
}

const NO_PRED: readonly string[] = Object.freeze([]);

/** Builds the claims of a span's token from the ended span, when the token is first signed. */
export type BuildSpanClaims = (
  span: EctReadableSpan,
  jti: string,
  pred: readonly string[],
  iat: number,
  wid: string,
) => EctClaims;

/**
 * A token issued by this process: one object is the pending token, the frontier entry and the
 * pipeline's work item (the span processor makes one per span, so it is kept to one allocation).
 * A span's token ({@link LocalToken.ofSpan}) fixes `jti`, `pred` and `iat` at span end and builds
 * the rest of its claims from the ended span when it is first signed, letting go of the span then.
 *
 * @example const ref = LocalToken.ofClaims(signer, claims, span.spanContext());
 */
export class LocalToken extends PendingEct implements TokenRef {
  readonly iat: number;
  readonly wid: string | undefined;
  readonly spanContext: SpanContext | undefined;
  #build: BuildSpanClaims | undefined;
  #span: EctReadableSpan | undefined;
  /** The predecessors this token names (fixed when it is issued). */
  pred: readonly string[] = NO_PRED;

  private constructor(
    signer: EctSigner,
    jti: string,
    iat: number,
    wid: string | undefined,
    spanContext: SpanContext | undefined,
    claims?: EctClaims,
  ) {
    super(signer, jti, claims);
    this.iat = iat;
    this.wid = wid;
    this.spanContext = spanContext;
  }

  /** A token whose claims are fixed now; `spanContext` is the span it describes, if any. */
  static ofClaims(signer: EctSigner, claims: EctClaims, spanContext: SpanContext | undefined): LocalToken {
    const token = new LocalToken(signer, claims.jti, claims.iat, claims.wid, spanContext, claims);
    token.pred = claims.pred;
    return token;
  }

  /** A span's token, its claims built by `build` from the (by then ended) span on first demand. */
  static ofSpan(
    signer: EctSigner,
    span: EctReadableSpan,
    jti: string,
    pred: readonly string[],
    iat: number,
    wid: string,
    build: BuildSpanClaims,
  ): LocalToken {
    const token = new LocalToken(signer, jti, iat, wid, span.spanContext());
    token.#build = build;
    token.#span = span;
    token.pred = pred;
    return token;
  }

  /** As a work item of the token pipeline. */
  get pending(): PendingEct {
    return this;
  }

  protected override buildClaims(): EctClaims {
    const build = this.#build;
    const span = this.#span;
    if (build === undefined || span === undefined || this.wid === undefined) return super.buildClaims();
    this.#build = undefined;
    this.#span = undefined;
    return build(span, this.jti, this.pred, this.iat, this.wid);
  }
}

/**
 * A token received from a peer (verified, or in record mode with a crypto pool still being
 * verified), as a frontier holds it; its span comes from the token's OTel binding.
 *
 * @example const ref = remoteToken(verified.token, verified.claims, boundSpanContext(verified.claims));
 */
export function remoteToken(
  compact: string,
  claims: Pick<EctClaims, 'jti' | 'iat' | 'wid'>,
  spanContext: SpanContext | undefined,
): TokenRef {
  return {
    jti: claims.jti,
    iat: claims.iat,
    wid: claims.wid,
    spanContext,
    signed: true,
    compact: () => compact,
    compactAsync: () => Promise.resolve(compact),
  };
}
