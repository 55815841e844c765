export * from './model.js';
export { renderHtml, type HtmlReportOptions } from './html.js';
export { layoutReport, NODE_HEIGHT, NODE_WIDTH, type LayoutBox, type LayoutEdge, type ReportLayout } from './layout.js';
export { escapeXml, jsonForScript, safeHttpUrl } from './escape.js';
export { jaegerBase, spanLink } from './jaeger.js';
export { NODE_VERDICTS, VERDICT_STYLES, type VerdictStyle } from './verdicts.js';
export { renderMermaid, mermaidText } from './mermaid.js';
export { renderDot, dotString, type DotReportOptions } from './dot.js';
