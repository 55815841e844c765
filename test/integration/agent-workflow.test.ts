// The paper's financial workflow end to end: six real Node processes (an orchestrator and five
// agents), each instrumented only by `node --import otel-ect/register`, talking HTTP on 127.0.0.1.
// No mocks: the assertions read what the processes exported to OTLP JSON lines files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EctClaims } from '../../src/token/index.js';
import { type CollectedExport, collectExport } from '../helpers/export.js';
import {
  AGENT_ACTIONS,
  type AgentAction,
  agentService,
  ORCHESTRATOR_SERVICE,
  runWorkflows,
  startWorkflow,
  stopWorkflow,
  type Workflow,
  type WorkflowSummary,
} from '../helpers/workflow.js';
import {
  agentOrder,
  checkSpansAndTokens,
  ect,
  PAPER_ORDER,
  reachability,
  READY_TIMEOUT_MS,
  runDir,
  SETUP_TIMEOUT_MS,
  tokensOfSpans,
  type CheckedToken,
} from './helpers.js';

const run = runDir('workflow');
let workflow: Workflow | undefined;
let summaries: WorkflowSummary[] = [];
let exported: CollectedExport;
let checked: CheckedToken[] = [];
const timings: Record<string, number> = {};

beforeAll(async () => {
  let t = Date.now();
  workflow = await startWorkflow({ dir: run.dir, readyTimeoutMs: READY_TIMEOUT_MS });
  timings.startMs = Date.now() - t;
  t = Date.now();
  summaries = await runWorkflows(workflow, 1);
  timings.runMs = Date.now() - t;
  t = Date.now();
  const exits = await stopWorkflow(workflow);
  timings.stopMs = Date.now() - t;
  // register exits with 128 + SIGTERM after flushing.
  expect(exits.map((e) => e.code)).toEqual(exits.map(() => 143));
  exported = await collectExport(workflow);
  checked = tokensOfSpans(exported);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  // Stops whatever is still running (after a failed setup); a no-op when all have exited.
  if (workflow !== undefined) await stopWorkflow(workflow).catch((error: unknown) => console.error(String(error)));
  console.log(`agent-workflow timings: ${JSON.stringify(timings)}`);
  run.remove();
}, 30_000);

/** The token of the span named `name` in `service`, exactly one. */
function tokenOf(service: string, name: string): EctClaims {
  const found = checked.filter((t) => t.span.service === service && t.span.name === name);
  expect(
    found.map((t) => `${t.span.service}/${t.span.name}`),
    `${service} ${name}`,
  ).toHaveLength(1);
  return found[0]!.claims;
}

describe('agent workflow over real HTTP (src/otel/DESIGN.md §6)', () => {
  it('ran one workflow through all five agents', () => {
    expect(summaries).toHaveLength(1);
    expect(Object.keys(summaries[0]!.steps).sort()).toEqual([...AGENT_ACTIONS].sort());
    expect(summaries[0]!.steps.execute_trade).toMatchObject({ filled: 100 });
  });

  it('exported the expected spans: per agent a server span and its work span; the orchestrator five client spans, workflow and POST /run', () => {
    const shape = exported.spans.map((s) => `${s.service} ${s.kind} ${s.name}`).sort();
    const expected = [
      ...AGENT_ACTIONS.flatMap((a) => [`${agentService(a)} SERVER POST /${a}`, `${agentService(a)} INTERNAL ${a}`]),
      ...AGENT_ACTIONS.map(() => `${ORCHESTRATOR_SERVICE} CLIENT POST`),
      `${ORCHESTRATOR_SERVICE} INTERNAL workflow`,
      `${ORCHESTRATOR_SERVICE} SERVER POST /run`,
    ].sort();
    expect(shape).toEqual(expected);
    expect(new Set(exported.spans.map((s) => s.traceId))).toEqual(new Set([summaries[0]!.traceId]));
    // Six processes, six JWK Sets, one per service.
    expect(exported.jwksFiles).toHaveLength(6);
  });

  it('every span has ect.jti, ect.pred and ect.token; each token verifies (EctVerifier audit mode and jose jwtVerify) and is bound to its span', async () => {
    const verified = await checkSpansAndTokens(exported);
    expect(verified).toHaveLength(exported.spans.length);
    expect(exported.tokens).toHaveLength(exported.spans.length);
    // One workflow id (the trace id) for the whole run, across all six services.
    const wids = new Set(verified.map((t) => t.claims.wid));
    expect(wids.size).toBe(1);
    expect([...wids][0]!.replaceAll('-', '')).toBe(summaries[0]!.traceId);
  });

  it("restricted to the five agent tokens, reachability over all pred edges is exactly the paper's figure", () => {
    expect(checked.length).toBeGreaterThan(0);
    const reaches = reachability(checked.map((t) => t.claims));
    const agent = Object.fromEntries(AGENT_ACTIONS.map((a) => [a, tokenOf(agentService(a), a)])) as Record<
      AgentAction,
      EctClaims
    >;
    for (const a of AGENT_ACTIONS) expect(agent[a].exec_act).toBe(a);
    // The whole 5×5 relation: these pairs and no others (so analyze_risk ∥ check_credit, no cycles).
    expect(agentOrder(agent, reaches)).toEqual(PAPER_ORDER);
    expect(reaches(agent.analyze_risk.jti, agent.check_credit.jti)).toBe(false);
    expect(reaches(agent.check_credit.jti, agent.analyze_risk.jti)).toBe(false);
  });

  it('the cross-service edges of the src/otel/DESIGN.md §6 table: requests carry the caller frontier, responses return the callee token', () => {
    expect(checked.length).toBeGreaterThan(0);
    const bySpanId = new Map(checked.map((t) => [t.span.spanId, t]));
    const server = (a: AgentAction) =>
      checked.find((t) => t.span.service === agentService(a) && t.span.kind === 'SERVER')!;
    // The orchestrator client span that called agent `a` is the parent of a's server span.
    const client = (a: AgentAction) => bySpanId.get(server(a).span.parentSpanId ?? '')!;
    for (const a of AGENT_ACTIONS) {
      expect(client(a)?.span.service, a).toBe(ORCHESTRATOR_SERVICE);
      expect(client(a).span.kind, a).toBe('CLIENT');
      // Response header: T(cX) names T(X).
      expect(client(a).claims.pred, `T(c ${a}) names T(${a})`).toContain(server(a).claims.jti);
      // The agent's own work follows its server span's start predecessors and is named by it.
      const work = tokenOf(agentService(a), a);
      expect(server(a).claims.pred, a).toEqual([work.jti]);
    }
    const T = (a: AgentAction) => client(a).claims.jti;
    const work = (a: AgentAction) => tokenOf(agentService(a), a);
    // Requests: cA started with an empty frontier; cB, cC carried T(cA); cD both; cE T(cD).
    expect(work('fetch_data').pred).toEqual([]);
    expect(work('analyze_risk').pred).toEqual([T('fetch_data')]);
    expect(work('check_credit').pred).toEqual([T('fetch_data')]);
    expect([...work('verify_compliance').pred].sort()).toEqual([T('analyze_risk'), T('check_credit')].sort());
    expect(work('execute_trade').pred).toEqual([T('verify_compliance')]);
    // The orchestrator's own tokens: workflow names the last client span, POST /run names workflow.
    const workflowToken = tokenOf(ORCHESTRATOR_SERVICE, 'workflow');
    const root = tokenOf(ORCHESTRATOR_SERVICE, 'POST /run');
    expect(workflowToken.pred).toEqual([T('execute_trade')]);
    expect(root.pred).toEqual([workflowToken.jti]);
    // The root commits to the whole run: every other token is its ancestor.
    const reaches = reachability(checked.map((t) => t.claims));
    for (const t of checked)
      if (t.claims.jti !== root.jti)
        expect(reaches(t.claims.jti, root.jti), `${t.span.service} ${t.span.name}`).toBe(true);
  });

  it('every predecessor edge is also a span link to the predecessor span (src/otel/DESIGN.md §4)', () => {
    expect(checked.length).toBeGreaterThan(0);
    const spanOfJti = new Map(checked.map((t) => [t.claims.jti, t.span]));
    for (const t of checked) {
      const edges = t.span.links.filter((l) => l.attributes['ect.edge'] === 'predecessor');
      const where = `${t.span.service} ${t.span.name}`;
      expect(
        edges.map((l) => l.attributes['ect.jti']),
        where,
      ).toEqual(t.claims.pred);
      for (const link of edges) {
        const target = spanOfJti.get(String(link.attributes['ect.jti']));
        expect({ traceId: link.traceId, spanId: link.spanId }, where).toEqual({
          traceId: target?.traceId,
          spanId: target?.spanId,
        });
      }
    }
  });

  it('no edge points to a token issued later (temporal rule by construction)', () => {
    expect(checked.length).toBeGreaterThan(0);
    const iat = new Map(checked.map((t) => [t.claims.jti, t.claims.iat]));
    for (const t of checked)
      for (const p of t.claims.pred) expect(iat.get(p)! <= t.claims.iat, `${t.span.name} ← ${p}`).toBe(true);
  });

  it('`ect dag verify` over the OTLP export with the JWK Set folder says valid (exit 0)', () => {
    const result = ect(['dag', 'verify', ...exported.files, '--jwks', exported.jwksDir, '--json']);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as {
      verdict: string;
      tokens: number;
      edges: number;
      failures: unknown[];
      violations: unknown[];
      missing: unknown[];
    };
    expect(report).toMatchObject({
      verdict: 'valid',
      tokens: exported.spans.length,
      failures: [],
      violations: [],
      missing: [],
    });
    expect(report.edges).toBe(checked.reduce((n, t) => n + t.claims.pred.length, 0));
    expect(result.status).toBe(0);
    const text = ect(['dag', 'verify', ...exported.files, '--jwks', exported.jwksDir]);
    expect(text.status).toBe(0);
    for (const a of AGENT_ACTIONS) expect(text.stdout).toContain(a);
  });

  it('the verifier notices what it should: a missing token is partial (exit 3), a tampered one invalid (exit 1)', () => {
    const fetchData = tokenOf(agentService('fetch_data'), 'fetch_data');
    const others = exported.tokens.filter((t) => !checked.some((c) => c.token === t && c.claims.jti === fetchData.jti));
    expect(others).toHaveLength(exported.tokens.length - 1);
    const missing = join(run.dir, 'without-fetch-data.txt');
    writeFileSync(missing, `${others.join('\n')}\n`);
    const partial = ect(['dag', 'verify', missing, '--jwks', exported.jwksDir, '--json']);
    expect(JSON.parse(partial.stdout)).toMatchObject({ verdict: 'partial', missing: [{ pred: fetchData.jti }] });
    expect(partial.status).toBe(3);

    // Re-sign nothing: change one claim in the payload and keep the signature.
    const victim = exported.tokens[0]!;
    const [h, p, s] = victim.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>;
    payload.exec_act = 'execute_trade_twice';
    const tampered = [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
    const bad = join(run.dir, 'tampered.txt');
    writeFileSync(bad, `${[tampered, ...exported.tokens.slice(1)].join('\n')}\n`);
    const invalid = ect(['dag', 'verify', bad, '--jwks', exported.jwksDir, '--json']);
    expect(JSON.parse(invalid.stdout)).toMatchObject({
      verdict: 'invalid',
      failures: [{ code: 'ECT_SIGNATURE_INVALID' }],
    });
    expect(invalid.status).toBe(1);
  });
});
