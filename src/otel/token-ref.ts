import type { SpanContext } from '@opentelemetry/api';
import type { PendingEct } from '../token/sign.js';
import type { VerifiedEct } from '../token/claims.js';

/**
 * A token as a frontier holds it: issued here (signed on demand) or received verified from a peer.
 * `spanContext` is the span the token describes, when known, for span links.
 */
export interface TokenRef {
  readonly jti: string;
  readonly iat: number;
  readonly wid: string | undefined;
  readonly spanContext: SpanContext | undefined;
  /** The compact JWS; signs now if the token was issued here and not yet signed. */
  compact(): string;
}

/**
 * A token issued by this process: one object serves as frontier entry and as the pipeline's work
 * item (the span processor makes one per span, so it is kept to a single allocation).
 *
 * @example const ref = new LocalToken(signer.prepare(claims), claims.iat, claims.wid, span.spanContext());
 */
export class LocalToken implements TokenRef {
  constructor(
    readonly pending: PendingEct,
    readonly iat: number,
    readonly wid: string | undefined,
    readonly spanContext: SpanContext | undefined,
  ) {}

  get jti(): string {
    return this.pending.jti;
  }

  compact(): string {
    return this.pending.compact();
  }
}

/**
 * Wraps a verified token received from a peer; its span comes from the token's OTel binding.
 *
 * @example const ref = remoteToken(verifier.verifySync(header), spanContextOf(verified));
 */
export function remoteToken(verified: VerifiedEct, spanContext: SpanContext | undefined): TokenRef {
  return {
    jti: verified.claims.jti,
    iat: verified.claims.iat,
    wid: verified.claims.wid,
    spanContext,
    compact: () => verified.token,
  };
}
