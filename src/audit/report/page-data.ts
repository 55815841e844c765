import type { ReportLayout } from './layout.js';
import type { AuditFinding, AuditReport } from './model.js';

/**
 * What the page's script reads (the `#audit-data` JSON block), kept compact because its size is
 * most of a large page's parse time (10,000 nodes as plain report objects: 9.3 MB, about 1.7 s of
 * Chromium's load on this project's machine): strings that repeat (issuers, workflow ids, key ids,
 * trace ids, span names, services) are indexes into `strings`, predecessors are node indexes, and
 * each node is an array in the field order below. Decoded back into report fields one node at a time,
 * when selected.
 */
export interface PageData {
  /** Repeated strings, referenced by index. */
  strings: string[];
  /** Jaeger UI base: a span's link is `${jaeger}/trace/${traceId}?uiFind=${spanId}`. */
  jaeger: string | null;
  /** Per node, see {@link PageNode}. */
  nodes: PageNode[];
  /** Node boxes, four numbers each (x, y, width, height), for labelling the visible ones. */
  boxes: number[];
  findings: AuditFinding[];
}

/**
 * `[jti, iss, wid, execAct, iat, exp, pred, inpHash, outHash, kid, verdict, ledgerIndex, findings, span]`
 * with `iss`, `wid`, `execAct`, `kid`, `verdict` as string indexes (-1: absent), `pred` entries node
 * indexes (or the `jti` string when it is not a node), absent scalars `null`.
 */
export type PageNode = [
  string,
  number,
  number,
  number,
  string | null,
  string | null,
  (number | string)[],
  string | null,
  string | null,
  number,
  number,
  number | null,
  number[],
  PageSpan | null,
];

/**
 * `[traceId, spanId, parentSpanId, name, kind, status, service, start, end, url]` with `traceId`,
 * `name`, `kind`, `status`, `service` as string indexes; `url` only when no Jaeger base was given
 * and the span's own `url` is http(s).
 */
export type PageSpan = [number, string, string | null, number, number, number, number, string, string, string | null];

/** Builds {@link PageData}; `safeUrl` filters each span's own `url`. */
export function encodePageData(
  report: AuditReport,
  layout: ReportLayout,
  jaeger: string | undefined,
  safeUrl: (url: string) => string | undefined,
): PageData {
  const strings: string[] = [];
  const ids = new Map<string, number>();
  const ref = (s: string | undefined): number => {
    if (s === undefined) return -1;
    let id = ids.get(s);
    if (id === undefined) {
      id = strings.push(s) - 1;
      ids.set(s, id);
    }
    return id;
  };
  const indexOf = new Map(report.nodes.map((n, i) => [n.jti, i]));
  const nodes = report.nodes.map((n): PageNode => {
    const s = n.span;
    const span: PageSpan | null =
      s === undefined
        ? null
        : [
            ref(s.traceId),
            s.spanId,
            s.parentSpanId ?? null,
            ref(s.name),
            ref(s.kind),
            ref(s.status),
            ref(s.service),
            s.start,
            s.end,
            jaeger === undefined && s.url !== undefined ? (safeUrl(s.url) ?? null) : null,
          ];
    return [
      n.jti,
      ref(n.iss),
      ref(n.wid),
      ref(n.execAct),
      n.iat ?? null,
      n.exp ?? null,
      n.pred.map((p) => indexOf.get(p) ?? p),
      n.inpHash ?? null,
      n.outHash ?? null,
      ref(n.kid),
      ref(n.verdict),
      n.ledgerIndex ?? null,
      n.findings,
      span,
    ];
  });
  const boxes: number[] = [];
  for (const b of layout.nodes) boxes.push(Math.round(b.x), Math.round(b.y), b.width, b.height);
  return { strings, jaeger: jaeger ?? null, nodes, boxes, findings: report.findings };
}
