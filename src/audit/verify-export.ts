import { isEctError } from '../base/errors.js';
import type { DagNode, DagReport, DagVerdict } from '../dag/types.js';
import { validateDag } from '../dag/validate-set.js';
import type { KeyResolver } from '../keys/types.js';
import { readClaims } from '../token/check-claims.js';
import { decodeUnverified } from '../token/decode.js';
import { EctVerifier } from '../token/verify.js';
import { type FoundToken, readTokenFiles, type TokenSource } from './read-tokens.js';
import { spanMismatches } from './span-check.js';

/** A token that failed verification, or a span that disagrees with its token. */
export interface TokenFailure {
  file: string;
  line: number;
  jti?: string;
  code: string;
  message: string;
}

/** A span whose service refused incoming tokens (record mode): those edges were never recorded. */
export interface RefusedIncoming {
  file: string;
  line: number;
  span: string;
  spanId: string;
  refused: number;
}

/** The result of {@link auditTokens}. */
export interface ExportAudit {
  /** `valid`: everything holds; `partial`: nothing failed but edges are missing; `invalid`: something failed. */
  verdict: DagVerdict;
  /** False when no keys were given: claims were decoded, signatures not checked. */
  signaturesChecked: boolean;
  /** Distinct tokens read. */
  tokens: number;
  /** Claims of the tokens that verified (or decoded, without keys), in input order. */
  nodes: DagNode[];
  /** The DAG rules over `nodes`. */
  dag: DagReport;
  failures: TokenFailure[];
  refused: RefusedIncoming[];
}

/** Options of {@link auditTokens}. */
export interface ExportAuditOptions {
  /** Verification keys; without them signatures are NOT checked (claims are decoded only). */
  keys?: KeyResolver;
}

/**
 * Audits exported tokens: verifies each (audit mode: no audience, expiry or age requirement),
 * checks every span that carried a token against it, and the DAG rules over the set. A service
 * that refused incoming tokens recorded no edge to them, so the verdict is then at best `partial`.
 *
 * @example
 * const audit = auditTokens(await readTokenFiles(['spans.jsonl', 'tokens.jsonl']), { keys });
 * if (audit.verdict !== 'valid') console.log(audit.failures, audit.dag.violations);
 */
export function auditTokens(found: readonly FoundToken[], options: ExportAuditOptions = {}): ExportAudit {
  const verifier = options.keys === undefined ? undefined : new EctVerifier({ keys: options.keys, audit: true });
  const nodes: DagNode[] = [];
  const failures: TokenFailure[] = [];
  for (const { token, source, spans } of found) {
    try {
      const claims =
        verifier === undefined ? readClaims(decodeUnverified(token).payload).claims : verifier.verifySync(token).claims;
      nodes.push(claims);
      // Each span that carried the token must be the span the token describes.
      for (const span of spans) {
        const mismatches = spanMismatches(claims, span);
        if (mismatches.length > 0) {
          failures.push({
            ...where(span.source),
            jti: claims.jti,
            code: 'ECT_SPAN_MISMATCH',
            message: `span ${span.name} (${span.spanId}): ${mismatches.join('; ')}`,
          });
        }
      }
    } catch (error) {
      if (!isEctError(error)) throw error;
      failures.push({ ...where(source), ...jtiOf(token), code: error.code, message: error.message });
    }
  }
  const dag = validateDag(nodes);
  const refused = found.flatMap(({ spans }) =>
    spans
      .filter((s) => s.rejectedIncoming > 0)
      .map((s) => ({ ...where(s.source), span: s.name, spanId: s.spanId, refused: s.rejectedIncoming })),
  );
  const verdict =
    failures.length > 0 || dag.verdict === 'invalid'
      ? 'invalid'
      : dag.verdict === 'partial' || refused.length > 0
        ? 'partial'
        : 'valid';
  return { verdict, signaturesChecked: verifier !== undefined, tokens: found.length, nodes, dag, failures, refused };
}

/**
 * {@link auditTokens} over files in any form {@link readTokenFiles} reads.
 *
 * @example const audit = await auditTokenFiles(['export/spans.jsonl'], { keys: readJwkSetFolder('.ect/jwks') });
 */
export async function auditTokenFiles(
  files: readonly string[],
  options: ExportAuditOptions = {},
): Promise<ExportAudit> {
  return auditTokens(await readTokenFiles(files), options);
}

function where(source: TokenSource): { file: string; line: number } {
  return { file: source.file, line: source.line };
}

function jtiOf(token: string): { jti?: string } {
  try {
    const jti = decodeUnverified(token).payload.jti;
    return typeof jti === 'string' ? { jti } : {};
  } catch {
    return {};
  }
}
