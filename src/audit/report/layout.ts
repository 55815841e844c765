import dagre from '@dagrejs/dagre';
import { EctFormatError } from '../../base/errors.js';
import type { AuditReport } from './model.js';

/** Size of a node box, in SVG units (pixels at zoom 1). */
export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 48;
/** Space between connected components when they are packed into rows. */
const COMPONENT_GAP = 48;
/**
 * Above this many nodes a component is ranked by longest path instead of network simplex: network
 * simplex gives shorter edges but grows faster than linearly (a single 1,000-node component took
 * 2.6 s against 1.0 s with longest path on this project's 2-core machine).
 */
const NETWORK_SIMPLEX_MAX_NODES = 600;

/** A point in the drawing. */
export interface LayoutPoint {
  x: number;
  y: number;
}

/** A node's box: top-left corner and size. */
export interface LayoutBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A drawn edge: indexes into the report's nodes and the polyline from one box to the other. */
export interface LayoutEdge {
  from: number;
  to: number;
  points: LayoutPoint[];
}

/** Where everything goes. `nodes[i]` is the box of `report.nodes[i]`. */
export interface ReportLayout {
  width: number;
  height: number;
  nodes: LayoutBox[];
  edges: LayoutEdge[];
  /** Connected components (workflow runs, usually), each laid out on its own. */
  components: number;
}

/**
 * Checks the report's graph: unique `jti`s and edges between known nodes, so a broken report is a
 * clear error rather than a silently wrong picture. Returns `jti` → node index.
 */
export function indexNodes(report: AuditReport): Map<string, number> {
  const index = new Map<string, number>();
  report.nodes.forEach((node, i) => {
    if (index.has(node.jti)) {
      throw new EctFormatError('ECT_FORMAT_INVALID', `audit report: jti ${JSON.stringify(node.jti)} appears twice`);
    }
    index.set(node.jti, i);
  });
  for (const edge of report.edges) {
    for (const end of [edge.from, edge.to]) {
      if (!index.has(end)) {
        throw new EctFormatError(
          'ECT_FORMAT_INVALID',
          `audit report: edge names jti ${JSON.stringify(end)}, not a node`,
        );
      }
    }
  }
  return index;
}

/** Connected components (edges taken undirected), each a list of node indexes in report order. */
function components(count: number, edges: readonly [number, number][]): number[][] {
  const parent = Array.from({ length: count }, (_, i) => i);
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root]!;
    while (parent[i] !== root) {
      const next = parent[i]!;
      parent[i] = root;
      i = next;
    }
    return root;
  };
  for (const [a, b] of edges) {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const root = find(i);
    const list = byRoot.get(root);
    if (list) list.push(i);
    else byRoot.set(root, [i]);
  }
  // Map iteration follows insertion, i.e. each component's first node in report (causal) order.
  return [...byRoot.values()];
}

interface ComponentLayout {
  width: number;
  height: number;
  /** Centre of each member (by its position in the component), relative to the top-left corner. */
  centres: LayoutPoint[];
  /** Points of each edge (by its position in the component's edge list). */
  points: LayoutPoint[][];
}

/** Lays out one component given as a member count and edges between member positions. */
function layoutComponent(count: number, edges: readonly [number, number][]): ComponentLayout {
  if (count === 1 && edges.length === 0) {
    return { width: NODE_WIDTH, height: NODE_HEIGHT, centres: [{ x: NODE_WIDTH / 2, y: NODE_HEIGHT / 2 }], points: [] };
  }
  const graph = new dagre.graphlib.Graph<
    { rankdir: string; nodesep: number; ranksep: number; ranker: string; width?: number; height?: number },
    { width: number; height: number; x?: number; y?: number },
    { points?: LayoutPoint[] }
  >({ multigraph: true });
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
  const centres: LayoutPoint[] = [];
  for (let i = 0; i < count; i++) {
    const label = graph.node(String(i));
    centres.push({ x: label.x ?? 0, y: label.y ?? 0 });
  }
  const points = edges.map(([from, to], k) =>
    (graph.edge(String(from), String(to), String(k))?.points ?? []).map((p: LayoutPoint) => ({ x: p.x, y: p.y })),
  );
  const size = graph.graph();
  return { width: size.width ?? NODE_WIDTH, height: size.height ?? NODE_HEIGHT, centres, points };
}

/**
 * Lays out the report's DAG as a layered graph (dagre, top to bottom, predecessors above). Each
 * connected component is laid out on its own and the components are packed into rows in causal
 * order: dagre's cost grows faster than linearly with a graph's size, and an audit of many workflow
 * runs is many small components (10,000 tasks in runs of 8–60: about 300 dagre runs of ~35 nodes).
 * Components of the same shape (the same workflow run again: same member count and the same edges
 * between members in report order) get dagre's layout once and share it; dagre is deterministic for
 * the same input, so this changes no position.
 *
 * @throws {EctFormatError} `ECT_FORMAT_INVALID` for a duplicate `jti` or an edge to an unknown node.
 * @example
 * const layout = layoutReport(report);
 * layout.nodes[0]; // { x, y, width: 200, height: 48 }
 */
export function layoutReport(report: AuditReport): ReportLayout {
  const index = indexNodes(report);
  const pairs: [number, number][] = report.edges.map((e) => [index.get(e.from)!, index.get(e.to)!]);
  const groups = components(report.nodes.length, pairs);
  const componentOf = new Int32Array(report.nodes.length);
  groups.forEach((members, c) => {
    for (const i of members) componentOf[i] = c;
  });
  // Position of each node within its component, and each component's edges between positions.
  const position = new Int32Array(report.nodes.length);
  for (const members of groups) {
    members.forEach((node, k) => {
      position[node] = k;
    });
  }
  const edgesOf: [number, number][][] = groups.map(() => []);
  const pairsOf: [number, number][][] = groups.map(() => []);
  for (const pair of pairs) {
    const c = componentOf[pair[0]]!;
    edgesOf[c]!.push([position[pair[0]]!, position[pair[1]]!]);
    pairsOf[c]!.push(pair);
  }
  const byShape = new Map<string, ComponentLayout>();
  const laid = groups.map((members, c) => {
    const shape = `${members.length}:${edgesOf[c]!.map(([a, b]) => `${a}>${b}`).join(',')}`;
    let layout = byShape.get(shape);
    if (layout === undefined) {
      layout = layoutComponent(members.length, edgesOf[c]!);
      byShape.set(shape, layout);
    }
    return layout;
  });

  // Shelf packing: rows about as wide as the drawing's area makes a 16:10 page, never narrower
  // than the widest component.
  const area = laid.reduce((sum, l) => sum + (l.width + COMPONENT_GAP) * (l.height + COMPONENT_GAP), 0);
  const rowWidth = Math.max(Math.sqrt(area * 1.6), ...laid.map((l) => l.width));
  const nodes: LayoutBox[] = new Array(report.nodes.length);
  const edges: LayoutEdge[] = [];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let width = 0;
  laid.forEach((l, c) => {
    if (x > 0 && x + l.width > rowWidth) {
      x = 0;
      y += rowHeight + COMPONENT_GAP;
      rowHeight = 0;
    }
    const ox = x;
    const oy = y;
    groups[c]!.forEach((node, k) => {
      const centre = l.centres[k]!;
      nodes[node] = {
        x: ox + centre.x - NODE_WIDTH / 2,
        y: oy + centre.y - NODE_HEIGHT / 2,
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
      };
    });
    pairsOf[c]!.forEach(([from, to], k) => {
      edges.push({ from, to, points: l.points[k]!.map((p) => ({ x: ox + p.x, y: oy + p.y })) });
    });
    width = Math.max(width, x + l.width);
    rowHeight = Math.max(rowHeight, l.height);
    x += l.width + COMPONENT_GAP;
  });
  return { width, height: y + rowHeight, nodes, edges, components: groups.length };
}
