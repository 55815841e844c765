import type { SpanContext } from '@opentelemetry/api';
import { BoundedMap } from '../../base/bounded-map.js';
import type { TokenRef } from './token-ref.js';

/** Finds the token issued or received for a span: what the span exporter and span links need. */
export interface TokenLookup {
  /** The token for the span with this context, if it is still held. */
  tokenFor(context: SpanContext): TokenRef | undefined;
}

/**
 * Recent tokens by the span they describe, bounded (the newest half to all of `capacity` are
 * kept, oldest out first; see {@link BoundedMap}). Span links resolve here, and so does the span
 * exporter when it attaches each span's token, so `capacity` must cover the spans an exporter may
 * still hold unexported.
 *
 * Keyed by span id alone (no string built per span); a token whose span id is already held for
 * another trace (a custom id generator) goes under trace id + span id instead.
 *
 * @example
 * const registry = new TokenRegistry(8192);
 * registry.remember(token);
 * registry.tokenFor(span.spanContext()); // token
 */
export class TokenRegistry implements TokenLookup {
  readonly #bySpanId: BoundedMap<string, TokenRef>;

  constructor(capacity: number) {
    this.#bySpanId = new BoundedMap(capacity);
  }

  /** Keeps `token` under the span it describes; tokens of no span are not kept. */
  remember(token: TokenRef): void {
    const context = token.spanContext;
    if (context === undefined) return;
    const held = this.#bySpanId.get(context.spanId);
    if (held === undefined || held.spanContext?.traceId === context.traceId) this.#bySpanId.set(context.spanId, token);
    else this.#bySpanId.set(context.traceId + context.spanId, token);
  }

  tokenFor(context: SpanContext): TokenRef | undefined {
    const token = this.#bySpanId.get(context.spanId);
    if (token === undefined || token.spanContext?.traceId === context.traceId) return token;
    return this.#bySpanId.get(context.traceId + context.spanId);
  }
}
