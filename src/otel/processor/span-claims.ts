import type { Attributes } from '@opentelemetry/api';
import {
  ATTR,
  GEN_AI_INPUT_KEYS,
  GEN_AI_OUTPUT_KEYS,
  JOIN_EXEC_ACT,
  SPAN_BINDING_KEY,
} from '../../base/conventions.js';
import { LIMITS } from '../../base/limits.js';
import type { EctClaims, JsonObject } from '../../token/claims.js';
import { hashOctets } from '../../token/hash.js';
import { newClaims } from '../../token/sign.js';
import type { EctReadableSpan } from '../span-types.js';
import { type SpanBinding, spanBinding } from './binding.js';
import { deriveExecAct } from './exec-act.js';

/** Options of {@link SpanClaims}. */
export interface SpanClaimsOptions {
  /** `iss` of every token. Default {@link defaultIssuer} of the span's `service.name`. */
  issuer?: string;
  /** Default `example.org`. */
  trustDomain?: string;
  /** `aud` of every token. Default `spiffe://{trustDomain}`. */
  audience?: string | readonly string[];
  /** Token lifetime, seconds. Default 600. */
  ttlSeconds?: number;
  /** Hash GenAI content attributes into `inp_hash`/`out_hash`. Default true. */
  hashGenAiContent?: boolean;
}

/**
 * The issuer a service signs as when none is configured: a SPIFFE-style id from its trust domain
 * and `service.name`.
 *
 * @example defaultIssuer('example.org', 'payments') // 'spiffe://example.org/service/payments'
 */
export function defaultIssuer(trustDomain: string, serviceName: string): string {
  return `spiffe://${trustDomain}/service/${encodeURIComponent(serviceName)}`;
}

/**
 * The claims policy of span tokens: issuer, audience and lifetime, `exec_act` from the span, the
 * span binding in `ect_ext`, and `inp_hash`/`out_hash` from explicit attributes or GenAI content
 * (src/otel/DESIGN.md §4).
 *
 * @example
 * const claims = new SpanClaims({ trustDomain: 'example.org' });
 * const token = claims.forSpan(span, jti, pred, iat, wid);
 */
export class SpanClaims {
  /** Token lifetime, seconds. */
  readonly ttlSeconds: number;
  readonly trustDomain: string;
  readonly #issuer: string | undefined;
  readonly #audience: string | string[];
  readonly #hashGenAi: boolean;
  #issuerCache: { resource: object; issuer: string } | undefined;

  constructor(options: SpanClaimsOptions = {}) {
    this.#issuer = options.issuer;
    this.trustDomain = options.trustDomain ?? 'example.org';
    const audience = options.audience ?? `spiffe://${this.trustDomain}`;
    this.#audience = typeof audience === 'string' ? audience : [...audience];
    this.ttlSeconds = options.ttlSeconds ?? LIMITS.defaultTtlSeconds;
    this.#hashGenAi = options.hashGenAiContent ?? true;
  }

  /**
   * The claims of a span's token. `extra` adds binding members known only to the caller (the HTTP
   * status of a response whose head carries the token).
   */
  forSpan(
    span: EctReadableSpan,
    jti: string,
    pred: readonly string[],
    iat: number,
    wid: string,
    extra?: Partial<SpanBinding>,
  ): EctClaims {
    const attributes = span.attributes;
    const claims = newClaims({
      iss: this.issuerOf(span),
      aud: this.#audience,
      exec_act: deriveExecAct(span.name, attributes),
      pred,
      jti,
      wid,
      iat,
      ttlSeconds: this.ttlSeconds,
      ect_ext: { [SPAN_BINDING_KEY]: spanBinding(span, extra) as unknown as JsonObject },
    });
    const inpHash = this.#hashOf(attributes, ATTR.inpHash, GEN_AI_INPUT_KEYS);
    const outHash = this.#hashOf(attributes, ATTR.outHash, GEN_AI_OUTPUT_KEYS);
    if (inpHash !== undefined) claims.inp_hash = inpHash;
    if (outHash !== undefined) claims.out_hash = outHash;
    return claims;
  }

  /** The claims of a join token folding `pred`, bound to the span it was folded in. */
  forJoin(span: EctReadableSpan, wid: string, pred: readonly string[]): EctClaims {
    return newClaims({
      iss: this.issuerOf(span),
      aud: this.#audience,
      exec_act: JOIN_EXEC_ACT,
      pred,
      wid,
      ttlSeconds: this.ttlSeconds,
      ect_ext: { [SPAN_BINDING_KEY]: { ...spanBinding(span), status: 'UNSET', join: true } as unknown as JsonObject },
    });
  }

  /** The issuer of a span's tokens: the configured one, else from its resource's `service.name`. */
  issuerOf(span: EctReadableSpan): string {
    if (this.#issuer !== undefined) return this.#issuer;
    const resource = span.resource;
    if (this.#issuerCache?.resource !== resource) {
      const service = resource.attributes['service.name'];
      const name = typeof service === 'string' && service !== '' ? service : 'unknown_service';
      this.#issuerCache = { resource, issuer: defaultIssuer(this.trustDomain, name) };
    }
    return this.#issuerCache.issuer;
  }

  #hashOf(attributes: Attributes, explicit: string, genAiKeys: readonly string[]): string | undefined {
    const given = attributes[explicit];
    if (typeof given === 'string') return given;
    if (!this.#hashGenAi) return undefined;
    for (const key of genAiKeys) {
      const value = attributes[key];
      if (value !== undefined) return hashOctets(typeof value === 'string' ? value : JSON.stringify(value));
    }
    return undefined;
  }
}
