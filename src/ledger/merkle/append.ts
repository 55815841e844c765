/**
 * Growing a stored tree: the nodes that appending leaves completes, given the nodes on the right
 * edge that wait for a right sibling. Shared by the stores so that they grow trees identically.
 */
import { nodeHash } from './hash.js';
import type { NodeReader } from './range.js';

/** A node position: tree level (0 = leaves) and index within the level. */
export interface NodePosition {
  level: number;
  index: number;
}

/**
 * The stored nodes a tree of `size` leaves needs to grow: at each level with an odd node count,
 * its last node (the left sibling of the next one).
 *
 * @example rightEdge(6) // [{ level: 1, index: 2 }]
 */
export function rightEdge(size: number): NodePosition[] {
  const edge: NodePosition[] = [];
  for (let level = 0; 2 ** level <= size; level++) {
    const count = Math.floor(size / 2 ** level);
    if (count % 2 === 1) edge.push({ level, index: count - 1 });
  }
  return edge;
}

/**
 * The nodes completed by appending `leaves` to a tree of `size` leaves, per level, in index
 * order; level `l`'s new nodes start at index ⌊size / 2^l⌋. `leftSibling(level)` returns the
 * stored last node of `level` (see {@link rightEdge}).
 *
 * @example grow(0, [a, b], () => undefined) // [[a, b], [nodeHash(a, b)]]
 */
export function grow(
  size: number,
  leaves: readonly Uint8Array[],
  leftSibling: (level: number) => Uint8Array | undefined,
): Buffer[][] {
  const waiting: (Uint8Array | undefined)[] = [];
  for (const { level } of rightEdge(size)) waiting[level] = leftSibling(level);
  const added: Buffer[][] = [];
  leaves.forEach((leaf, i) => {
    let hash: Buffer = Buffer.from(leaf);
    let index = size + i;
    for (let level = 0; ; level++) {
      const atLevel = added[level] ?? [];
      added[level] = atLevel;
      atLevel.push(hash);
      if (index % 2 === 0) {
        waiting[level] = hash;
        break;
      }
      const left = waiting[level];
      if (left === undefined) throw new RangeError(`no stored left sibling at level ${level}`);
      waiting[level] = undefined;
      hash = nodeHash(left, hash);
      index = (index - 1) / 2;
    }
  });
  return added;
}

/**
 * Runs a proof or root computation once to learn which stored nodes it reads (the shape of a
 * proof does not depend on hash values), so that a store can fetch them in one query.
 *
 * @example const needed = nodesRead((read) => inclusionProof(read, 5, 100));
 */
export function nodesRead(run: (read: NodeReader) => unknown): NodePosition[] {
  const seen = new Map<string, NodePosition>();
  const placeholder = Buffer.alloc(32);
  run((level, index) => {
    seen.set(`${level}/${index}`, { level, index });
    return placeholder;
  });
  return [...seen.values()];
}

/**
 * A {@link NodeReader} over fetched nodes; throws for a node that was not fetched.
 *
 * @example inclusionProof(readerOverNodes(fetched), 5, 100)
 */
export function readerOverNodes(nodes: ReadonlyMap<string, Uint8Array>): NodeReader {
  return (level, index) => {
    const hash = nodes.get(`${level}/${index}`);
    if (hash === undefined) throw new RangeError(`node ${level}/${index} was not fetched`);
    return hash;
  };
}
