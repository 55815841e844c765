import { statSync } from 'node:fs';
import { readJwkSetFolder } from './files.js';
import { JwksResolver } from './jwks-resolver.js';
import type { KeyResolver, VerificationKey } from './types.js';

/**
 * Resolves `kid`s over every JWK Set file (`*.json`) in a directory, rescanning it when a `kid` is
 * unknown and the directory changed since the last scan (a peer just wrote its key), or at most once
 * per `rescanMs` otherwise (a file rewritten in place). This is how services on one machine find each other's
 * development keys with no configuration: each writes its JWK Set there. Unreadable files are
 * skipped, so one bad file does not hide the others.
 *
 * @example const keys = new DirectoryJwksResolver('.ect/jwks');
 */
export class DirectoryJwksResolver implements KeyResolver {
  readonly dir: string;
  readonly #rescanMs: number;
  readonly #extra: readonly VerificationKey[];
  #keys = new JwksResolver();
  #scannedAt = -Infinity;
  #scannedMtime = -1;

  constructor(dir: string, options: { rescanMs?: number; extraKeys?: readonly VerificationKey[] } = {}) {
    this.dir = dir;
    this.#rescanMs = options.rescanMs ?? 1000;
    this.#extra = options.extraKeys ?? [];
    this.rescan();
  }

  resolveSync(kid: string): VerificationKey | undefined {
    const key = this.#keys.resolveSync(kid);
    if (key !== undefined) return key;
    if (this.#mtime() === this.#scannedMtime && Date.now() - this.#scannedAt < this.#rescanMs) return undefined;
    this.rescan();
    return this.#keys.resolveSync(kid);
  }

  /** Reloads every JWK Set in the directory now; unreadable files are skipped. */
  rescan(): void {
    this.#scannedMtime = this.#mtime();
    const keys = new JwksResolver(this.#extra);
    try {
      const found = readJwkSetFolder(this.dir, () => {});
      for (const kid of found.kids) keys.add(found.resolveSync(kid)!);
    } catch {
      // A missing directory is an empty key set until someone writes to it.
    }
    this.#keys = keys;
    this.#scannedAt = Date.now();
  }

  #mtime(): number {
    try {
      return statSync(this.dir).mtimeMs;
    } catch {
      return -1;
    }
  }
}
