// dagre layout of DAG components, shared by the in-thread path of layout.ts and its worker pool
// (piscina loads workers by file name, so this is plain JavaScript that loads both from src/ in
// tests and from dist/ after the build, which copies it: tsconfig allowJs).
import dagre from '@dagrejs/dagre';

/** Size of a node box, in SVG units (pixels at zoom 1). */
export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 48;

/**
 * Above this many nodes a component is ranked by longest path instead of network simplex: network
 * simplex gives shorter edges but grows faster than linearly (a single 1,000-node component took
 * 2.6 s against 1.0 s with longest path on this project's 2-core machine).
 */
const NETWORK_SIMPLEX_MAX_NODES = 600;

/**
 * @typedef {{ x: number, y: number }} LayoutPoint
 * @typedef {{ count: number, edges: [number, number][] }} ComponentShape
 *   Members are 0..count-1 (their order in the report); edges go from predecessor to successor.
 * @typedef {{ width: number, height: number, centres: LayoutPoint[], points: LayoutPoint[][] }} ComponentLayout
 *   Centres of the members and points of the edges (in the shape's order), relative to the
 *   component's top-left corner.
 */

/**
 * Lays out one component as a layered graph, top to bottom.
 * @param {ComponentShape} shape
 * @returns {ComponentLayout}
 */
export function layoutComponent({ count, edges }) {
  if (count === 1 && edges.length === 0) {
    return { width: NODE_WIDTH, height: NODE_HEIGHT, centres: [{ x: NODE_WIDTH / 2, y: NODE_HEIGHT / 2 }], points: [] };
  }
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({
    rankdir: 'TB',
    nodesep: 24,
    ranksep: 44,
    ranker: count > NETWORK_SIMPLEX_MAX_NODES ? 'longest-path' : 'network-simplex',
  });
  for (let i = 0; i < count; i++) graph.setNode(String(i), { width: NODE_WIDTH, height: NODE_HEIGHT });
  edges.forEach(([from, to], k) => {
    graph.setEdge(String(from), String(to), {}, String(k));
  });
  dagre.layout(graph);
  /** @type {LayoutPoint[]} */
  const centres = [];
  for (let i = 0; i < count; i++) {
    const label = graph.node(String(i));
    centres.push({ x: label.x ?? 0, y: label.y ?? 0 });
  }
  const points = edges.map(([from, to], k) =>
    (graph.edge(String(from), String(to), String(k))?.points ?? []).map((/** @type {LayoutPoint} */ p) => ({
      x: p.x,
      y: p.y,
    })),
  );
  const size = graph.graph();
  return { width: size.width ?? NODE_WIDTH, height: size.height ?? NODE_HEIGHT, centres, points };
}

/**
 * A worker's task: lays out a batch of components.
 * @param {ComponentShape[]} shapes
 * @returns {ComponentLayout[]}
 */
export default function layoutBatch(shapes) {
  return shapes.map(layoutComponent);
}
