import type { AuditNode, AuditReport } from './report/model.js';

/** One task in an impact or ancestry listing. */
export interface RelatedTask {
  jti: string;
  execAct?: string;
  iss?: string;
  iat?: string;
  verdict: AuditNode['verdict'];
  /** Edges between it and the task asked about (shortest path). */
  distance: number;
  /**
   * The task's work has completed: it has a token (issued when its span ended, or with its response)
   * and, when its span was exported, the span ended. A `missing` task's state is unknown.
   */
  completed: boolean;
  span?: { traceId: string; spanId: string; name: string; status: string };
}

/** The schema of `ect impact --json` and `ect trace --json`. */
export const RELATED_SCHEMA = 'otel-ect/audit-related/v1';

/** `ect impact JTI`: the rollback set of a task. */
export interface ImpactReport {
  schema: typeof RELATED_SCHEMA;
  kind: 'impact';
  jti: string;
  /** The audit verdict of the whole set the impact was computed on. */
  verdict: AuditReport['verdict'];
  task: RelatedTask;
  /** Every task that depends on `jti`, successors after their own successors (reverse causal order). */
  tasks: RelatedTask[];
  /** The same tasks by issuer (each list in reverse causal order). */
  byIssuer: Record<string, string[]>;
  /** Of `tasks`, how many have already completed. */
  completed: number;
}

/** `ect trace JTI`: the ancestry of a task. */
export interface TraceReport {
  schema: typeof RELATED_SCHEMA;
  kind: 'trace';
  jti: string;
  verdict: AuditReport['verdict'];
  task: RelatedTask;
  /** Every ancestor of `jti`, in causal order (roots first). */
  tasks: RelatedTask[];
  /** The ancestors that have no predecessor. */
  roots: string[];
}

/**
 * The rollback set of a task: every task that depends on it (its descendants), in reverse causal
 * order (what to undo first comes first), grouped by issuer, each marked as completed or not.
 * `undefined` when the report has no task `jti`.
 *
 * @example const impact = impactOf(report, jti); impact?.tasks.map((t) => t.execAct)
 */
export function impactOf(report: AuditReport, jti: string): ImpactReport | undefined {
  const position = positions(report);
  const start = position.get(jti);
  if (start === undefined) return undefined;
  const children = new Map<string, string[]>();
  for (const edge of report.edges) {
    const list = children.get(edge.from);
    if (list === undefined) children.set(edge.from, [edge.to]);
    else list.push(edge.to);
  }
  const distance = walk(jti, (j) => children.get(j) ?? []);
  const tasks = [...distance.keys()]
    .filter((j) => j !== jti)
    .sort((a, b) => (position.get(b) ?? 0) - (position.get(a) ?? 0))
    .map((j) => related(report.nodes[position.get(j) as number] as AuditNode, distance.get(j) as number));
  const groups = new Map<string, string[]>();
  for (const t of tasks) {
    const issuer = t.iss ?? '(unknown)';
    const group = groups.get(issuer);
    if (group === undefined) groups.set(issuer, [t.jti]);
    else group.push(t.jti);
  }
  const byIssuer = Object.fromEntries(groups);
  return {
    schema: RELATED_SCHEMA,
    kind: 'impact',
    jti,
    verdict: report.verdict,
    task: related(report.nodes[start] as AuditNode, 0),
    tasks,
    byIssuer,
    completed: tasks.filter((t) => t.completed).length,
  };
}

/**
 * A task's full ancestry back to its roots, in causal order. `undefined` when the report has no
 * task `jti`.
 *
 * @example traceOf(report, jti)?.roots
 */
export function traceOf(report: AuditReport, jti: string): TraceReport | undefined {
  const position = positions(report);
  const start = position.get(jti);
  if (start === undefined) return undefined;
  const nodeOf = (j: string) => {
    const at = position.get(j);
    return at === undefined ? undefined : report.nodes[at];
  };
  const distance = walk(jti, (j) => nodeOf(j)?.pred ?? []);
  const tasks = [...distance.keys()]
    .filter((j) => j !== jti && position.has(j))
    .sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0))
    .map((j) => related(nodeOf(j) as AuditNode, distance.get(j) as number));
  return {
    schema: RELATED_SCHEMA,
    kind: 'trace',
    jti,
    verdict: report.verdict,
    task: related(report.nodes[start] as AuditNode, 0),
    tasks,
    roots: tasks.filter((t) => (nodeOf(t.jti)?.pred.length ?? 0) === 0).map((t) => t.jti),
  };
}

/**
 * The report restricted to some tasks (and the edges between them, the findings about them): what
 * the HTML, Mermaid and DOT renderings of an impact or ancestry are drawn from.
 *
 * @example renderMermaid(subReport(report, [impact.jti, ...impact.tasks.map((t) => t.jti)]))
 */
export function subReport(report: AuditReport, jtis: Iterable<string>): AuditReport {
  const keep = new Set(jtis);
  const kept = report.findings.map((f) => f.jtis.some((j) => keep.has(j)));
  const renumber = new Map<number, number>();
  const findings = report.findings.filter((_, i) => {
    if (!kept[i]) return false;
    renumber.set(i, renumber.size);
    return true;
  });
  const nodes = report.nodes
    .filter((n) => keep.has(n.jti))
    .map((n) => ({ ...n, findings: n.findings.flatMap((i) => (renumber.has(i) ? [renumber.get(i) as number] : [])) }));
  const edges = report.edges.filter((e) => keep.has(e.from) && keep.has(e.to));
  const summary = {
    ...report.summary,
    tokens: 0,
    spans: 0,
    edges: edges.length,
    verified: 0,
    failed: 0,
    suspect: 0,
    partial: 0,
    missing: 0,
  };
  for (const n of nodes) {
    summary[n.verdict]++;
    if (n.verdict !== 'missing') summary.tokens++;
    if (n.span !== undefined) summary.spans++;
  }
  return { ...report, summary, nodes, edges, findings };
}

function positions(report: AuditReport): Map<string, number> {
  const out = new Map<string, number>();
  for (const [i, node] of report.nodes.entries()) out.set(node.jti, i);
  return out;
}

/** Breadth-first distances from `start` along `next`. */
function walk(start: string, next: (jti: string) => readonly string[]): Map<string, number> {
  const distance = new Map<string, number>([[start, 0]]);
  let frontier = [start];
  for (let d = 1; frontier.length > 0; d++) {
    const following: string[] = [];
    for (const j of frontier)
      for (const n of next(j))
        if (!distance.has(n)) {
          distance.set(n, d);
          following.push(n);
        }
    frontier = following;
  }
  return distance;
}

function related(node: AuditNode, distance: number): RelatedTask {
  const out: RelatedTask = {
    jti: node.jti,
    verdict: node.verdict,
    distance,
    completed: node.verdict !== 'missing' && (node.span === undefined || node.span.end !== ''),
  };
  if (node.execAct !== undefined) out.execAct = node.execAct;
  if (node.iss !== undefined) out.iss = node.iss;
  if (node.iat !== undefined) out.iat = node.iat;
  if (node.span !== undefined)
    out.span = { traceId: node.span.traceId, spanId: node.span.spanId, name: node.span.name, status: node.span.status };
  return out;
}
