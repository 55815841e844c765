export type {
  DagNode,
  DagOptions,
  DagViolation,
  DagVerdict,
  DagReport,
  DagStore,
  ResolvedDagOptions,
} from './types.js';
export { resolveDagOptions } from './types.js';
export { trustDomainOf, checkEdge, pickPredecessor } from './edge-rules.js';
export { nodesOnCycles } from './cycles.js';
export { validateDag } from './validate-set.js';
export { checkDagRules, type TokenDagResult } from './validate-token.js';
export { MemoryDagStore } from './memory-store.js';
export { topologicalOrder } from './order.js';
