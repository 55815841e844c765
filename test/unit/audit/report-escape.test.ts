import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EctFormatError } from '../../../src/base/errors.js';
import {
  type AuditReport,
  escapeXml,
  jsonForScript,
  renderHtml,
  safeHttpUrl,
} from '../../../src/audit/report/index.js';
import { syntheticAuditReport } from '../../helpers/audit-report.mjs';

const HOSTILE = `</script><script>alert(1)</script><!--"'&`;

/** The `#audit-data` block's text and the inline script and style of a rendered page. */
function parts(html: string): { data: string; script: string; style: string } {
  const data = /<script type="application\/json" id="audit-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
  if (data === undefined || script === undefined || style === undefined) throw new Error('page parts not found');
  return { data, script, style };
}

describe('escaping helpers', () => {
  it('escapeXml turns every markup character into an entity', () => {
    expect(escapeXml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    expect(escapeXml('plain text · ü')).toBe('plain text · ü');
  });

  it('jsonForScript cannot close its element or open a comment, and parses back to the same value', () => {
    const value = { a: HOSTILE, b: 'line\u2028separator\u2029', c: ['<!--', '-->'] };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('safeHttpUrl keeps only absolute http(s) URLs', () => {
    expect(safeHttpUrl('http://127.0.0.1:16686/trace/ab')).toBe('http://127.0.0.1:16686/trace/ab');
    expect(safeHttpUrl('https://jaeger.example/x?y=1')).toBe('https://jaeger.example/x?y=1');
    for (const bad of ['javascript:alert(1)', 'data:text/html,<b>', 'file:///etc/passwd', '/relative', 'not a url']) {
      expect(safeHttpUrl(bad), bad).toBeUndefined();
    }
  });
});

describe('renderHtml escaping', () => {
  const report = syntheticAuditReport({ nodes: 60, seed: 3, hostile: HOSTILE, failedEvery: 9, missingEvery: 13 });
  report.nodes[0]!.jti = `jti-${HOSTILE}`;
  // The renamed task's successors now name a jti that is gone: fixEdges drops those edges.
  report.sources[0]!.location = `export/${HOSTILE}.jsonl`;
  report.checks[0]!.detail = `detail ${HOSTILE}`;
  const html = renderHtml(fixEdges(report), { title: `Title ${HOSTILE}` });

  it('writes no markup from the report: exactly the page’s own two script elements', () => {
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).not.toContain('<!--');
    expect(html).not.toContain('alert(1)</script>');
    expect(html).toContain(`<title>Title ${escapeXml(HOSTILE)}</title>`);
    expect(html).toContain(`data-jti="jti-${escapeXml(HOSTILE)}"`);
    expect(html).toContain(escapeXml(`export/${HOSTILE}.jsonl`));
    expect(html).toContain(escapeXml(`detail ${HOSTILE}`));
  });

  it('carries the hostile strings intact in the data block', () => {
    const data = JSON.parse(parts(html).data) as {
      strings: string[];
      nodes: [string][];
      findings: { message: string }[];
    };
    expect(data.nodes[0]![0]).toBe(`jti-${HOSTILE}`);
    expect(data.strings.some((s) => s.endsWith(HOSTILE))).toBe(true);
    expect(data.findings.map((f) => f.message)).toEqual(report.findings.map((f) => f.message));
  });

  it('allows its own script and style by hash and nothing else', () => {
    const { script, style } = parts(html);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    const hash = (text: string) => createHash('sha256').update(text).digest('base64');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'sha256-${hash(script)}'`);
    expect(csp).toContain(`style-src 'sha256-${hash(style)}'`);
    expect(csp).not.toContain('unsafe');
    // No attribute that would fetch anything.
    expect(html).not.toMatch(/\s(src|href|xlink:href)=/);
  });
});

/** Keeps edges consistent after a jti was renamed in place (edges follow the node's pred list). */
function fixEdges(report: AuditReport): AuditReport {
  const known = new Set(report.nodes.map((n) => n.jti));
  report.edges = report.nodes.flatMap((n) => n.pred.filter((p) => known.has(p)).map((p) => ({ from: p, to: n.jti })));
  return report;
}

describe('renderHtml input checks', () => {
  const base = () => syntheticAuditReport({ nodes: 20, seed: 5 });

  it('refuses another schema, a duplicate jti, an edge to no node and a bad verdict', () => {
    const cases: [string, (r: AuditReport) => void][] = [
      ['schema', (r) => Object.assign(r, { schema: 'otel-ect/audit-report/v0' })],
      ['duplicate', (r) => Object.assign(r.nodes[1]!, { jti: r.nodes[0]!.jti })],
      ['edge', (r) => r.edges.push({ from: 'nowhere', to: r.nodes[0]!.jti })],
      ['verdict', (r) => Object.assign(r.nodes[0]!, { verdict: 'fine' })],
    ];
    for (const [name, spoil] of cases) {
      const report = base();
      spoil(report);
      expect(() => renderHtml(report), name).toThrow(EctFormatError);
      try {
        renderHtml(report);
      } catch (error) {
        expect((error as EctFormatError).code, name).toBe('ECT_FORMAT_INVALID');
      }
    }
  });

  it('refuses a Jaeger UI address that is not http(s)', () => {
    expect(() => renderHtml(base(), { jaegerUi: 'javascript:alert(1)' })).toThrow(EctFormatError);
  });
});
