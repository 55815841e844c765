import type { DagNode, DagViolation, ResolvedDagOptions } from './types.js';

/**
 * The trust domain of an issuer: the authority of a SPIFFE ID or URL, else the whole string.
 *
 * @example trustDomainOf('spiffe://example.org/ns/prod/sa/api') // 'example.org'
 */
export function trustDomainOf(iss: string): string {
  const scheme = iss.indexOf('://');
  if (scheme < 0) return iss;
  const rest = iss.slice(scheme + 3);
  const slash = rest.indexOf('/');
  return (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
}

/**
 * Picks the stored token a `pred` entry names: the one in the child's workflow, else (only
 * meaningful when cross-workflow references are allowed, and reported otherwise) any other.
 *
 * @example const predecessor = pickPredecessor(store.get(jti), child.wid);
 */
export function pickPredecessor(
  candidates: readonly DagNode[] | undefined,
  wid: string | undefined,
): DagNode | undefined {
  if (candidates === undefined || candidates.length === 0) return undefined;
  return candidates.find((c) => c.wid === wid) ?? candidates[0];
}

/**
 * Rules 3, 5 and 6 and the policy rule for one edge `predecessor → child`; pushes what fails.
 *
 * @example checkEdge(child, predecessor, resolveDagOptions(), violations);
 */
export function checkEdge(
  child: DagNode,
  predecessor: DagNode,
  options: ResolvedDagOptions,
  out: DagViolation[],
  domainOf: (iss: string) => string = trustDomainOf,
): void {
  const { jti } = child;
  const pred = predecessor.jti;
  if (predecessor.iat > child.iat + options.clockSkewSeconds) {
    out.push({
      code: 'ECT_DAG_TEMPORAL',
      jti,
      pred,
      message: `predecessor ${pred} was issued ${predecessor.iat - child.iat} s after ${jti}`,
    });
  }
  if (!options.allowCrossWorkflow && predecessor.wid !== child.wid) {
    out.push({
      code: 'ECT_DAG_WID_MISMATCH',
      jti,
      pred,
      message: `predecessor ${pred} belongs to workflow ${predecessor.wid ?? '(none)'}, not ${child.wid ?? '(none)'}`,
    });
  }
  const childDomain = domainOf(child.iss);
  const predDomain = domainOf(predecessor.iss);
  if (predDomain !== childDomain && !(options.federation[childDomain] ?? []).includes(predDomain)) {
    out.push({
      code: 'ECT_DAG_TRUST_DOMAIN',
      jti,
      pred,
      message: `predecessor ${pred} comes from trust domain ${predDomain}, not federated with ${childDomain}`,
    });
  }
  if (options.rejectPolicyRejected && predecessor.ect_ext?.pol_decision === 'rejected') {
    out.push({
      code: 'ECT_POLICY_REJECTED',
      jti,
      pred,
      message: `predecessor ${pred} carries pol_decision "rejected"`,
    });
  }
}
