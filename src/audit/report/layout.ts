import { availableParallelism } from 'node:os';
import { EctFormatError } from '../../base/errors.js';
import {
  type ComponentLayout,
  type ComponentShape,
  layoutComponent,
  NODE_HEIGHT,
  NODE_WIDTH,
} from './layout-worker.mjs';
import type { AuditReport } from './model.js';

export { NODE_HEIGHT, NODE_WIDTH };
/** Space between connected components when they are packed into rows. */
const COMPONENT_GAP = 48;
/**
 * Below this many nodes to lay out, {@link layoutReportAsync} stays in the calling thread: starting
 * workers (each loads dagre) costs more than it saves.
 */
const WORKERS_MIN_NODES = 2_000;

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

/** What is to be laid out: the components, their distinct shapes, and which shape each has. */
interface LayoutPlan {
  groups: number[][];
  /** Report edges of each component, as node index pairs, in the order of its shape's edges. */
  pairsOf: [number, number][][];
  shapes: ComponentShape[];
  shapeOf: number[];
}

function plan(report: AuditReport): LayoutPlan {
  const index = indexNodes(report);
  const pairs: [number, number][] = report.edges.map((e) => [index.get(e.from)!, index.get(e.to)!]);
  const groups = components(report.nodes.length, pairs);
  const componentOf = new Int32Array(report.nodes.length);
  // Position of each node within its component, and each component's edges between positions.
  const position = new Int32Array(report.nodes.length);
  groups.forEach((members, c) => {
    members.forEach((node, k) => {
      componentOf[node] = c;
      position[node] = k;
    });
  });
  const edgesOf: [number, number][][] = groups.map(() => []);
  const pairsOf: [number, number][][] = groups.map(() => []);
  for (const pair of pairs) {
    const c = componentOf[pair[0]]!;
    edgesOf[c]!.push([position[pair[0]]!, position[pair[1]]!]);
    pairsOf[c]!.push(pair);
  }
  const shapes: ComponentShape[] = [];
  const byKey = new Map<string, number>();
  const shapeOf = groups.map((members, c) => {
    const key = `${members.length}:${edgesOf[c]!.map(([a, b]) => `${a}>${b}`).join(',')}`;
    let shape = byKey.get(key);
    if (shape === undefined) {
      shape = shapes.push({ count: members.length, edges: edgesOf[c]! }) - 1;
      byKey.set(key, shape);
    }
    return shape;
  });
  return { groups, pairsOf, shapes, shapeOf };
}

/** Packs the laid-out components into rows and gives every node and edge its place. */
function place(
  nodeCount: number,
  { groups, pairsOf, shapeOf }: LayoutPlan,
  laidShapes: ComponentLayout[],
): ReportLayout {
  const laid = shapeOf.map((shape) => laidShapes[shape]!);
  // Shelf packing: rows about as wide as the drawing's area makes a 16:10 page, never narrower
  // than the widest component.
  const area = laid.reduce((sum, l) => sum + (l.width + COMPONENT_GAP) * (l.height + COMPONENT_GAP), 0);
  const rowWidth = Math.max(Math.sqrt(area * 1.6), ...laid.map((l) => l.width));
  const nodes: LayoutBox[] = new Array(nodeCount);
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
  const work = plan(report);
  return place(report.nodes.length, work, work.shapes.map(layoutComponent));
}

/** Options of {@link layoutReportAsync}. */
export interface LayoutOptions {
  /** Worker threads (default: the machine's parallelism, at most 8; 1: in the calling thread). */
  workers?: number;
}

/**
 * {@link layoutReport} with the components spread over worker threads (piscina), for large audits
 * of many differently shaped runs: dagre takes about 1 ms of CPU per node, and components are
 * independent. The result is the same as {@link layoutReport}'s (dagre is deterministic).
 *
 * @throws {EctFormatError} as {@link layoutReport}.
 * @example
 * const layout = await layoutReportAsync(report, { workers: 4 });
 */
export async function layoutReportAsync(report: AuditReport, options: LayoutOptions = {}): Promise<ReportLayout> {
  const work = plan(report);
  const workers = Math.max(1, Math.floor(options.workers ?? Math.min(8, availableParallelism())));
  const total = work.shapes.reduce((sum, shape) => sum + shape.count, 0);
  if (workers === 1 || total < WORKERS_MIN_NODES || work.shapes.length < 2) {
    return place(report.nodes.length, work, work.shapes.map(layoutComponent));
  }
  // Batches of about equal node count, a few per worker so a large component does not leave the
  // others idle; results come back in batch order.
  const target = Math.max(200, Math.ceil(total / (workers * 4)));
  const batches: number[][] = [[]];
  let filled = 0;
  work.shapes.forEach((shape, i) => {
    if (filled >= target) {
      batches.push([]);
      filled = 0;
    }
    batches[batches.length - 1]!.push(i);
    filled += shape.count;
  });
  const { Piscina } = await import('piscina');
  const pool = new Piscina({
    filename: new URL('./layout-worker.mjs', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    // Workers inherit the process's flags by default: under `node --import otel-ect/register` each
    // would start an SDK of its own.
    execArgv: [],
  });
  try {
    const results: ComponentLayout[][] = await Promise.all(
      batches.map((batch) => pool.run(batch.map((i) => work.shapes[i]!))),
    );
    const laid: ComponentLayout[] = new Array(work.shapes.length);
    batches.forEach((batch, b) => {
      batch.forEach((shape, k) => {
        laid[shape] = results[b]![k]!;
      });
    });
    return place(report.nodes.length, work, laid);
  } finally {
    await pool.destroy();
  }
}
