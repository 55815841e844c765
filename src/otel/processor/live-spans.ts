import type { SpanContext } from '@opentelemetry/api';

/** What {@link LiveSpans} keys by: a span of either SDK line. */
export interface SpanLike {
  spanContext(): SpanContext;
}

/** A per-span record that names its span, so a lookup by span id can check identity. */
export interface SpanOwned {
  readonly span: SpanLike;
}

/**
 * The state of every span that started and has not ended, found by the span object.
 *
 * Why not a `WeakMap` keyed by the span: in a microbenchmark of one set, get and delete per SDK
 * span (callgrind), that cost +9.3k instructions per span, more than the plain span's own ~6k,
 * against +1.6k for a `Map` keyed by the span id; with the whole processor, the signed-span total
 * (npm run bench:otel, (c)) fell about 10%. The id is only a hint: the entry must name the
 * same span object, and a second live span with the same id (a custom id generator) is kept in a
 * `WeakMap` beside.
 *
 * Unlike a `WeakMap`, this holds spans that never end; past `capacity` live spans new ones are
 * refused (the caller counts them), so an application that leaks spans cannot grow it without bound.
 *
 * @example
 * const live = new LiveSpans<State>(65_536);
 * if (!live.add({ span, jti })) stats.fail('spans.untracked', new Error('too many live spans'));
 */
export class LiveSpans<S extends SpanOwned> {
  /** Live spans held at most. */
  readonly capacity: number;
  readonly #byId = new Map<string, S>();
  readonly #collided = new WeakMap<object, S>();
  #collisions = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#byId.size + this.#collisions;
  }

  /** True when {@link LiveSpans.capacity} spans are live: {@link LiveSpans.add} would refuse. */
  get full(): boolean {
    return this.size >= this.capacity;
  }

  get(span: SpanLike): S | undefined {
    const state = this.#byId.get(span.spanContext().spanId);
    if (state !== undefined && state.span === span) return state;
    return this.#collisions === 0 ? undefined : this.#collided.get(span);
  }

  /** Adds a state; false (and nothing stored) when `capacity` spans are live already. */
  add(state: S): boolean {
    if (this.full) return false;
    const id = state.span.spanContext().spanId;
    if (this.#byId.has(id)) {
      this.#collided.set(state.span, state);
      this.#collisions++;
    } else {
      this.#byId.set(id, state);
    }
    return true;
  }

  delete(state: S): void {
    const id = state.span.spanContext().spanId;
    if (this.#byId.get(id) === state) this.#byId.delete(id);
    else if (this.#collisions > 0 && this.#collided.delete(state.span)) this.#collisions--;
  }
}
