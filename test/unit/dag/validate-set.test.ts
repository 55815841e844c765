import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { validateDag, type DagNode } from '../../../src/dag/index.js';

const wid = randomUUID();
let clock = 1_795_000_000;
function node(pred: DagNode[] = [], overrides: Partial<DagNode> = {}): DagNode {
  clock += 1;
  return {
    jti: randomUUID(),
    wid,
    iss: 'spiffe://example.org/agent',
    iat: clock,
    exec_act: 'task',
    pred: pred.map((p) => p.jti),
    ...overrides,
  };
}
const codes = (nodes: DagNode[], options = {}) => validateDag(nodes, options).violations.map((v) => v.code);

describe('validateDag: the six rules over a set', () => {
  it('accepts the paper workflow', () => {
    const a = node();
    const b = node([a]);
    const c = node([a]);
    const d = node([b, c]);
    const e = node([d]);
    expect(validateDag([a, b, c, d, e])).toEqual({ verdict: 'valid', nodes: 5, edges: 5, violations: [], missing: [] });
  });

  it('rule 1: a jti twice in one workflow is a duplicate; in another workflow it is not', () => {
    const a = node();
    expect(codes([a, { ...a }])).toEqual(['ECT_DAG_DUPLICATE_JTI']);
    expect(validateDag([a, { ...a, wid: randomUUID() }]).verdict).toBe('valid');
  });

  it('rule 1 without wid: jti must be globally unique', () => {
    const a = node([], { wid: undefined });
    expect(codes([a, { ...a }])).toEqual(['ECT_DAG_DUPLICATE_JTI']);
  });

  it('rule 2: an unavailable predecessor makes the verdict partial, never valid', () => {
    const ghost = node();
    const b = node([ghost]);
    const report = validateDag([b]);
    expect(report.verdict).toBe('partial');
    expect(report.missing).toEqual([{ jti: b.jti, pred: ghost.jti }]);
  });

  it('rule 3: a predecessor issued more than 30 s after its child is refused; 30 s is tolerated', () => {
    const child = node();
    const late = node([], { iat: child.iat + 31 });
    const onTheEdge = node([], { iat: child.iat + 30 });
    expect(codes([late, { ...child, pred: [late.jti] }])).toEqual(['ECT_DAG_TEMPORAL']);
    expect(codes([onTheEdge, { ...child, pred: [onTheEdge.jti] }])).toEqual([]);
  });

  it('rule 4: cycles are found and every token on them named', () => {
    const a = node();
    const b = node([a]);
    const c = node([b]);
    a.pred = [c.jti];
    const report = validateDag([a, b, c, node([c])]);
    const cycle = report.violations.filter((v) => v.code === 'ECT_DAG_CYCLE').map((v) => v.jti);
    expect(new Set(cycle)).toEqual(new Set([a.jti, b.jti, c.jti]));
    expect(report.verdict).toBe('invalid');
  });

  it('rule 4: a self-reference is a cycle', () => {
    const a = node();
    a.pred = [a.jti];
    expect(codes([a])).toEqual(['ECT_DAG_CYCLE']);
  });

  it('rule 4: a 200k-long chain is validated without overflowing the stack', () => {
    const chain: DagNode[] = [node()];
    for (let i = 1; i < 200_000; i++) chain.push({ ...node(), pred: [chain[i - 1]!.jti] });
    expect(validateDag(chain).verdict).toBe('valid');
  });

  it('rule 5: a predecessor from another workflow is refused unless allowed', () => {
    const other = node([], { wid: randomUUID() });
    const child = node([other]);
    expect(codes([other, child])).toEqual(['ECT_DAG_WID_MISMATCH']);
    expect(codes([other, child], { allowCrossWorkflow: true })).toEqual([]);
  });

  it('rule 5: with a jti shared across workflows, the one in the child workflow is chosen', () => {
    const a = node();
    const twin = { ...a, wid: randomUUID(), iat: a.iat + 1000 };
    expect(codes([twin, a, node([a])])).toEqual([]);
  });

  it('rule 6: a predecessor from another trust domain is refused unless federated', () => {
    const foreign = node([], { iss: 'spiffe://partner.example/agent' });
    const child = node([foreign]);
    expect(codes([foreign, child])).toEqual(['ECT_DAG_TRUST_DOMAIN']);
    expect(codes([foreign, child], { federation: { 'example.org': ['partner.example'] } })).toEqual([]);
  });

  it('policy: a predecessor whose pol_decision is rejected is refused (by default)', () => {
    const rejected = node([], { ect_ext: { pol_decision: 'rejected' } });
    const child = node([rejected]);
    expect(codes([rejected, child])).toEqual(['ECT_POLICY_REJECTED']);
    expect(codes([rejected, child], { rejectPolicyRejected: false })).toEqual([]);
  });
});
