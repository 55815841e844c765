// `ect audit` on the paper's financial workflow run for real: six Node processes (an orchestrator
// and five agents) instrumented by `node --import otel-ect/register`, exporting OTLP JSON lines
// files; their tokens appended to a real file ledger. The audit of the export with the ledger is
// verified, the ledger alone and the export alone give the same DAG, and one tampering is named.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/audit/report/model.js';
import { FileLedger } from '../../src/ledger/file-store.js';
import { ect } from '../helpers/cli.js';
import { type CollectedExport, collectExport, exportFiles } from '../helpers/export.js';
import { runWorkflows, startWorkflow, stopWorkflow, type Workflow } from '../helpers/workflow.js';
import { READY_TIMEOUT_MS, runDir, SETUP_TIMEOUT_MS } from './helpers.js';

const run = runDir('audit');
let workflow: Workflow | undefined;
let exported: CollectedExport;
let files: string[] = [];
// The embedded ledger the six services wrote themselves (ECT_LEDGER defaults to file:$ECT_HOME/ledger).
const ledgerDir = join(run.dir, 'home', 'ledger');

beforeAll(async () => {
  workflow = await startWorkflow({ dir: run.dir, readyTimeoutMs: READY_TIMEOUT_MS });
  await runWorkflows(workflow, 1);
  await stopWorkflow(workflow);
  exported = await collectExport(workflow);
  files = exportFiles(workflow.exportDir as string);
  const ledger = FileLedger.openSync({ dir: ledgerDir, readOnly: true });
  expect(ledger.size).toBe(exported.tokens.length);
  ledger.close();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (workflow !== undefined) await stopWorkflow(workflow).catch((error: unknown) => console.error(String(error)));
  run.remove();
}, 30_000);

const audit = async (args: string[]) => {
  const result = await ect(['audit', ...args, '--jwks', exported.jwksDir, '--json']);
  return { code: result.code, report: JSON.parse(result.stdout) as AuditReport };
};

describe('ect audit on the agent workflow', () => {
  it('the export with the ledger: verified, 17 tokens and 22 edges, every span bound', async () => {
    const { code, report } = await audit([...files, '--ledger', ledgerDir]);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
    expect(report.summary).toMatchObject({ tokens: 17, edges: 22, verified: 17 });
    expect(report.checks.find((c) => c.name === 'binding')?.status).toBe('pass');
    expect(report.nodes.filter((n) => n.span !== undefined)).toHaveLength(17);
    expect(new Set(report.nodes.map((n) => n.span?.service))).toEqual(
      new Set([
        'orchestrator',
        'agent-fetch-data',
        'agent-analyze-risk',
        'agent-check-credit',
        'agent-verify-compliance',
        'agent-execute-trade',
      ]),
    );
  });

  it('the ledger alone and the export alone agree', async () => {
    const fromLedger = await audit(['--ledger', ledgerDir]);
    const fromExport = await audit(files);
    expect(fromLedger.code).toBe(0);
    expect(fromExport.code).toBe(0);
    const shape = (r: AuditReport) => ({
      nodes: r.nodes.map((n) => n.jti).sort(),
      edges: r.edges.map((e) => `${e.from}>${e.to}`).sort(),
    });
    expect(shape(fromLedger.report)).toEqual(shape(fromExport.report));
  });

  it("an agent's exported span renamed is named, with its service", async () => {
    const spans = files.filter((f) => readFileSync(f, 'utf8').includes('"resourceSpans"'));
    const target = spans.find((f) => readFileSync(f, 'utf8').includes('"analyze_risk"')) as string;
    const edited = join(run.dir, 'edited.jsonl');
    writeFileSync(edited, readFileSync(target, 'utf8').replace('"name":"analyze_risk"', '"name":"analyze_risk_v2"'));
    const { code, report } = await audit([...files.filter((f) => f !== target), edited, '--ledger', ledgerDir]);
    expect(code).toBe(1);
    expect(report.findings).toEqual([
      expect.objectContaining({
        check: 'binding',
        code: 'ECT_SPAN_MISMATCH',
        message: expect.stringContaining('name: span says "analyze_risk_v2", token says "analyze_risk"'),
        spans: [expect.objectContaining({ name: 'analyze_risk_v2' })],
      }),
    ]);
    const node = report.nodes.find((n) => n.jti === report.findings[0]?.jtis[0]);
    expect(node?.span?.service).toBe('agent-analyze-risk');
  });
});
