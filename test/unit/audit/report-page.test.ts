import { describe, expect, it } from 'vitest';
import {
  type AuditReport,
  jaegerBase,
  NODE_VERDICTS,
  renderHtml,
  spanLink,
  VERDICT_STYLES,
} from '../../../src/audit/report/index.js';
import type { PageData } from '../../../src/audit/report/page-data.js';
import { syntheticAuditReport } from '../../helpers/audit-report.mjs';

function pageData(html: string): PageData {
  const text = /<script type="application\/json" id="audit-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (text === undefined) throw new Error('no data block');
  return JSON.parse(text) as PageData;
}

describe('renderHtml legend and nodes', () => {
  const report = syntheticAuditReport({ nodes: 200, seed: 11, failedEvery: 23, missingEvery: 31, spanlessEvery: 37 });
  const html = renderHtml(report);

  it('has one legend entry per verdict, in order, with the report’s counts and colours', () => {
    const entries = [
      ...html.matchAll(
        /<li data-verdict="(\w+)"><svg class="swatch v-(\w+)"[\s\S]*?<span class="count">(\d+)<\/span>/g,
      ),
    ];
    expect(entries.map((m) => m[1])).toEqual([...NODE_VERDICTS]);
    for (const [, verdict, swatch, count] of entries) {
      expect(swatch).toBe(verdict);
      expect(Number(count), verdict).toBe(report.summary[verdict as keyof AuditReport['summary']]);
      const style = VERDICT_STYLES[verdict as (typeof NODE_VERDICTS)[number]];
      expect(html).toContain(`.v-${verdict} rect{fill:${style.fill};stroke:${style.stroke}}`);
    }
    for (const verdict of NODE_VERDICTS) expect(report.summary[verdict]).toBeGreaterThan(0);
  });

  it('draws every node once with its index, jti and verdict', () => {
    const nodes = [
      ...html.matchAll(/<g class="node v-(\w+)" data-index="(\d+)" data-jti="([^"]+)" data-verdict="(\w+)"/g),
    ];
    expect(nodes).toHaveLength(report.nodes.length);
    nodes.forEach((m, i) => {
      expect(Number(m[2])).toBe(i);
      expect(m[3]).toBe(report.nodes[i]!.jti);
      expect(m[1]).toBe(report.nodes[i]!.verdict);
      expect(m[4]).toBe(report.nodes[i]!.verdict);
    });
    expect(html.match(/<path d="M[^"]*" data-from="\d+" data-to="\d+"/g)).toHaveLength(report.edges.length);
  });

  it('lists every finding with its check, code and message', () => {
    const items = [...html.matchAll(/<li class="finding sev-(\w+)" data-finding="(\d+)" data-check="([^"]+)"/g)];
    expect(items.map((m) => Number(m[2]))).toEqual(report.findings.map((_, i) => i));
    items.forEach((m, i) => {
      const finding = report.findings[i]!;
      expect(m[1]).toBe(finding.severity);
      expect(m[3]).toBe(finding.check);
      expect(html).toContain(`<code>${finding.code}</code>`);
    });
  });

  it('encodes each node so the page can decode all its fields', () => {
    const data = pageData(html);
    expect(data.nodes).toHaveLength(report.nodes.length);
    const str = (i: number) => (i === -1 ? undefined : data.strings[i]);
    data.nodes.forEach((n, i) => {
      const node = report.nodes[i]!;
      expect(n[0]).toBe(node.jti);
      expect(str(n[1])).toBe(node.iss);
      expect(str(n[3])).toBe(node.execAct);
      expect(n[4] ?? undefined).toBe(node.iat);
      expect(n[7] ?? undefined).toBe(node.inpHash);
      expect(n[8] ?? undefined).toBe(node.outHash);
      expect(str(n[10])).toBe(node.verdict);
      expect(n[6].map((p) => (typeof p === 'number' ? report.nodes[p]!.jti : p))).toEqual(node.pred);
      expect(n[12]).toEqual(node.findings);
      if (node.span === undefined) expect(n[13]).toBeNull();
      else {
        expect(str(n[13]![0])).toBe(node.span.traceId);
        expect(n[13]![1]).toBe(node.span.spanId);
        expect(str(n[13]![3])).toBe(node.span.name);
      }
    });
    expect(data.boxes).toHaveLength(4 * report.nodes.length);
  });
});

describe('Jaeger links', () => {
  const span = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    name: 'POST /tasks',
    kind: 'server',
    status: 'ok',
    start: '2026-11-28T09:00:00.000Z',
    end: '2026-11-28T09:00:00.010Z',
  };

  it('links a span into the given Jaeger UI by trace and span id', () => {
    expect(jaegerBase('http://127.0.0.1:16686/')).toBe('http://127.0.0.1:16686');
    expect(jaegerBase('https://ops.example/jaeger//')).toBe('https://ops.example/jaeger');
    expect(spanLink(span, 'http://127.0.0.1:16686')).toBe(
      'http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736?uiFind=00f067aa0ba902b7',
    );
    // Ids are attacker-influenced too: they stay inside the path and query.
    expect(spanLink({ ...span, traceId: '../x?y', spanId: '#z' }, 'http://j')).toBe(
      'http://j/trace/..%2Fx%3Fy?uiFind=%23z',
    );
  });

  it('without a Jaeger UI uses the span’s own http(s) url only', () => {
    expect(spanLink({ ...span, url: 'http://jaeger/trace/1' }, undefined)).toBe('http://jaeger/trace/1');
    expect(spanLink({ ...span, url: 'javascript:alert(1)' }, undefined)).toBeUndefined();
    expect(spanLink(span, undefined)).toBeUndefined();
    expect(spanLink(undefined, 'http://j')).toBeUndefined();
  });

  it('puts the base in the page once, or each span’s checked url when no base is given', () => {
    const report = syntheticAuditReport({ nodes: 30, seed: 2, jaegerUi: 'http://from-report:16686' });
    report.nodes[1]!.span!.url = 'javascript:alert(1)';
    const withBase = pageData(renderHtml(report, { jaegerUi: 'http://127.0.0.1:16686/' }));
    expect(withBase.jaeger).toBe('http://127.0.0.1:16686');
    expect(withBase.nodes.every((n) => n[13] === null || n[13][9] === null)).toBe(true);
    const withoutBase = pageData(renderHtml(report));
    expect(withoutBase.jaeger).toBeNull();
    expect(withoutBase.nodes[1]![13]![9]).toBeNull();
    expect(withoutBase.nodes[2]![13]![9]).toBe(report.nodes[2]!.span!.url);
  });
});
