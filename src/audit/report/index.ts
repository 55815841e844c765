/**
 * The audit report ({@link AuditReport}, `ect audit --json`) and its renderings:
 *
 * - {@link renderHtml}: one self-contained page (no request of any kind; CSP `default-src 'none'`),
 *   the DAG laid out by dagre at render time, nodes coloured by verdict, details and Jaeger links,
 *   findings beside the graph. Renders in Chromium in about 1.5–2 s at 10,000 tasks; the layout in
 *   Node is the slow part for many differently shaped runs (about 1 ms of CPU per task), runs of
 *   a shape already laid out cost almost nothing.
 *   {@link renderHtmlAsync} gives the same page with the layout spread over worker threads.
 * - {@link renderMermaid} and {@link renderDot}: the DAG for documentation.
 *
 * @example
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('audit.html', renderHtml(report, { jaegerUi: 'http://127.0.0.1:16686' }));
 * writeFileSync('audit.mmd', renderMermaid(report));
 * writeFileSync('audit.dot', renderDot(report));
 */
export * from './model.js';
export { renderHtml, renderHtmlAsync, type HtmlReportOptions } from './html.js';
export {
  layoutReport,
  layoutReportAsync,
  NODE_HEIGHT,
  NODE_WIDTH,
  type LayoutBox,
  type LayoutEdge,
  type LayoutOptions,
  type ReportLayout,
} from './layout.js';
export { escapeXml, jsonForScript, safeHttpUrl } from './escape.js';
export { jaegerBase, spanLink } from './jaeger.js';
export { NODE_VERDICTS, VERDICT_STYLES, type VerdictStyle } from './verdicts.js';
export { renderMermaid, mermaidText } from './mermaid.js';
export { renderDot, dotString, type DotReportOptions } from './dot.js';
