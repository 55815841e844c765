/// <reference lib="dom" />
// The HTML audit report in a real browser: Debian's Chromium (found or installed by
// test/helpers/chromium.sh), driven by playwright-core, one launch for the whole file. The page is
// rendered from a synthetic report (test/helpers/audit-report.mjs) with attacker-style text in
// exec_act, span names, issuers, finding messages and one jti.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditReport, NODE_VERDICTS, renderHtml, VERDICT_STYLES } from '../../src/audit/report/index.js';
import { syntheticAuditReport } from '../helpers/audit-report.mjs';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
const HOSTILE_JTI = 'jti"><script>window.__pwned=3</script>';
const JAEGER_UI = 'http://127.0.0.1:16686';

/** Gives the node at `index` a new jti everywhere the report names it. */
function renameJti(report: AuditReport, index: number, jti: string): void {
  const old = report.nodes[index]!.jti;
  const swap = (j: string): string => (j === old ? jti : j);
  report.nodes[index]!.jti = jti;
  for (const node of report.nodes) node.pred = node.pred.map(swap);
  for (const edge of report.edges) {
    edge.from = swap(edge.from);
    edge.to = swap(edge.to);
  }
  for (const finding of report.findings) finding.jtis = finding.jtis.map(swap);
}

/** `#rrggbb` as Chromium's computed style writes it. */
function rgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

describe('HTML audit report in Chromium', () => {
  let browser: Browser;
  let page: Page;
  let dir: string;
  let report: AuditReport;
  let fileUrl: string;
  const requests: string[] = [];
  const blocked: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // Installing the package on a fresh machine takes a while; finding it takes milliseconds.
    const executablePath = execFileSync('bash', [join(REPO_ROOT, 'test/helpers/chromium.sh')], {
      encoding: 'utf8',
      timeout: 900_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    dir = mkdtempSync(join(tmpdir(), 'ect-audit-html-'));
    report = syntheticAuditReport({ nodes: 300, seed: 7, hostile: HOSTILE, failedEvery: 41, missingEvery: 67 });
    // A task whose finding is listed first gets the hostile jti, so clicking that finding selects it.
    const target = report.nodes.findIndex((n) => n.jti === report.findings[0]!.jtis[0]);
    renameJti(report, target, HOSTILE_JTI);
    const file = join(dir, 'audit.html');
    writeFileSync(file, renderHtml(report, { jaegerUi: `${JAEGER_UI}/`, title: `Audit ${HOSTILE}` }));
    fileUrl = pathToFileURL(file).href;

    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (request) => requests.push(request.url()));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.route('**/*', (route) => {
      if (route.request().url() === fileUrl) return route.continue();
      blocked.push(route.request().url());
      return route.abort();
    });
    // A Content-Security-Policy refusal never reaches the network layer: count those too.
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) =>
        seen.push(`${event.violatedDirective} ${event.blockedURI}`),
      );
    });
    await page.goto(fileUrl, { waitUntil: 'load' });
    await page.waitForSelector('html[data-ready="1"]', { timeout: 30_000 });
  }, 960_000);

  afterAll(async () => {
    await browser?.close();
    if (dir && !process.env.ECT_KEEP_RUNS) rmSync(dir, { recursive: true, force: true });
  });

  it('draws one node per task, coloured by its verdict as the legend says', async () => {
    const screenshot = join(dir, 'audit.png');
    await page.screenshot({ path: screenshot, fullPage: false });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    // At the overview's zoom no label is drawn yet (they come with zooming in, for the nodes in view).
    expect(await page.locator('g.node text').count()).toBe(0);

    const drawn = await page.$$eval('g.node', (els) =>
      els.map((el) => ({
        jti: el.getAttribute('data-jti'),
        verdict: el.getAttribute('data-verdict'),
        fill: getComputedStyle(el.querySelector('rect')!).fill,
        stroke: getComputedStyle(el.querySelector('rect')!).stroke,
      })),
    );
    expect(drawn).toHaveLength(report.nodes.length);
    expect(drawn.map((d) => d.jti)).toEqual(report.nodes.map((n) => n.jti));
    expect(drawn.map((d) => d.verdict)).toEqual(report.nodes.map((n) => n.verdict));

    const legend = await page.$$eval('#legend li', (items) =>
      items.map((li) => ({
        verdict: li.getAttribute('data-verdict'),
        count: Number(li.querySelector('.count')?.textContent),
        fill: getComputedStyle(li.querySelector('rect')!).fill,
      })),
    );
    expect(legend.map((l) => l.verdict)).toEqual([...NODE_VERDICTS]);
    for (const entry of legend) {
      const verdict = entry.verdict as (typeof NODE_VERDICTS)[number];
      expect(entry.fill, verdict).toBe(rgb(VERDICT_STYLES[verdict].fill));
      expect(entry.count, verdict).toBe(report.summary[verdict]);
      const nodes = drawn.filter((d) => d.verdict === verdict);
      expect(nodes.length, verdict).toBe(report.summary[verdict]);
      for (const node of nodes) {
        expect(node.fill, node.jti ?? '').toBe(entry.fill);
        expect(node.stroke, node.jti ?? '').toBe(rgb(VERDICT_STYLES[verdict].stroke));
      }
    }
    // The synthetic report has every verdict, and no two verdicts share a colour.
    expect(new Set(legend.map((l) => l.fill)).size).toBe(NODE_VERDICTS.length);
    for (const verdict of NODE_VERDICTS) expect(report.summary[verdict], verdict).toBeGreaterThan(0);
    expect(await page.locator('#findings li').count()).toBe(report.findings.length);
  });

  it('keeps attacker-chosen names as text', async () => {
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('body script').count()).toBe(2);
    expect(await page.title()).toBe(`Audit ${HOSTILE}`);
    const firstMessage = await page.locator('#findings li .finding-msg').first().textContent();
    expect(firstMessage).toBe(report.findings[0]!.message);
    expect(firstMessage).toContain('<script>');
    expect(await page.locator('g.node').first().getAttribute('data-jti')).toBe(report.nodes[0]!.jti);
    expect(await page.locator('g.node[data-verdict]').evaluateAll((els) => els.length)).toBe(report.nodes.length);
  });

  it('highlights a finding’s tasks and shows the selected task with its Jaeger link', async () => {
    const finding = report.findings[0]!;
    await page.locator('#findings li[data-finding="0"]').click();
    const highlighted = await page.$$eval('g.node.hl', (els) => els.map((el) => el.getAttribute('data-jti')));
    expect(highlighted.sort()).toEqual([...finding.jtis].sort());
    const selected = report.nodes.find((n) => n.jti === finding.jtis[0])!;
    expect(selected.jti).toBe(HOSTILE_JTI);
    expect(await page.locator('g.node.sel').getAttribute('data-jti')).toBe(HOSTILE_JTI);
    const details = page.locator('#details');
    await expect.poll(() => details.locator('dd').first().textContent()).toBe(selected.execAct);
    expect(await details.textContent()).toContain(HOSTILE_JTI);
    expect(await details.textContent()).toContain(selected.inpHash);
    expect(await details.textContent()).toContain(selected.span!.name);
    const link = details.locator('a.jaeger-link');
    expect(await link.getAttribute('href')).toBe(
      `${JAEGER_UI}/trace/${selected.span!.traceId}?uiFind=${selected.span!.spanId}`,
    );
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
  });

  it('labels the nodes in view once zoomed in, as text', async () => {
    for (let i = 0; i < 12 && (await page.locator('g.node text.act').count()) === 0; i++) {
      await page.locator('#zoom-in').click();
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    }
    const labels = await page.$$eval('g.node', (els) =>
      els
        .filter((el) => el.querySelector('text.act'))
        .map((el) => ({ jti: el.getAttribute('data-jti'), act: el.querySelector('text.act')!.textContent })),
    );
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.length).toBeLessThan(report.nodes.length);
    const byJti = new Map(report.nodes.map((n) => [n.jti, n]));
    for (const label of labels) {
      const node = byJti.get(label.jti ?? '')!;
      const expected = node.execAct ?? `missing ${node.jti}`;
      // Long names are cut with an ellipsis; the start is the name itself, as text.
      expect(expected.startsWith((label.act ?? '').replace(/…$/, ''))).toBe(true);
    }
    expect(await page.locator('svg text script, svg text img').count()).toBe(0);
    await page.screenshot({ path: join(dir, 'audit-zoomed.png') });
  });

  it('makes no request other than the page itself', () => {
    expect(pageErrors).toEqual([]);
    expect(blocked).toEqual([]);
    expect(requests).toEqual([fileUrl]);
  });

  it('reports no Content-Security-Policy violation', async () => {
    expect(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations)).toEqual([]);
  });
});
