import { Command } from 'commander';
import { validateDag } from '../../dag/validate-set.js';
import type { DagNode, DagReport } from '../../dag/types.js';
import { readTokenFiles, type TokenSource } from '../../audit/read-tokens.js';
import { spanMismatches } from '../../audit/span-check.js';
import { loadVerificationKeysFrom } from '../../keys/files.js';
import { readClaims } from '../../token/check-claims.js';
import { decodeUnverified } from '../../token/decode.js';
import { isEctError } from '../../base/errors.js';
import { EctVerifier } from '../../token/verify.js';
import { asUsage, EXIT, readInputFile, UsageError, type CliIo } from '../io.js';
import { renderDagText } from '../render-dag.js';

interface TokenFailure {
  file: string;
  line: number;
  jti?: string;
  code: string;
  message: string;
}

/** `ect dag …` */
export function dagCommand(io: CliIo, setExit: (code: number) => void): Command {
  const dag = new Command('dag').description('check sets of tokens as a DAG');
  dag
    .command('verify')
    .description(
      'verify every token (audit mode), every exported span against its token, and the DAG rules over the set; exit 0 valid, 3 partial, 1 invalid',
    )
    .argument(
      '<files...>',
      'files of tokens: one compact token per line, or OTLP JSON lines of logs (token bodies) or spans (ect.token attributes)',
    )
    .option(
      '--jwks <file|dir>',
      'verification keys: a JWK Set, JWK or PEM file, or a folder of JWK Set files; without them signatures are NOT checked',
    )
    .option('--json', 'machine-readable output')
    .option('--quiet', 'print the verdict and failures only, not the DAG')
    .action(async (files: string[], options: { jwks?: string; json?: boolean; quiet?: boolean }) => {
      for (const file of files) await readInputFile(file, 'token file');
      const found = await asUsage(() => readTokenFiles(files)).catch((error: unknown) => {
        throw error instanceof SyntaxError
          ? new UsageError(`a line that starts with { is not OTLP JSON: ${error.message}`)
          : error;
      });
      const jwks = options.jwks;
      const verifier =
        jwks === undefined
          ? undefined
          : new EctVerifier({ keys: await asUsage(() => loadVerificationKeysFrom(jwks)), audit: true });
      const nodes: DagNode[] = [];
      const failures: TokenFailure[] = [];
      for (const { token, source, spans } of found) {
        try {
          const claims =
            verifier === undefined
              ? readClaims(decodeUnverified(token).payload).claims
              : verifier.verifySync(token).claims;
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
      const report = validateDag(nodes);
      // A service that refused incoming tokens (record mode) recorded no edge to them: the DAG is
      // then incomplete even though no pred dangles.
      const refused = found
        .flatMap(({ spans }) => spans.filter((s) => s.rejectedIncoming > 0))
        .map((s) => ({ ...where(s.source), span: s.name, spanId: s.spanId, refused: s.rejectedIncoming }));
      const verdict =
        failures.length > 0 || report.verdict === 'invalid'
          ? 'invalid'
          : report.verdict === 'partial' || refused.length > 0
            ? 'partial'
            : 'valid';
      const total = found.length;
      setExit(verdict === 'valid' ? EXIT.ok : verdict === 'partial' ? EXIT.partial : EXIT.invalid);
      if (options.json) {
        const { violations, missing, edges } = report;
        const out = {
          verdict,
          signaturesChecked: verifier !== undefined,
          tokens: total,
          edges,
          failures,
          violations,
          missing,
          refused,
        };
        io.stdout(`${JSON.stringify(out)}\n`);
        return;
      }
      io.stdout(summary(verdict, total, nodes.length, failures, report, verifier !== undefined));
      for (const r of refused)
        io.stdout(
          `  PARTIAL span ${r.span} (${r.spanId}) at ${r.file}:${r.line} refused ${r.refused} incoming token(s): those edges were not recorded\n`,
        );
      if (!options.quiet && nodes.length > 0) io.stdout(`\nDAG (causal order):\n${renderDagText(nodes)}\n`);
    });
  return dag;
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

function summary(
  verdict: string,
  total: number,
  verified: number,
  failures: TokenFailure[],
  report: DagReport,
  signaturesChecked: boolean,
): string {
  const out = [`verdict: ${verdict.toUpperCase()} (${total} tokens, ${report.edges} edges)`];
  out.push(
    signaturesChecked
      ? `tokens: ${verified}/${total} verified (audit mode); spans checked against their tokens`
      : 'tokens: signatures NOT checked (no --jwks); claims decoded only',
  );
  for (const f of failures)
    out.push(
      `  FAIL token at ${f.file}:${f.line}${f.jti === undefined ? '' : ` (jti ${f.jti})`}: ${f.code}: ${f.message}`,
    );
  for (const v of report.violations)
    out.push(`  FAIL rule ${v.code}: token ${v.jti}${v.pred === undefined ? '' : ` ← ${v.pred}`}: ${v.message}`);
  for (const m of report.missing) out.push(`  PARTIAL token ${m.jti}: predecessor ${m.pred} is not in the set`);
  if (report.violations.length === 0 && report.missing.length === 0) {
    out.push('rules: uniqueness, predecessors, temporal order, acyclicity, workflow, trust domain: all hold');
  }
  return `${out.join('\n')}\n`;
}
