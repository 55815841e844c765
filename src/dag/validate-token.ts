import { EctDagError } from '../base/errors.js';
import { checkEdge, pickPredecessor } from './edge-rules.js';
import { resolveDagOptions, type DagNode, type DagOptions, type DagStore, type DagViolation } from './types.js';

/** Result of {@link checkDagRules} for a token that broke no rule. */
export interface TokenDagResult {
  /** `partial` when some predecessors are not in the store. */
  status: 'valid' | 'partial';
  /** Predecessors not found. */
  missing: string[];
}

/**
 * Step 11 of the profile: checks one verified token against the tokens already in a store, and
 * throws an {@link EctDagError} for the first rule it breaks. Acyclicity walks the token's ancestors
 * breadth-first, at most `maxAncestors` (10,000) of them; a walk that would go further rejects with
 * `ECT_DAG_TRAVERSAL_LIMIT`. Missing predecessors are not an error: the result says `partial`.
 *
 * @example
 * const { status } = await checkDagRules(verified.claims, store);
 * await store.add(verified.claims);
 */
export async function checkDagRules(node: DagNode, store: DagStore, options?: DagOptions): Promise<TokenDagResult> {
  const resolved = resolveDagOptions(options);
  if ((await store.get(node.jti)).some((other) => other.wid === node.wid)) {
    throw new EctDagError(
      'ECT_DAG_DUPLICATE_JTI',
      node.jti,
      `jti ${node.jti} was already used in workflow ${node.wid ?? '(none)'}`,
    );
  }
  const missing: string[] = [];
  const violations: DagViolation[] = [];
  const predecessors: DagNode[] = [];
  for (const pred of node.pred) {
    const predecessor = pickPredecessor(await store.get(pred), node.wid);
    if (predecessor === undefined) missing.push(pred);
    else {
      checkEdge(node, predecessor, resolved, violations);
      predecessors.push(predecessor);
    }
  }
  const first = violations[0];
  if (first !== undefined) throw new EctDagError(first.code, node.jti, first.message);
  await checkNoCycle(node, predecessors, store, resolved.maxAncestors);
  return { status: missing.length > 0 ? 'partial' : 'valid', missing };
}

async function checkNoCycle(
  node: DagNode,
  predecessors: DagNode[],
  store: DagStore,
  maxAncestors: number,
): Promise<void> {
  const visited = new Set<DagNode>();
  let frontier = predecessors;
  while (frontier.length > 0) {
    const next: DagNode[] = [];
    for (const ancestor of frontier) {
      if (visited.has(ancestor)) continue;
      if (ancestor.jti === node.jti && ancestor.wid === node.wid) {
        throw new EctDagError('ECT_DAG_CYCLE', node.jti, `token ${node.jti} is its own ancestor`);
      }
      visited.add(ancestor);
      if (visited.size > maxAncestors) {
        throw new EctDagError(
          'ECT_DAG_TRAVERSAL_LIMIT',
          node.jti,
          `token ${node.jti} has more than ${maxAncestors} ancestors`,
        );
      }
      for (const pred of ancestor.pred) {
        if (pred === node.jti)
          throw new EctDagError(
            'ECT_DAG_CYCLE',
            node.jti,
            `token ${node.jti} is its own ancestor through ${ancestor.jti}`,
          );
        const found = pickPredecessor(await store.get(pred), ancestor.wid);
        if (found !== undefined) next.push(found);
      }
    }
    frontier = next;
  }
}
