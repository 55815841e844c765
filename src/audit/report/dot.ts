import { jaegerBase, spanLink } from './jaeger.js';
import { indexNodes } from './layout.js';
import type { AuditReport } from './model.js';
import { nodeTitle, shortIssuer } from './svg.js';
import { VERDICT_STYLES } from './verdicts.js';

/**
 * A DOT double-quoted string: backslash and quote escaped, line breaks as `\n`, so no value can end
 * the string or smuggle an escape sequence (`\N`, `\G`, `\l`) of its own.
 *
 * @example
 * dotString('say "hi"') // '"say \\"hi\\""'
 */
export function dotString(text: string): string {
  return `"${text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, '\\n')}"`;
}

/** Options of {@link renderDot}. */
export interface DotReportOptions {
  /** Base URL of a Jaeger UI: each node then carries `URL` to its span there. */
  jaegerUi?: string;
}

/**
 * The audit's DAG in Graphviz DOT for documentation: nodes named by their quoted `jti`, labelled
 * with `exec_act` and the issuer's short name, filled with the HTML report's verdict colours and
 * carrying `class` (the verdict, for SVG output) and a tooltip; `missing` nodes dashed.
 *
 * @example
 * writeFileSync('audit.dot', renderDot(report)); // then: dot -Tsvg audit.dot > audit.svg
 */
export function renderDot(report: AuditReport, options: DotReportOptions = {}): string {
  indexNodes(report);
  const base = options.jaegerUi === undefined ? undefined : jaegerBase(options.jaegerUi);
  const lines = [
    'digraph audit {',
    `  graph [rankdir=TB, label=${dotString(`ECT audit: ${report.verdict}`)}, labelloc=t, fontname="Helvetica"];`,
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    '  edge [color="#8d8d8d"];',
  ];
  for (const node of report.nodes) {
    const s = VERDICT_STYLES[node.verdict];
    const issuer = shortIssuer(node.iss);
    const label = issuer === '' ? nodeTitle(node) : `${nodeTitle(node)}\n${issuer}`;
    const attrs = [
      `label=${dotString(label)}`,
      `fillcolor=${dotString(s.fill)}`,
      `color=${dotString(s.stroke)}`,
      `fontcolor=${dotString(s.text)}`,
      `class=${dotString(node.verdict)}`,
      `tooltip=${dotString(`${node.verdict}: ${node.jti}`)}`,
    ];
    if (node.verdict === 'missing') attrs.push('style="rounded,filled,dashed"');
    const link = spanLink(node.span, base);
    if (link !== undefined) attrs.push(`URL=${dotString(link)}`);
    lines.push(`  ${dotString(node.jti)} [${attrs.join(', ')}];`);
  }
  for (const edge of report.edges) lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
