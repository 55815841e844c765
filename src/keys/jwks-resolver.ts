import type { JsonWebKey } from 'node:crypto';
import { EctKeyError } from '../base/errors.js';
import { importVerificationJwk, type JwkSet } from './jwk.js';
import type { KeyResolver, VerificationKey } from './types.js';

/**
 * Resolves `kid`s over a fixed set of verification keys (a local JWK Set). Several keys may be
 * active at once, which is how rotation works: publish the new key beside the old one, switch the
 * signer, retire the old key when its last token has expired.
 *
 * @example const keys = JwksResolver.fromJwks(JSON.parse(fs.readFileSync('jwks.json', 'utf8')));
 */
export class JwksResolver implements KeyResolver {
  readonly #byKid = new Map<string, VerificationKey>();

  constructor(keys: Iterable<VerificationKey> = []) {
    for (const key of keys) this.add(key);
  }

  /**
   * Builds a resolver from a JWK Set object. Keys that are not for signing (`use` other than `sig`)
   * or of a type this package does not verify (RSA, P-521, X25519, …, common in shared sets) are
   * skipped; a set with no usable key at all is refused.
   *
   * @example JwksResolver.fromJwks({ keys: [publicJwk] })
   */
  static fromJwks(jwks: unknown): JwksResolver {
    if (jwks === null || typeof jwks !== 'object' || !Array.isArray((jwks as JwkSet).keys)) {
      throw new EctKeyError('not a JWK Set: expected an object with a "keys" array');
    }
    const candidates = (jwks as JwkSet).keys.filter(
      (jwk: JsonWebKey & { use?: unknown }) => jwk.use === undefined || jwk.use === 'sig',
    );
    const usable: VerificationKey[] = [];
    let firstError: unknown;
    for (const jwk of candidates) {
      try {
        usable.push(importVerificationJwk(jwk));
      } catch (error) {
        firstError ??= error;
      }
    }
    if (usable.length === 0 && firstError !== undefined) throw firstError;
    return new JwksResolver(usable);
  }

  /** Adds (or replaces) a key; a duplicate `kid` for a different key is refused. */
  add(key: VerificationKey): void {
    const existing = this.#byKid.get(key.kid);
    if (existing !== undefined && !existing.publicKey.equals(key.publicKey)) {
      throw new EctKeyError(`two different keys share kid ${key.kid}`);
    }
    this.#byKid.set(key.kid, key);
  }

  /** Removes a key (retiring it after rotation). */
  remove(kid: string): boolean {
    return this.#byKid.delete(kid);
  }

  get kids(): string[] {
    return [...this.#byKid.keys()];
  }

  resolveSync(kid: string): VerificationKey | undefined {
    return this.#byKid.get(kid);
  }
}
