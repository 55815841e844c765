import { Command } from 'commander';
import { readTokenFiles } from '../../audit/read-tokens.js';
import { auditTokens, type ExportAudit } from '../../audit/verify-export.js';
import { loadVerificationKeysFrom } from '../../keys/files.js';
import { asUsage, EXIT, readInputFile, UsageError, type CliIo } from '../io.js';
import { renderDagText } from '../render-dag.js';

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
      const keys = jwks === undefined ? undefined : await asUsage(() => loadVerificationKeysFrom(jwks));
      const audit = auditTokens(found, keys === undefined ? {} : { keys });
      setExit(audit.verdict === 'valid' ? EXIT.ok : audit.verdict === 'partial' ? EXIT.partial : EXIT.invalid);
      if (options.json) {
        const { verdict, signaturesChecked, tokens, failures, refused } = audit;
        const { violations, missing, edges } = audit.dag;
        io.stdout(
          `${JSON.stringify({ verdict, signaturesChecked, tokens, edges, failures, violations, missing, refused })}\n`,
        );
        return;
      }
      io.stdout(summary(audit));
      for (const r of audit.refused) {
        io.stdout(
          `  PARTIAL span ${r.span} (${r.spanId}) at ${r.file}:${r.line} refused ${r.refused} incoming token(s): those edges were not recorded\n`,
        );
      }
      if (!options.quiet && audit.nodes.length > 0) io.stdout(`\nDAG (causal order):\n${renderDagText(audit.nodes)}\n`);
    });
  return dag;
}

function summary(audit: ExportAudit): string {
  const { verdict, tokens, nodes, failures, dag, signaturesChecked } = audit;
  const out = [`verdict: ${verdict.toUpperCase()} (${tokens} tokens, ${dag.edges} edges)`];
  out.push(
    signaturesChecked
      ? `tokens: ${nodes.length}/${tokens} verified (audit mode); spans checked against their tokens`
      : 'tokens: signatures NOT checked (no --jwks); claims decoded only',
  );
  for (const f of failures) {
    out.push(
      `  FAIL token at ${f.file}:${f.line}${f.jti === undefined ? '' : ` (jti ${f.jti})`}: ${f.code}: ${f.message}`,
    );
  }
  for (const v of dag.violations) {
    out.push(`  FAIL rule ${v.code}: token ${v.jti}${v.pred === undefined ? '' : ` ← ${v.pred}`}: ${v.message}`);
  }
  for (const m of dag.missing) out.push(`  PARTIAL token ${m.jti}: predecessor ${m.pred} is not in the set`);
  if (dag.violations.length === 0 && dag.missing.length === 0) {
    out.push('rules: uniqueness, predecessors, temporal order, acyclicity, workflow, trust domain: all hold');
  }
  return `${out.join('\n')}\n`;
}
