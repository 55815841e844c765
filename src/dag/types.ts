import type { EctClaims } from '../token/claims.js';
import type { EctErrorCode } from '../base/errors.js';
import { LIMITS } from '../base/limits.js';

/** What the DAG rules need of a token: its claims (already verified). */
export type DagNode = Pick<EctClaims, 'jti' | 'iss' | 'iat' | 'pred'> &
  Partial<Pick<EctClaims, 'wid' | 'exec_act' | 'ect_ext'>>;

/** Options of the DAG rules. */
export interface DagOptions {
  /** Skew tolerated by the temporal rule, seconds. Default 30. */
  clockSkewSeconds?: number;
  /** Ancestors visited at most when checking one token for cycles. Default 10,000; beyond it rejects. */
  maxAncestors?: number;
  /** Allow predecessors from another workflow (`wid`). Default false. */
  allowCrossWorkflow?: boolean;
  /** Trust domains each domain accepts predecessors from, besides its own. */
  federation?: Readonly<Record<string, readonly string[]>>;
  /** Reject a token whose predecessor carries `ect_ext.pol_decision = "rejected"`. Default true. */
  rejectPolicyRejected?: boolean;
}

/** One failed rule. */
export interface DagViolation {
  code: EctErrorCode;
  /** The token at fault. */
  jti: string;
  /** The predecessor involved, for edge rules. */
  pred?: string;
  message: string;
}

/** `valid`: every rule holds; `partial`: no rule failed but predecessors are unavailable; `invalid`: a rule failed. */
export type DagVerdict = 'valid' | 'partial' | 'invalid';

/** Result of validating a set of tokens. */
export interface DagReport {
  verdict: DagVerdict;
  nodes: number;
  edges: number;
  violations: DagViolation[];
  /** Edges whose predecessor is not in the set. */
  missing: { jti: string; pred: string }[];
}

/**
 * Where verified tokens are kept for predecessor lookups. The in-memory store serves a process;
 * the ledger implements this for shared use. Methods may answer synchronously or with a promise.
 */
export interface DagStore {
  /** Every stored token with this `jti` (one per workflow at most). */
  get(jti: string): readonly DagNode[] | Promise<readonly DagNode[]>;
  /** Stores a token; refuses a second token with the same `(wid, jti)`. */
  add(node: DagNode): void | Promise<void>;
}

/** Resolved {@link DagOptions}. */
export type ResolvedDagOptions = Required<DagOptions>;

/**
 * Fills in the defaults of {@link DagOptions}.
 *
 * @example resolveDagOptions({ allowCrossWorkflow: true }).maxAncestors // 10000
 */
export function resolveDagOptions(options: DagOptions = {}): ResolvedDagOptions {
  return {
    clockSkewSeconds: options.clockSkewSeconds ?? LIMITS.clockSkewSeconds,
    maxAncestors: options.maxAncestors ?? LIMITS.maxAncestors,
    allowCrossWorkflow: options.allowCrossWorkflow ?? false,
    federation: options.federation ?? {},
    rejectPolicyRejected: options.rejectPolicyRejected ?? true,
  };
}
