import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkDagRules, MemoryDagStore, type DagNode } from '../../../src/dag/index.js';
import { EctDagError } from '../../../src/base/errors.js';

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
async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(EctDagError);
    return (error as EctDagError).code;
  }
}

describe('checkDagRules: one token against a store (step 11)', () => {
  it('valid when every predecessor is stored; partial when one is not', async () => {
    const store = new MemoryDagStore();
    const a = node();
    store.add(a);
    expect(await checkDagRules(node([a]), store)).toEqual({ status: 'valid', missing: [] });
    const ghost = node();
    expect(await checkDagRules(node([a, ghost]), store)).toEqual({ status: 'partial', missing: [ghost.jti] });
  });

  it('refuses a duplicate (wid, jti), both in the check and in the store', async () => {
    const store = new MemoryDagStore();
    const a = node();
    store.add(a);
    expect(await codeOf(checkDagRules({ ...a }, store))).toBe('ECT_DAG_DUPLICATE_JTI');
    expect(() => store.add({ ...a })).toThrow(EctDagError);
    store.add({ ...a, wid: randomUUID() });
    expect(store.size).toBe(2);
  });

  it('refuses edge-rule violations with the rule code', async () => {
    const store = new MemoryDagStore();
    const future = node([], { iat: clock + 100 });
    const foreign = node([], { iss: 'spiffe://evil.example/x' });
    const otherWorkflow = node([], { wid: randomUUID() });
    for (const n of [future, foreign, otherWorkflow]) store.add(n);
    expect(await codeOf(checkDagRules(node([future]), store))).toBe('ECT_DAG_TEMPORAL');
    expect(await codeOf(checkDagRules(node([foreign]), store))).toBe('ECT_DAG_TRUST_DOMAIN');
    expect(await codeOf(checkDagRules(node([otherWorkflow]), store))).toBe('ECT_DAG_WID_MISMATCH');
  });

  it('finds a cycle through stored ancestors that named the new token in advance', async () => {
    const store = new MemoryDagStore();
    const newcomerJti = randomUUID();
    const a = node([], { pred: [newcomerJti] });
    const b = node([a]);
    store.add(a);
    store.add(b);
    expect(await codeOf(checkDagRules(node([b], { jti: newcomerJti }), store))).toBe('ECT_DAG_CYCLE');
  });

  it('rejects when the ancestor walk passes the traversal bound', async () => {
    const store = new MemoryDagStore();
    let last = node();
    store.add(last);
    for (let i = 0; i < 50; i++) {
      last = node([last]);
      store.add(last);
    }
    expect(await codeOf(checkDagRules(node([last]), store, { maxAncestors: 20 }))).toBe('ECT_DAG_TRAVERSAL_LIMIT');
    expect((await checkDagRules(node([last]), store, { maxAncestors: 100 })).status).toBe('valid');
  });
});
