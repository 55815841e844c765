import { execFileSync, spawnSync } from 'node:child_process';
import { parse } from '@ts-graphviz/ast';
import { describe, expect, it } from 'vitest';
import {
  dotString,
  mermaidText,
  NODE_VERDICTS,
  renderDot,
  renderMermaid,
  VERDICT_STYLES,
} from '../../../src/audit/report/index.js';
import { syntheticAuditReport } from '../../helpers/audit-report.mjs';

const HOSTILE = '"]; n0 --> n1; click n0 "javascript:alert(1)" <script>x</script> #';

function hostileReport() {
  const report = syntheticAuditReport({ nodes: 80, seed: 4, hostile: HOSTILE, failedEvery: 11, missingEvery: 17 });
  const old = report.nodes[2]!.jti;
  const jti = `j"${HOSTILE}`;
  report.nodes[2]!.jti = jti;
  for (const node of report.nodes) node.pred = node.pred.map((p) => (p === old ? jti : p));
  for (const edge of report.edges) {
    if (edge.from === old) edge.from = jti;
    if (edge.to === old) edge.to = jti;
  }
  return report;
}

/**
 * A check of the Mermaid subset renderMermaid writes: a header, one classDef per verdict, node
 * statements `nI["label"]:::verdict` whose labels hold no quote and no markup but `<br/>`, and edges
 * between declared nodes. Returns the parsed statements.
 */
function checkMermaid(text: string) {
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toBe('flowchart TB');
  const classes = new Map<string, string>();
  const nodes = new Map<string, { label: string; verdict: string }>();
  const edges: [string, string][] = [];
  for (const line of lines.slice(1)) {
    let m = /^ {2}classDef (\w+) ([\w#:,. -]+)$/.exec(line);
    if (m) {
      classes.set(m[1]!, m[2]!);
      continue;
    }
    m = /^ {2}(n\d+)\["([^"]*)"\]:::(\w+)$/.exec(line);
    if (m) {
      expect(nodes.has(m[1]!), `${m[1]} declared twice`).toBe(false);
      expect(m[2]!.replaceAll('<br/>', '')).not.toMatch(/[<>"`]/);
      nodes.set(m[1]!, { label: m[2]!, verdict: m[3]! });
      continue;
    }
    m = /^ {2}(n\d+) --> (n\d+)$/.exec(line);
    if (m) {
      edges.push([m[1]!, m[2]!]);
      continue;
    }
    throw new Error(`not a statement renderMermaid writes: ${line}`);
  }
  for (const [from, to] of edges) expect(nodes.has(from) && nodes.has(to), `${from} --> ${to}`).toBe(true);
  for (const { verdict } of nodes.values()) expect(classes.has(verdict), verdict).toBe(true);
  return { classes, nodes, edges };
}

/** Mermaid's entity codes back to text. */
const unMermaid = (text: string) => text.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)));

describe('renderMermaid', () => {
  const report = hostileReport();
  const text = renderMermaid(report);
  const parsed = checkMermaid(text);

  it('declares every task once with its verdict class and every edge', () => {
    expect(parsed.nodes.size).toBe(report.nodes.length);
    expect(parsed.edges).toHaveLength(report.edges.length);
    report.nodes.forEach((node, i) => {
      expect(parsed.nodes.get(`n${i}`)?.verdict).toBe(node.verdict);
    });
  });

  it('gives each verdict the HTML report’s colours, missing dashed', () => {
    for (const verdict of NODE_VERDICTS) {
      const style = VERDICT_STYLES[verdict];
      expect(parsed.classes.get(verdict)).toContain(`fill:${style.fill},stroke:${style.stroke},color:${style.text}`);
    }
    expect(parsed.classes.get('missing')).toContain('stroke-dasharray');
  });

  it('keeps hostile names as entity-coded text that decodes back to the name', () => {
    const i = report.nodes.findIndex((n) => n.execAct?.includes(HOSTILE));
    expect(i).toBeGreaterThanOrEqual(0);
    const label = parsed.nodes.get(`n${i}`)!.label.split('<br/>')[0]!;
    expect(unMermaid(label)).toBe(report.nodes[i]!.execAct);
    // The injected statement stays inside its label: no line of the output is a click or an extra edge.
    expect(text).not.toMatch(/^\s*click/m);
    expect(mermaidText('a"b<c>#')).toBe('a#34;b#60;c#62;#35;');
  });
});

describe('renderDot', () => {
  const report = hostileReport();
  const text = renderDot(report, { jaegerUi: 'http://127.0.0.1:16686' });

  it('parses as one directed graph with every task and edge', () => {
    const ast = parse(text);
    const graph = ast.children[0]!;
    expect(graph.type).toBe('Graph');
    if (graph.type !== 'Graph') return;
    expect(graph.directed).toBe(true);
    const nodes = graph.children.filter((c) => c.type === 'Node');
    const edges = graph.children.filter((c) => c.type === 'Edge');
    expect(nodes.map((n) => (n.type === 'Node' ? n.id.value : ''))).toEqual(report.nodes.map((n) => n.jti));
    expect(edges).toHaveLength(report.edges.length);
    nodes.forEach((n, i) => {
      if (n.type !== 'Node') return;
      const attrs = new Map<string, string>();
      for (const a of n.children) {
        if (a.type === 'Attribute')
          attrs.set(String(a.key.value), typeof a.value === 'string' ? a.value : a.value.value);
      }
      const node = report.nodes[i]!;
      expect(attrs.get('class')).toBe(node.verdict);
      expect(attrs.get('fillcolor')).toBe(VERDICT_STYLES[node.verdict].fill);
      if (node.span)
        expect(attrs.get('URL')).toBe(`http://127.0.0.1:16686/trace/${node.span.traceId}?uiFind=${node.span.spanId}`);
      else expect(attrs.has('URL')).toBe(false);
      expect(attrs.get('label')?.split('\\n')[0]).toBe(node.execAct ?? `missing ${node.jti}`);
    });
  });

  it('escapes quotes, backslashes and line breaks in strings', () => {
    expect(dotString('a"b')).toBe('"a\\"b"');
    expect(dotString('back\\slash \\N')).toBe('"back\\\\slash \\\\N"');
    expect(dotString('two\nlines\r\n')).toBe('"two\\nlines\\n"');
  });

  // Graphviz is not a dependency of the project; when a `dot` is installed it gets the last word.
  const hasDot = spawnSync('dot', ['-V']).status === 0;
  it.skipIf(!hasDot)('renders with Graphviz when it is installed', () => {
    const svg = execFileSync('dot', ['-Tsvg'], { input: text, encoding: 'utf8' });
    expect(svg.match(/class="node (verified|failed|suspect|partial|missing)"/g)).toHaveLength(report.nodes.length);
  });
});
