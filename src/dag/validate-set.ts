import { checkEdge, trustDomainOf } from './edge-rules.js';
import { nodesOnCycles } from './cycles.js';
import { JtiIndex } from './jti-index.js';
import { resolveDagOptions, type DagNode, type DagOptions, type DagReport, type DagViolation } from './types.js';

/**
 * Validates a whole set of tokens against the six DAG rules (an audit), in O(V+E) time: uniqueness
 * per workflow, predecessor existence (missing ones make the verdict `partial`), temporal order,
 * acyclicity (strongly connected components over the whole set, so no per-token ancestor walk and
 * no traversal bound is needed), workflow consistency, trust domain, and the predecessor policy rule.
 *
 * @example
 * const report = validateDag(tokens.map((t) => t.claims));
 * if (report.verdict !== 'valid') console.log(report.violations, report.missing);
 */
export function validateDag(input: Iterable<DagNode>, options?: DagOptions): DagReport {
  const resolved = resolveDagOptions(options);
  const violations: DagViolation[] = [];
  const missing: { jti: string; pred: string }[] = [];
  const all = Array.from(input);
  const index = new JtiIndex(all.map((node) => node.jti));
  // Positions in `all` of the nodes kept (a duplicate (wid, jti) is reported and left out).
  const kept = new Int32Array(all.length);
  let keptCount = 0;
  let sharedJti = false;
  for (let i = 0; i < all.length; i++) {
    const node = all[i]!;
    if (index.find(node.jti) >= 0) {
      sharedJti = true;
      if (index.find(node.jti, (j) => all[j]!.wid === node.wid) >= 0) {
        violations.push({
          code: 'ECT_DAG_DUPLICATE_JTI',
          jti: node.jti,
          message: `jti ${node.jti} appears more than once in workflow ${node.wid ?? '(none)'}`,
        });
        continue;
      }
    }
    index.add(i);
    kept[keptCount++] = i;
  }

  const domains = new Map<string, string>();
  const domainOf = (iss: string): string => {
    let domain = domains.get(iss);
    if (domain === undefined) {
      domain = trustDomainOf(iss);
      domains.set(iss, domain);
    }
    return domain;
  };
  // Graph over positions in `all`; nodes left out simply have no edges.
  const offsets = new Int32Array(all.length + 1);
  let edgeCount = 0;
  for (let k = 0; k < keptCount; k++) edgeCount += all[kept[k]!]!.pred.length;
  const targets = new Int32Array(edgeCount);
  let edges = 0;
  let k = 0;
  for (let i = 0; i < all.length; i++) {
    offsets[i] = edges;
    if (k >= keptCount || kept[k] !== i) continue;
    k++;
    const child = all[i]!;
    for (const pred of child.pred) {
      let found = index.find(pred);
      // With jtis shared across workflows, prefer the predecessor in the child's own workflow.
      if (sharedJti && found >= 0) {
        const sameWorkflow = index.find(pred, (j) => all[j]!.wid === child.wid);
        if (sameWorkflow >= 0) found = sameWorkflow;
      }
      if (found < 0) {
        missing.push({ jti: child.jti, pred });
        continue;
      }
      checkEdge(child, all[found]!, resolved, violations, domainOf);
      targets[edges++] = found;
    }
  }
  offsets[all.length] = edges;

  for (const i of nodesOnCycles(all.length, offsets, targets)) {
    violations.push({
      code: 'ECT_DAG_CYCLE',
      jti: all[i]!.jti,
      message: `token ${all[i]!.jti} lies on a predecessor cycle`,
    });
  }
  return {
    verdict: violations.length > 0 ? 'invalid' : missing.length > 0 ? 'partial' : 'valid',
    nodes: keptCount,
    edges,
    violations,
    missing,
  };
}
