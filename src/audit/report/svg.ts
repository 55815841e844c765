import { escapeXml } from './escape.js';
import type { ReportLayout } from './layout.js';
import type { AuditNode } from './model.js';

/** The short name of an issuer: the last path segment of a SPIFFE ID or URL, else the whole string. */
export function shortIssuer(iss: string | undefined): string {
  if (iss === undefined) return '';
  const trimmed = iss.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return slash >= 0 && slash < trimmed.length - 1 ? trimmed.slice(slash + 1) : trimmed;
}

/** The first line of a node box: its action, or for a missing node what is known (its `jti`). */
export function nodeTitle(node: AuditNode): string {
  if (node.execAct !== undefined) return node.execAct;
  return node.verdict === 'missing' ? `missing ${node.jti}` : node.jti;
}

const round = (n: number): string => (Math.round(n * 10) / 10).toString();

/**
 * The DAG as SVG markup: edges first (under the nodes), then one `<g class="node v-VERDICT">` per
 * node carrying `data-index` (into the report's `nodes`), `data-jti` and `data-verdict`.
 */
export function renderGraphSvg(nodes: readonly AuditNode[], layout: ReportLayout): string {
  const width = Math.ceil(layout.width) + 2;
  const height = Math.ceil(layout.height) + 2;
  const parts: string[] = [
    `<svg id="dag" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="-1 -1 ${width} ${height}" role="img" aria-label="Task DAG, ${nodes.length} tasks">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z"/></marker></defs>',
    '<g class="edges">',
  ];
  for (const edge of layout.edges) {
    if (edge.points.length < 2) continue;
    const d = edge.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${round(p.x)} ${round(p.y)}`).join('');
    parts.push(`<path d="${d}" data-from="${edge.from}" data-to="${edge.to}"/>`);
  }
  parts.push('</g><g class="nodes">');
  nodes.forEach((node, i) => {
    const box = layout.nodes[i]!;
    // Labels are added by the page's script for the nodes in view (see page-script.ts): 20,000
    // SVG <text> elements cost Chromium about 4 s of layout on this project's machine.
    parts.push(
      `<g class="node v-${node.verdict}" data-index="${i}" data-jti="${escapeXml(node.jti)}" data-verdict="${node.verdict}" transform="translate(${round(box.x)} ${round(box.y)})">`,
      `<rect width="${box.width}" height="${box.height}" rx="6"/></g>`,
    );
  });
  parts.push('</g></svg>');
  return parts.join('');
}
