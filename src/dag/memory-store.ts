import { EctDagError } from '../base/errors.js';
import type { DagNode, DagStore } from './types.js';

/**
 * An in-memory {@link DagStore}: what one process has seen.
 *
 * @example const store = new MemoryDagStore(); store.add(verified.claims);
 */
export class MemoryDagStore implements DagStore {
  readonly #byJti = new Map<string, DagNode[]>();

  get size(): number {
    let count = 0;
    for (const nodes of this.#byJti.values()) count += nodes.length;
    return count;
  }

  get(jti: string): readonly DagNode[] {
    return this.#byJti.get(jti) ?? [];
  }

  add(node: DagNode): void {
    const existing = this.#byJti.get(node.jti);
    if (existing === undefined) {
      this.#byJti.set(node.jti, [node]);
      return;
    }
    if (existing.some((other) => other.wid === node.wid)) {
      throw new EctDagError(
        'ECT_DAG_DUPLICATE_JTI',
        node.jti,
        `jti ${node.jti} is already stored for workflow ${node.wid ?? '(none)'}`,
      );
    }
    existing.push(node);
  }
}
