import { topologicalOrder } from '../dag/order.js';
import type { DagNode } from '../dag/types.js';

/**
 * A plain-text picture of the DAG: one line per token in causal order, with its predecessors.
 *
 * @example console.log(renderDagText(nodes));
 */
export function renderDagText(nodes: readonly DagNode[]): string {
  const ordered = topologicalOrder(nodes);
  const number = new Map<string, number>();
  for (const [i, node] of ordered.entries()) number.set(node.jti, i + 1);
  const width = Math.max(8, ...ordered.map((n) => (n.exec_act ?? '').length));
  return ordered
    .map((node, i) => {
      const preds = node.pred.map((p) => (number.has(p) ? `#${number.get(p)}` : `${p.slice(0, 8)}… (missing)`));
      const label = (node.exec_act ?? '?').padEnd(width);
      return `${String(i + 1).padStart(4)}. ${label}  ${node.jti.slice(0, 8)}  ← ${preds.length === 0 ? '(root)' : preds.join(', ')}`;
    })
    .join('\n');
}
