import { NODE_VERDICTS, VERDICT_STYLES } from './verdicts.js';

const verdictRules = NODE_VERDICTS.map((verdict) => {
  const style = VERDICT_STYLES[verdict];
  return `.v-${verdict} rect{fill:${style.fill};stroke:${style.stroke}}.v-${verdict} text{fill:${style.text}}`;
}).join('\n');

/**
 * The page's style sheet. System fonts only (no web font, nothing fetched); verdict colours from
 * {@link VERDICT_STYLES}, shared by the graph's nodes and the legend's swatches.
 */
export const PAGE_STYLE = `
:root{color-scheme:light;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b}
*{box-sizing:border-box}
body{margin:0;height:100vh;display:grid;grid-template-rows:auto 1fr}
header{padding:10px 16px;border-bottom:1px solid #d0d0d0;background:#f4f5f7;display:flex;flex-wrap:wrap;gap:6px 24px;align-items:center}
header h1{font-size:18px;margin:0}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;text-transform:uppercase;font-size:12px;border:1px solid}
.badge.verdict-verified{background:#cfe3f7;border-color:#1f5f99}
.badge.verdict-partial{background:#fff2a8;border-color:#8a7300}
.badge.verdict-failed{background:#f6c3c0;border-color:#b3261e}
.meta{color:#555;font-size:13px}
main{display:grid;grid-template-columns:minmax(0,1fr) 400px;min-height:0}
#graph-pane{overflow:auto;background:#fbfbfb;position:relative}
#zoom{position:sticky;top:8px;left:8px;z-index:2;display:inline-flex;gap:4px;margin:8px}
#zoom button{font:inherit;min-width:32px;padding:2px 8px;border:1px solid #bbb;background:#fff;border-radius:4px;cursor:pointer}
#dag{display:block}
#dag text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;pointer-events:none}
#dag text.act{font-weight:600}
#dag text.sub{font-size:10.5px}
#dag.far text{display:none}
.node{cursor:pointer}
.node rect{stroke-width:1.5}
.v-missing rect{stroke-dasharray:5 3}
.node.sel rect{stroke-width:4}
.node.hl rect{stroke:#111;stroke-width:4}
.edges path{fill:none;stroke:#8d8d8d;stroke-width:1.2;marker-end:url(#arrow)}
.edges path.hl{stroke:#111;stroke-width:2.5}
#arrow path{fill:#8d8d8d}
aside{overflow:auto;border-left:1px solid #d0d0d0;padding:0 14px 16px}
aside h2{font-size:15px;margin:16px 0 6px}
#legend{list-style:none;padding:0;margin:0}
#legend li{display:flex;gap:8px;align-items:center;padding:2px 0}
#legend .count{font-variant-numeric:tabular-nums;color:#444}
#legend .meaning{color:#666;font-size:12px}
.swatch{flex:none}
.swatch rect{stroke-width:1.5}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{text-align:left;padding:2px 6px 2px 0;vertical-align:top}
.status-fail{color:#b3261e;font-weight:600}.status-partial{color:#8a7300;font-weight:600}.status-skipped{color:#777}
#findings{padding-left:22px;margin:0}
#findings li{padding:4px 6px;margin:2px 0;border-radius:4px;cursor:pointer;border-left:4px solid transparent}
#findings li.sev-failed{border-left-color:#b3261e}
#findings li.sev-partial{border-left-color:#8a7300}
#findings li:hover,#findings li.active{background:#eef3fb}
#findings code,#details code{font-size:12px;word-break:break-all}
.finding-at,.finding-tasks{color:#666;font-size:12px}
#details dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 10px;margin:0;font-size:13px}
#details dt{color:#555}
#details dd{margin:0;word-break:break-all}
#details .empty{color:#777}
${verdictRules}
`;
