import { createRemoteJWKSet, type RemoteJWKSet } from 'jose';
import { JwksResolver } from './jwks-resolver.js';
import type { KeyResolver, VerificationKey } from './types.js';

/** Options of {@link RemoteJwksResolver}. */
export interface RemoteJwksOptions {
  /** How long a fetched set is fresh, ms. Default 10 min (jose's default). */
  cacheMaxAgeMs?: number;
  /** Minimum time between fetches triggered by unknown `kid`s, ms. Default 30 s. */
  cooldownMs?: number;
  /** Fetch timeout, ms. Default 5 s. */
  timeoutMs?: number;
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
  #local = new JwksResolver();

  constructor(url: URL, options: RemoteJwksOptions = {}) {
    this.#remote = createRemoteJWKSet(url, {
      cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
      cooldownDuration: options.cooldownMs ?? 30_000,
      timeoutDuration: options.timeoutMs ?? 5_000,
    });
    this.#onError = options.onError ?? (() => {});
  }

  resolveSync(kid: string): VerificationKey | undefined {
    const key = this.#local.resolveSync(kid);
    // An unknown kid refetches only outside the cooldown, as `resolve` does: tokens naming random
    // kids must not turn into one JWK Set fetch each.
    if ((key === undefined && !this.#remote.coolingDown) || !this.#remote.fresh) this.refresh().catch(this.#onError);
    return key;
  }

  async resolve(kid: string): Promise<VerificationKey | undefined> {
    if (this.#local.resolveSync(kid) === undefined || !this.#remote.fresh) {
      if (!this.#remote.coolingDown || this.#remote.jwks() === undefined) {
        // An unreachable JWK Set leaves the last good keys in place; an unknown kid then fails
        // verification as ECT_KEY_UNKNOWN instead of surfacing a fetch error.
        await this.refresh().catch(this.#onError);
      }
    }
    return this.#local.resolveSync(kid);
  }

  /** Fetches the set now (joining a fetch under way) and rebuilds the key map from it. */
  async refresh(): Promise<void> {
    await this.#remote.reload();
    const jwks = this.#remote.jwks();
    if (jwks !== undefined) this.#local = JwksResolver.fromJwks(jwks);
  }
}
