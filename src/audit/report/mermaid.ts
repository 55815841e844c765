import { indexNodes } from './layout.js';
import type { AuditReport } from './model.js';
import { nodeTitle, shortIssuer } from './svg.js';
import { NODE_VERDICTS, VERDICT_STYLES } from './verdicts.js';

/**
 * Text for a quoted Mermaid label: anything but letters, digits and a few plain punctuation marks
 * becomes a Mermaid entity code (`#60;` for `<`), so no character of a token's `exec_act` or issuer
 * can end the label, start markup or be read as Markdown.
 */
export function mermaidText(text: string): string {
  let out = '';
  for (const ch of text) {
    out += /^[\p{L}\p{N} _.,:/@+-]$/u.test(ch) ? ch : `#${ch.codePointAt(0)};`;
  }
  return out;
}

/**
 * The audit's DAG as a Mermaid flowchart for documentation: one node per task (`n0`, `n1`, … in the
 * report's order, so ids need no escaping), labelled with `exec_act` and the issuer's short name,
 * a `classDef` per verdict with the HTML report's colours, `missing` nodes dashed.
 *
 * @example
 * writeFileSync('audit.mmd', renderMermaid(report));
 */
export function renderMermaid(report: AuditReport): string {
  const index = indexNodes(report);
  const lines = ['flowchart TB'];
  for (const verdict of NODE_VERDICTS) {
    const s = VERDICT_STYLES[verdict];
    const dash = verdict === 'missing' ? ',stroke-dasharray:5 3' : '';
    lines.push(`  classDef ${verdict} fill:${s.fill},stroke:${s.stroke},color:${s.text}${dash}`);
  }
  report.nodes.forEach((node, i) => {
    const issuer = shortIssuer(node.iss);
    const label =
      issuer === '' ? mermaidText(nodeTitle(node)) : `${mermaidText(nodeTitle(node))}<br/>${mermaidText(issuer)}`;
    lines.push(`  n${i}["${label}"]:::${node.verdict}`);
  });
  for (const edge of report.edges) lines.push(`  n${index.get(edge.from)} --> n${index.get(edge.to)}`);
  return `${lines.join('\n')}\n`;
}
