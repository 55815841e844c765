import type { DagNode } from '../dag/types.js';

/**
 * Orders nodes so every predecessor comes before its children (Kahn's algorithm; ties by `iat`,
 * then input order). Nodes on cycles come last, in input order.
 *
 * @example topologicalOrder(nodes).map((n) => n.exec_act)
 */
export function topologicalOrder(nodes: readonly DagNode[]): DagNode[] {
  const indexOf = new Map<string, number>();
  for (const [i, node] of nodes.entries()) indexOf.set(node.jti, i);
  const children: number[][] = nodes.map(() => []);
  const waiting = new Int32Array(nodes.length);
  nodes.forEach((node, i) => {
    for (const pred of node.pred) {
      const p = indexOf.get(pred);
      if (p === undefined) continue;
      children[p]!.push(i);
      waiting[i]!++;
    }
  });
  const byTime = (a: number, b: number) => nodes[a]!.iat - nodes[b]!.iat || a - b;
  let ready = nodes.map((_, i) => i).filter((i) => waiting[i] === 0);
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort(byTime);
    const next: number[] = [];
    for (const i of ready) {
      order.push(i);
      for (const c of children[i]!) if (--waiting[c]! === 0) next.push(c);
    }
    ready = next;
  }
  const placed = new Set(order);
  return [...order, ...nodes.map((_, i) => i).filter((i) => !placed.has(i))].map((i) => nodes[i]!);
}

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
