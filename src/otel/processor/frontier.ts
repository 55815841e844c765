import type { TokenRef } from './token-ref.js';

/** `jti`s a token covers: a short array is scanned, a long one is made a `Set` first ({@link coveredSet}). */
export type Covered = ReadonlySet<string> | readonly string[];

const NONE: readonly TokenRef[] = Object.freeze([]);

// Below this many entries a linear scan beats building a Set (most spans name one to three).
const SCAN_LIMIT = 16;

/**
 * `jti`s as a membership test: the array itself while short, a `Set` once scanning would cost more.
 *
 * @example frontier.replace(coveredSet([...named, ...startJtis]), [token]);
 */
export function coveredSet(jtis: readonly string[]): Covered {
  return jtis.length <= SCAN_LIMIT ? jtis : new Set(jtis);
}

function isEmpty(covered: Covered): boolean {
  return Array.isArray(covered) ? covered.length === 0 : (covered as ReadonlySet<string>).size === 0;
}

function covers(covered: Covered, jti: string): boolean {
  return Array.isArray(covered)
    ? (covered as readonly string[]).includes(jti)
    : (covered as ReadonlySet<string>).has(jti);
}

/**
 * A span's frontier: the tokens completed within its scope and not yet covered by a later token
 * of that scope (src/otel/DESIGN.md §2). Insertion-ordered and free of duplicates. Made once per span, so
 * it allocates nothing until it holds something.
 */
export class Frontier {
  #entries: TokenRef[] | undefined;

  constructor(entries: readonly TokenRef[] = []) {
    for (const entry of entries) this.add(entry);
  }

  /** A frontier over `entries`, which must hold no `jti` twice; takes ownership of the array. */
  static ofUnique(entries: TokenRef[]): Frontier {
    const frontier = new Frontier();
    if (entries.length > 0) frontier.#entries = entries;
    return frontier;
  }

  get size(): number {
    return this.#entries?.length ?? 0;
  }

  /** The entries, oldest first, without a copy: valid until the frontier next changes. */
  get entries(): readonly TokenRef[] {
    return this.#entries ?? NONE;
  }

  /** The entries, oldest first (a copy). */
  toArray(): TokenRef[] {
    return this.#entries === undefined ? [] : this.#entries.slice();
  }

  add(entry: TokenRef): void {
    this.#entries ??= [];
    const entries = this.#entries;
    for (const existing of entries) if (existing.jti === entry.jti) return;
    entries.push(entry);
  }

  /** Removes every entry whose `jti` is `covered`, then adds `replacements`. */
  replace(covered: Covered, replacements: readonly TokenRef[]): void {
    const entries = this.#entries;
    if (entries !== undefined && !isEmpty(covered)) {
      let kept = 0;
      for (const entry of entries) if (!covers(covered, entry.jti)) entries[kept++] = entry;
      entries.length = kept;
    }
    for (const entry of replacements) this.add(entry);
  }
}
