import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateDag, type DagNode } from '../../src/dag/index.js';

// A random DAG: node i may name any earlier node (so edges go back in time and there is no cycle).
const dagArbitrary = fc
  .array(fc.tuple(fc.nat({ max: 5 }), fc.array(fc.nat(), { maxLength: 4 })), { minLength: 1, maxLength: 60 })
  .map((spec) => {
    const wid = randomUUID();
    const nodes: DagNode[] = [];
    let iat = 1_795_000_000;
    for (const [step, picks] of spec) {
      iat += step;
      const pred = nodes.length === 0 ? [] : [...new Set(picks.map((p) => nodes[p % nodes.length]!.jti))];
      nodes.push({ jti: randomUUID(), wid, iss: 'spiffe://example.org/a', iat, exec_act: 't', pred });
    }
    return nodes;
  });

describe('validateDag on generated workflows', () => {
  it('generated valid DAGs pass, in any input order', () => {
    fc.assert(
      fc.property(dagArbitrary, fc.integer(), (nodes, seed) => {
        const shuffled = [...nodes].sort(
          (a, b) => ((a.jti.charCodeAt(0) ^ seed) & 7) - ((b.jti.charCodeAt(0) ^ seed) & 7),
        );
        expect(validateDag(shuffled).verdict).toBe('valid');
      }),
      { numRuns: 200 },
    );
  });

  it('an injected back edge that closes a cycle is caught and named', () => {
    fc.assert(
      fc.property(
        dagArbitrary.filter((n) => n.some((x) => x.pred.length > 0)),
        fc.nat(),
        (nodes, pick) => {
          const withPred = nodes.filter((n) => n.pred.length > 0);
          const child = withPred[pick % withPred.length]!;
          const ancestor = nodes.find((n) => n.jti === child.pred[0])!;
          const mutated = nodes.map((n) => (n === ancestor ? { ...n, pred: [...n.pred, child.jti] } : n));
          const cycle = validateDag(mutated, { clockSkewSeconds: 1e9 })
            .violations.filter((v) => v.code === 'ECT_DAG_CYCLE')
            .map((v) => v.jti);
          expect(cycle).toContain(child.jti);
          expect(cycle).toContain(ancestor.jti);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a predecessor moved later than its child beyond the skew is caught', () => {
    fc.assert(
      fc.property(
        dagArbitrary.filter((n) => n.some((x) => x.pred.length > 0)),
        fc.nat(),
        fc.integer({ min: 31, max: 10_000 }),
        (nodes, pick, shift) => {
          const withPred = nodes.filter((n) => n.pred.length > 0);
          const child = withPred[pick % withPred.length]!;
          const mutated = nodes.map((n) => (n.jti === child.pred[0] ? { ...n, iat: child.iat + shift } : n));
          expect(validateDag(mutated).violations).toContainEqual(
            expect.objectContaining({ code: 'ECT_DAG_TEMPORAL', jti: child.jti, pred: child.pred[0] }),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('removing a token makes its children partial (unknown predecessor), never valid', () => {
    fc.assert(
      fc.property(
        dagArbitrary.filter((n) => n.some((x) => x.pred.length > 0)),
        fc.nat(),
        (nodes, pick) => {
          const withPred = nodes.filter((n) => n.pred.length > 0);
          const removed = withPred[pick % withPred.length]!.pred[0]!;
          const report = validateDag(nodes.filter((n) => n.jti !== removed));
          expect(report.verdict).toBe('partial');
          expect(report.missing.every((m) => m.pred === removed)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
