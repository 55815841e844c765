import type { TokenRef } from './token-ref.js';

/**
 * A span's frontier: the tokens completed within its scope and not yet covered by a later token
 * of that scope (design.md §2). Insertion-ordered and free of duplicates.
 */
export class Frontier {
  #entries: TokenRef[];

  constructor(entries: readonly TokenRef[] = []) {
    this.#entries = [];
    for (const entry of entries) this.add(entry);
  }

  /** A frontier over `entries`, which must hold no `jti` twice; takes ownership of the array. */
  static ofUnique(entries: TokenRef[]): Frontier {
    const frontier = new Frontier();
    frontier.#entries = entries;
    return frontier;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The entries, oldest first. */
  toArray(): TokenRef[] {
    return this.#entries.slice();
  }

  forEach(visit: (entry: TokenRef) => void): void {
    for (const entry of this.#entries) visit(entry);
  }

  add(entry: TokenRef): void {
    if (!this.#entries.some((existing) => existing.jti === entry.jti)) this.#entries.push(entry);
  }

  /** Removes every entry whose `jti` is in `covered`, then adds `replacements`. */
  replace(covered: ReadonlySet<string>, replacements: readonly TokenRef[]): void {
    if (covered.size > 0) this.#entries = this.#entries.filter((entry) => !covered.has(entry.jti));
    for (const entry of replacements) this.add(entry);
  }
}
