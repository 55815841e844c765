// HTML audit report benchmark: for synthetic audits of 100, 1,000 and 10,000 tasks
// (test/helpers/audit-report.mjs: workflow runs of 8–60 tasks, fan-out/fan-in, six issuers, some
// failed, suspect, partial and missing tasks), the time renderHtml takes in Node (dagre layout
// included; wall and CPU) and renderHtmlAsync (the layout over worker threads), the page's size, and the time Chromium takes from navigation to the
// first painted frame after the page's script ran (load + parse + style/layout + paint), median of
// three loads. Baselines measured in the same run: the smallest report (ratios show how the costs
// grow with the audit), and elkjs (the other layout library considered) laying out the same
// 1,000-task graph as dagre. One more row: 10,000 tasks that are one 40-task workflow run 250 times
// (runs of the same shape share one dagre layout).
//
//   npm run bench:report                       # builds, then runs
//   node test/bench/report.bench.mjs [--sizes 100,1000,10000] [--loads 3] [--no-elk] [--no-repeated] [--keep DIR]
//
// Target (issue: `ect audit`): the 10,000-task report renders in Chromium in ≤ 5 s.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import dagre from '@dagrejs/dagre';
import ELK from 'elkjs/lib/elk.bundled.js';
import { chromium } from 'playwright-core';
import { availableParallelism } from 'node:os';
import { renderHtml, renderHtmlAsync } from '../../dist/audit/report/index.js';
import { repeatedRunsReport, syntheticAuditReport } from '../helpers/audit-report.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const SIZES = arg('--sizes', '100,1000,10000').split(',').map(Number);
const LOADS = Number(arg('--loads', '3'));
const TARGET_MS = 5_000;
const WORKERS = Math.min(8, availableParallelism());
const keep = arg('--keep', undefined);
const work = keep ?? mkdtempSync(join(tmpdir(), 'ect-report-bench-'));
mkdirSync(work, { recursive: true });
if (!keep) process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Milliseconds from navigation start to the first frame painted after the page's script ran. */
async function loadTime(browser, url, { report = true } = {}) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
    if (report) await page.waitForSelector('html[data-ready="1"]', { timeout: 120_000 });
    return await page.evaluate(
      () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now())))),
    );
  } finally {
    await page.close();
  }
}

/** dagre and elkjs on the same graph, each component on its own as renderHtml does. */
async function layoutComparison(report) {
  const index = new Map(report.nodes.map((n, i) => [n.jti, i]));
  const parent = report.nodes.map((_, i) => i);
  const find = (i) => {
    while (parent[i] !== i) i = parent[i];
    return i;
  };
  for (const e of report.edges) parent[find(index.get(e.from))] = find(index.get(e.to));
  const groups = new Map();
  report.nodes.forEach((_, i) => {
    const root = find(i);
    if (!groups.has(root)) groups.set(root, { nodes: [], edges: [] });
    groups.get(root).nodes.push(String(i));
  });
  for (const e of report.edges) {
    groups.get(find(index.get(e.from))).edges.push([String(index.get(e.from)), String(index.get(e.to))]);
  }
  let t = performance.now();
  for (const g of groups.values()) {
    const graph = new dagre.graphlib.Graph({ multigraph: true });
    graph.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 44 });
    for (const n of g.nodes) graph.setNode(n, { width: 200, height: 48 });
    g.edges.forEach(([a, b], k) => {
      graph.setEdge(a, b, {}, String(k));
    });
    dagre.layout(graph);
  }
  const dagreMs = performance.now() - t;
  const elk = new ELK();
  t = performance.now();
  for (const g of groups.values()) {
    await elk.layout({
      id: 'root',
      layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'DOWN' },
      children: g.nodes.map((id) => ({ id, width: 200, height: 48 })),
      edges: g.edges.map(([a, b], k) => ({ id: `e${k}`, sources: [a], targets: [b] })),
    });
  }
  return { dagreMs, elkMs: performance.now() - t, components: groups.size };
}

const executablePath = execFileSync('bash', [join(REPO_ROOT, 'test/helpers/chromium.sh')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
const rows = [];
try {
  // Warm-up: the first page of a browser pays for the renderer's start.
  const warm = join(work, 'warm.html');
  writeFileSync(warm, renderHtml(syntheticAuditReport({ nodes: 20, seed: 1 })));
  await loadTime(browser, pathToFileURL(warm).href);

  const cases = SIZES.map((size) => ({
    label: size.toLocaleString('en-US'),
    size,
    make: () => syntheticAuditReport({ nodes: size, seed: 42, jaegerUi: 'http://127.0.0.1:16686' }),
  }));
  if (!process.argv.includes('--no-repeated')) {
    cases.push({
      label: '10,000 (one run shape ×250)',
      size: 10_000,
      repeated: true,
      make: () => repeatedRunsReport({ runs: 250, runSize: 40, seed: 42, jaegerUi: 'http://127.0.0.1:16686' }),
    });
  }
  for (const { label, size, repeated, make } of cases) {
    const report = make();
    globalThis.gc?.();
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const html = renderHtml(report, { jaegerUi: 'http://127.0.0.1:16686' });
    const renderMs = performance.now() - t0;
    const renderCpuMs = cpuMs() - cpu0;
    globalThis.gc?.();
    const t1 = performance.now();
    const spread = await renderHtmlAsync(report, { jaegerUi: 'http://127.0.0.1:16686', workers: WORKERS });
    const asyncMs = performance.now() - t1;
    if (spread !== html) throw new Error('renderHtmlAsync and renderHtml wrote different pages');
    const file = join(work, `audit-${rows.length}.html`);
    writeFileSync(file, html);
    const url = pathToFileURL(file).href;
    const loads = [];
    for (let i = 0; i < LOADS; i++) loads.push(await loadTime(browser, url));
    rows.push({
      label,
      size,
      repeated,
      nodes: report.nodes.length,
      edges: report.edges.length,
      renderMs,
      renderCpuMs,
      asyncMs,
      bytes: Buffer.byteLength(html),
      chromiumMs: median(loads),
      worstMs: Math.max(...loads),
    });
    console.error(`… ${label} tasks done`);
  }

  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const base = rows[0];
  console.log(
    '\nHTML audit report (Chromium: median of %d loads, worst in brackets; ratios to the %s-task row)',
    LOADS,
    fmt(base.size),
  );
  console.log(
    `| tasks | nodes | edges | renderHtml in Node, wall / CPU ms (ratio) | renderHtmlAsync, ${WORKERS} workers, wall ms | page bytes | Chromium load→paint ms (ratio) |`,
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${fmt(r.nodes)} | ${fmt(r.edges)} | ${fmt(r.renderMs)} / ${fmt(r.renderCpuMs)} (${(r.renderCpuMs / base.renderCpuMs).toFixed(1)}×) | ${fmt(r.asyncMs)} | ${fmt(r.bytes)} | ${fmt(r.chromiumMs)} [${fmt(r.worstMs)}] (${(r.chromiumMs / base.chromiumMs).toFixed(1)}×) |`,
    );
  }
  const big = rows.find((r) => r.size === 10_000 && !r.repeated);
  if (big) {
    console.log(
      `\nTarget: 10,000-task report renders in Chromium in ≤ ${fmt(TARGET_MS)} ms: ${big.worstMs <= TARGET_MS ? 'met' : 'NOT met'} (worst load ${fmt(big.worstMs)} ms)`,
    );
  }
  if (!process.argv.includes('--no-elk')) {
    const { dagreMs, elkMs, components } = await layoutComparison(syntheticAuditReport({ nodes: 1000, seed: 42 }));
    console.log(`\nLayout of the 1,000-task graph (${components} components, each laid out on its own)`);
    console.log('| library | ms | ratio to dagre |');
    console.log('|---|---:|---:|');
    console.log(`| @dagrejs/dagre | ${fmt(dagreMs)} | 1.0× |`);
    console.log(`| elkjs (layered) | ${fmt(elkMs)} | ${(elkMs / dagreMs).toFixed(1)}× |`);
  }
} finally {
  await browser.close();
}
