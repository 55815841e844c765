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
 * Wraps a token issued by this process.
 *
 * @example const ref = localToken(signer.prepare(claims), claims.iat, claims.wid, span.spanContext());
 */
export function localToken(pending: PendingEct, iat: number, wid: string | undefined, spanContext: SpanContext | undefined): TokenRef {
  return { jti: pending.jti, iat, wid, spanContext, compact: () => pending.compact() };
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
