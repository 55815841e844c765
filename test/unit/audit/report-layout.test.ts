import { describe, expect, it } from 'vitest';
import {
  type AuditReport,
  layoutReport,
  layoutReportAsync,
  NODE_HEIGHT,
  NODE_WIDTH,
  renderHtml,
  renderHtmlAsync,
} from '../../../src/audit/report/index.js';
import { syntheticAuditReport } from '../../helpers/audit-report.mjs';

describe('layoutReport', () => {
  it('places every node without overlap, predecessors above successors, inside the drawing', () => {
    const report = syntheticAuditReport({ nodes: 400, seed: 9 });
    const layout = layoutReport(report);
    expect(layout.nodes).toHaveLength(report.nodes.length);
    expect(layout.components).toBeGreaterThan(1);
    for (const box of layout.nodes) {
      expect(box.width).toBe(NODE_WIDTH);
      expect(box.height).toBe(NODE_HEIGHT);
      expect(box.x).toBeGreaterThanOrEqual(-0.5);
      expect(box.y).toBeGreaterThanOrEqual(-0.5);
      expect(box.x + box.width).toBeLessThanOrEqual(layout.width + 0.5);
      expect(box.y + box.height).toBeLessThanOrEqual(layout.height + 0.5);
    }
    // Sorting by x then sweeping keeps the overlap check linear-ish for 400 boxes.
    const sorted = [...layout.nodes].sort((a, b) => a.x - b.x);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length && sorted[j]!.x < sorted[i]!.x + NODE_WIDTH; j++) {
        const a = sorted[i]!;
        const b = sorted[j]!;
        const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
        expect(overlap, `${JSON.stringify(a)} overlaps ${JSON.stringify(b)}`).toBe(false);
      }
    }
    const index = new Map(report.nodes.map((n, i) => [n.jti, i]));
    expect(layout.edges).toHaveLength(report.edges.length);
    for (const edge of layout.edges) {
      expect(layout.nodes[edge.from]!.y).toBeLessThan(layout.nodes[edge.to]!.y);
      expect(edge.points.length).toBeGreaterThanOrEqual(2);
    }
    for (const edge of report.edges) expect(index.has(edge.from) && index.has(edge.to)).toBe(true);
  });

  it('lays out a cycle (a tampered DAG) and a self-reference instead of failing', () => {
    const report = syntheticAuditReport({ nodes: 12, seed: 1, failedEvery: 0, missingEvery: 0, spanlessEvery: 0 });
    const [a, b, c] = report.nodes;
    const cyclic: AuditReport = {
      ...report,
      edges: [...report.edges, { from: c!.jti, to: a!.jti }, { from: b!.jti, to: b!.jti }],
    };
    const layout = layoutReport(cyclic);
    expect(layout.nodes.every((box) => Number.isFinite(box.x) && Number.isFinite(box.y))).toBe(true);
    expect(layout.edges).toHaveLength(cyclic.edges.length);
  });

  it('draws an empty report as an empty drawing', () => {
    const report = syntheticAuditReport({ nodes: 0 });
    expect(layoutReport(report)).toMatchObject({ width: 0, height: 0, nodes: [], edges: [], components: 0 });
  });
});

describe('layoutReport on repeated workflow runs', () => {
  it('gives runs of the same shape the same layout, moved', () => {
    const one = syntheticAuditReport({ nodes: 25, seed: 8, maxRun: 1000, failedEvery: 0, missingEvery: 0 });
    const other = syntheticAuditReport({ nodes: 25, seed: 8, maxRun: 1000, failedEvery: 0, missingEvery: 0 });
    // Same shape, other tasks: give the second run fresh jtis.
    const rename = new Map(other.nodes.map((n) => [n.jti, `again-${n.jti}`]));
    const again = other.nodes.map((n) => ({ ...n, jti: rename.get(n.jti)!, pred: n.pred.map((p) => rename.get(p)!) }));
    const edges = other.edges.map((e) => ({ from: rename.get(e.from)!, to: rename.get(e.to)! }));
    const report: AuditReport = { ...one, nodes: [...one.nodes, ...again], edges: [...one.edges, ...edges] };
    expect(layoutReport(one).components).toBe(1);
    const layout = layoutReport(report);
    expect(layout.components).toBe(2);
    const first = layout.nodes.slice(0, 25);
    const second = layout.nodes.slice(25);
    const dx = second[0]!.x - first[0]!.x;
    const dy = second[0]!.y - first[0]!.y;
    expect(dx !== 0 || dy !== 0).toBe(true);
    second.forEach((box, i) => {
      expect(box.x - first[i]!.x).toBeCloseTo(dx, 6);
      expect(box.y - first[i]!.y).toBeCloseTo(dy, 6);
    });
    // And the same as a report holding only one run.
    const alone = layoutReport(one);
    alone.nodes.forEach((box, i) => {
      expect(box.x).toBeCloseTo(first[i]!.x, 6);
      expect(box.y).toBeCloseTo(first[i]!.y, 6);
    });
  });
});

describe('layoutReportAsync', () => {
  it('stays in the thread for small reports and for one worker', async () => {
    const report = syntheticAuditReport({ nodes: 100, seed: 22 });
    expect(await layoutReportAsync(report)).toEqual(layoutReport(report));
    expect(await layoutReportAsync(report, { workers: 1 })).toEqual(layoutReport(report));
  });

  it('spreads a large layout over worker threads: renderHtmlAsync gives the same page as renderHtml', async () => {
    const report = syntheticAuditReport({ nodes: 2_100, seed: 23 });
    const options = { jaegerUi: 'http://127.0.0.1:16686', title: 'same' };
    expect(await renderHtmlAsync(report, { ...options, workers: 2 })).toBe(renderHtml(report, options));
  }, 120_000);
});
