import type { DagNode } from './types.js';

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
