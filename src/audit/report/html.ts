import { createHash } from 'node:crypto';
import { EctFormatError } from '../../base/errors.js';
import { escapeXml, jsonForScript, safeHttpUrl } from './escape.js';
import { jaegerBase } from './jaeger.js';
import { type LayoutOptions, layoutReport, layoutReportAsync, type ReportLayout } from './layout.js';
import { AUDIT_REPORT_SCHEMA, type AuditReport } from './model.js';
import { encodePageData } from './page-data.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_STYLE } from './page-style.js';
import { renderGraphSvg } from './svg.js';
import { NODE_VERDICTS, VERDICT_STYLES } from './verdicts.js';

/** Options of {@link renderHtml}. */
export interface HtmlReportOptions {
  /** Base URL of a Jaeger UI; each span then links to `${jaegerUi}/trace/${traceId}?uiFind=${spanId}`. */
  jaegerUi?: string;
  /** The page's title (default `ECT audit report`). */
  title?: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64');

/** A report from somewhere else (a `--json` file) is checked before anything is drawn from it. */
function checkReport(report: AuditReport): void {
  if (report.schema !== AUDIT_REPORT_SCHEMA) {
    throw new EctFormatError(
      'ECT_FORMAT_INVALID',
      `audit report: schema ${JSON.stringify(report.schema)} is not ${AUDIT_REPORT_SCHEMA}`,
    );
  }
  for (const node of report.nodes) {
    if (!NODE_VERDICTS.includes(node.verdict)) {
      throw new EctFormatError('ECT_FORMAT_INVALID', `audit report: node verdict ${JSON.stringify(node.verdict)}`);
    }
  }
}

function legend(report: AuditReport): string {
  const items = NODE_VERDICTS.map((verdict) => {
    const count = report.nodes.filter((n) => n.verdict === verdict).length;
    return (
      `<li data-verdict="${verdict}"><svg class="swatch v-${verdict}" width="18" height="18" aria-hidden="true">` +
      `<rect x="1.5" y="1.5" width="15" height="15" rx="3"/></svg><b>${verdict}</b>` +
      `<span class="count">${count}</span><span class="meaning">${escapeXml(VERDICT_STYLES[verdict].meaning)}</span></li>`
    );
  });
  return `<h2>Legend</h2><ul id="legend">${items.join('')}</ul>`;
}

function checksTable(report: AuditReport): string {
  const rows = report.checks.map(
    (c) =>
      `<tr data-check="${escapeXml(c.name)}"><td>${escapeXml(c.name)}</td><td class="status-${escapeXml(c.status)}">${escapeXml(c.status)}</td>` +
      `<td>${c.findings}</td><td>${escapeXml(c.detail)}</td></tr>`,
  );
  return `<h2>Checks</h2><table id="checks"><tr><th>check</th><th>status</th><th>#</th><th>detail</th></tr>${rows.join('')}</table>`;
}

function findingsList(report: AuditReport): string {
  if (report.findings.length === 0) return '<h2>Findings</h2><p id="no-findings">None.</p><ol id="findings"></ol>';
  const items = report.findings.map((f, i) => {
    const tasks = f.jtis.length === 1 ? '1 task' : `${f.jtis.length} tasks`;
    const spans = f.spans.length === 0 ? '' : `, ${f.spans.length === 1 ? '1 span' : `${f.spans.length} spans`}`;
    return (
      `<li class="finding sev-${f.severity === 'failed' ? 'failed' : 'partial'}" data-finding="${i}" data-check="${escapeXml(f.check)}" tabindex="0">` +
      `<code>${escapeXml(f.code)}</code> <span class="finding-msg">${escapeXml(f.message)}</span>` +
      `<div class="finding-tasks">${escapeXml(f.check)} · ${tasks}${spans}` +
      `${f.at === undefined ? '' : ` · <span class="finding-at">at ${escapeXml(f.at)}</span>`}</div></li>`
    );
  });
  return `<h2>Findings (${report.findings.length})</h2><ol id="findings">${items.join('')}</ol>`;
}

function sourcesLine(report: AuditReport): string {
  return report.sources
    .map((s) => `${escapeXml(s.kind)} <code>${escapeXml(s.location)}</code> (${s.tokens} tokens, ${s.spans} spans)`)
    .join('; ');
}

/**
 * The audit report as one self-contained HTML page: the DAG laid out as a layered graph (dagre, at
 * render time, so the browser only paints positioned SVG), nodes coloured by verdict with a legend,
 * a details panel for the selected node (claims, times, hashes, span, Jaeger link), the checks and
 * the findings beside the graph (clicking one highlights its tasks). The page makes no request of
 * any kind: style, script and drawing are inline, fonts are the system's, and its
 * Content-Security-Policy (`default-src 'none'`, script and style allowed by hash) would refuse
 * anything else. Every string from the report is escaped.
 *
 * Node elements are `g.node` with `data-index`, `data-jti` and `data-verdict`; legend entries
 * `#legend li[data-verdict]`; findings `#findings li[data-finding]`. `<html data-ready="1">` once
 * the script has run.
 *
 * @throws {EctFormatError} `ECT_FORMAT_INVALID` for another schema, an unknown node verdict, a
 *   duplicate `jti`, an edge to an unknown node, or a `jaegerUi` that is not an http(s) URL.
 * @example
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('audit.html', renderHtml(report, { jaegerUi: 'http://127.0.0.1:16686' }));
 */
export function renderHtml(report: AuditReport, options: HtmlReportOptions = {}): string {
  checkReport(report);
  const base = options.jaegerUi === undefined ? undefined : jaegerBase(options.jaegerUi);
  return page(report, layoutReport(report), base, options);
}

/**
 * {@link renderHtml} with the layout spread over worker threads ({@link layoutReportAsync}): the
 * same page, sooner for a large audit of many differently shaped runs on a machine with cores to
 * spare.
 *
 * @throws {EctFormatError} as {@link renderHtml}.
 * @example
 * writeFileSync('audit.html', await renderHtmlAsync(report, { jaegerUi: 'http://127.0.0.1:16686' }));
 */
export async function renderHtmlAsync(
  report: AuditReport,
  options: HtmlReportOptions & LayoutOptions = {},
): Promise<string> {
  checkReport(report);
  const base = options.jaegerUi === undefined ? undefined : jaegerBase(options.jaegerUi);
  return page(report, await layoutReportAsync(report, options), base, options);
}

function page(report: AuditReport, layout: ReportLayout, base: string | undefined, options: HtmlReportOptions): string {
  const title = options.title ?? 'ECT audit report';
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(PAGE_SCRIPT)}'`,
    `style-src 'sha256-${sha256(PAGE_STYLE)}'`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const s = report.summary;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${PAGE_STYLE}</style>`,
    '</head>',
    `<body data-verdict="${escapeXml(report.verdict)}">`,
    '<header>',
    `<h1>${escapeXml(title)}</h1>`,
    `<span class="badge verdict-${escapeXml(report.verdict)}" id="verdict">${escapeXml(report.verdict)}</span>`,
    `<span class="meta" id="summary">${s.tokens} tokens · ${s.spans} spans · ${s.edges} edges · ` +
      `${report.findings.length} findings · ${layout.components} connected parts</span>`,
    `<span class="meta">generated ${escapeXml(report.generatedAt)} · schema ${escapeXml(report.schema)}</span>`,
    `<span class="meta" id="sources">${sourcesLine(report)}</span>`,
    '</header>',
    '<main>',
    '<div id="graph-pane">',
    '<div id="zoom"><button id="zoom-out" type="button" title="Zoom out">−</button>' +
      '<button id="zoom-fit" type="button" title="Fit to width">fit</button>' +
      '<button id="zoom-in" type="button" title="Zoom in">+</button></div>',
    renderGraphSvg(report.nodes, layout),
    '</div>',
    '<aside>',
    legend(report),
    '<div id="details"><h2>Task</h2><p class="empty">Select a task in the graph.</p></div>',
    findingsList(report),
    checksTable(report),
    '</aside>',
    '</main>',
    `<script type="application/json" id="audit-data">${jsonForScript(encodePageData(report, layout, base, safeHttpUrl))}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
