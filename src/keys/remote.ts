import { readCappedBody } from '../base/capped-body.js';
import { createRemoteJWKSet, customFetch, type RemoteJWKSet } from 'jose';
import { EctKeyError } from '../base/errors.js';
import { JwksResolver } from './jwks-resolver.js';
import type { KeyResolver, VerificationKey } from './types.js';

/** Options of {@link RemoteJwksResolver}. */
export interface RemoteJwksOptions {
  /** How long a fetched set is fresh, ms. Default 10 min (jose's default). */
  cacheMaxAgeMs?: number;
  /** Minimum time between fetches triggered by unknown `kid`s, ms. Default 30 s. */
  cooldownMs?: number;
  /** Fetch timeout, ms (the whole response, body included). Default 5 s. */
  timeoutMs?: number;
  /** Largest JWK Set body accepted, bytes; a larger one fails the fetch unread. Default 1 MiB. */
  maxBytes?: number;
  /** Called when a background refresh fails; the resolver keeps serving the last good set. */
  onError?: (error: unknown) => void;
}

/**
 * Resolves `kid`s against a remote JWK Set URL, fetched and cached by `jose`'s
 * `createRemoteJWKSet` (cache age, cooldown, timeout). `resolve` fetches when a `kid` is unknown and
 * the cooldown allows; `resolveSync` answers from the last fetched set and starts a refresh in the
 * background for an unknown `kid` (cooldown permitting) or a stale set, so the synchronous
 * propagator path never waits on the network.
 *
 * @example const keys = new RemoteJwksResolver(new URL('https://issuer.example/.well-known/jwks.json'));
 */
export class RemoteJwksResolver implements KeyResolver {
  readonly #remote: RemoteJWKSet;
  readonly #onError: (error: unknown) => void;
  readonly #cooldownMs: number;
  #local = new JwksResolver();
  #pending: Promise<void> | undefined;
  #failedAt = Number.NEGATIVE_INFINITY;

  constructor(url: URL, options: RemoteJwksOptions = {}) {
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#remote = createRemoteJWKSet(url, {
      cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
      cooldownDuration: this.#cooldownMs,
      timeoutDuration: options.timeoutMs ?? 5_000,
      [customFetch]: cappedFetch(options.maxBytes ?? 1 << 20),
    });
    this.#onError = options.onError ?? (() => {});
  }

  resolveSync(kid: string): VerificationKey | undefined {
    const key = this.#local.resolveSync(kid);
    // An unknown kid refetches only outside the cooldown, as `resolve` does: tokens naming random
    // kids must not turn into one JWK Set fetch each.
    if (((key === undefined && !this.#remote.coolingDown) || !this.#remote.fresh) && this.#mayFetch()) {
      this.refresh().catch(() => {}); // reported once, in #reload
    }
    return key;
  }

  async resolve(kid: string): Promise<VerificationKey | undefined> {
    if (this.#local.resolveSync(kid) === undefined || !this.#remote.fresh) {
      if ((!this.#remote.coolingDown || this.#remote.jwks() === undefined) && this.#mayFetch()) {
        // An unreachable JWK Set leaves the last good keys in place; an unknown kid then fails
        // verification as ECT_KEY_UNKNOWN instead of surfacing a fetch error.
        await this.refresh().catch(() => {});
      }
    }
    return this.#local.resolveSync(kid);
  }

  /**
   * Fetches the set now (joining a fetch under way) and rebuilds the key map from it. A failure
   * rejects, and reaches `onError` once per fetch however many callers joined it.
   */
  refresh(): Promise<void> {
    this.#pending ??= this.#reload().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /**
   * False for `cooldownMs` after a failed fetch: jose cools down only after a success, so a URL
   * that hangs, errs or answers too much would otherwise be fetched again as soon as the last
   * attempt ended (with hostile.bench.mjs's 50 MB answer, 319 fetches in 8 s), unless one is under
   * way, which is joined.
   */
  #mayFetch(): boolean {
    return this.#pending !== undefined || Date.now() - this.#failedAt >= this.#cooldownMs;
  }

  async #reload(): Promise<void> {
    try {
      await this.#remote.reload();
    } catch (error) {
      this.#failedAt = Date.now();
      this.#onError(error);
      throw error;
    }
    const jwks = this.#remote.jwks();
    if (jwks !== undefined) this.#local = JwksResolver.fromJwks(jwks);
  }
}

/**
 * `fetch` that refuses a body over `maxBytes`: jose reads the whole response with `response.json()`;
 * with a JWK Set URL answering 50 MB, a loaded service's peak RSS went from about 210 to 425 MiB and
 * its throughput from about 1,300 to 122 req/s (test/bench/hostile.bench.mjs jwks, 8 s). The body
 * is read as a stream and the fetch abandoned once it passes the cap (or at once when
 * `Content-Length` says so); the fetch then fails like any other, the last good keys stay in use,
 * and the failure reaches `onError`.
 */
function cappedFetch(maxBytes: number) {
  return async (url: string, init: RequestInit): Promise<Response> => {
    const response = await fetch(url, init);
    const body = await readCappedBody(
      response,
      maxBytes,
      () => new EctKeyError(`the JWK Set at ${url} is over ${maxBytes} bytes`),
    );
    return new Response(body, { status: response.status, headers: response.headers });
  };
}
