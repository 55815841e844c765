import type { AuditFinding, AuditReport } from './model.js';

/** Options of {@link renderText}. */
export interface TextOptions {
  /** Findings listed at most (the first broken one is always named). Default 20. */
  maxFindings?: number;
}

/**
 * The audit as a short text: the verdict with its counts, one line per check, the first broken
 * item named on its own line, then the findings (failed before partial, at most `maxFindings`).
 *
 * @example process.stdout.write(renderText(report));
 */
export function renderText(report: AuditReport, options: TextOptions = {}): string {
  const { summary: s } = report;
  const lines = [
    `verdict: ${report.verdict.toUpperCase()} (${s.tokens} tokens, ${s.spans} spans, ${s.edges} edges; nodes: ${s.verified} verified, ${s.failed} failed, ${s.suspect} suspect, ${s.partial} partial, ${s.missing} missing)`,
  ];
  for (const source of report.sources)
    lines.push(`source: ${source.kind} ${source.location}: ${source.tokens} tokens, ${source.spans} spans`);
  for (const check of report.checks)
    lines.push(
      `  ${check.status.toUpperCase().padEnd(7)} ${check.name.padEnd(18)} ${check.detail}${check.findings > 0 ? ` (${check.findings} finding${check.findings === 1 ? '' : 's'})` : ''}`,
    );
  const ordered = [
    ...report.findings.filter((f) => f.severity === 'failed'),
    ...report.findings.filter((f) => f.severity === 'partial'),
  ];
  const first = ordered[0];
  if (first !== undefined) lines.push(`first broken: ${describe(first)}`);
  const max = options.maxFindings ?? 20;
  for (const f of ordered.slice(0, max)) lines.push(`  ${f.severity === 'failed' ? 'FAIL' : 'PARTIAL'} ${describe(f)}`);
  if (ordered.length > max) lines.push(`  … ${ordered.length - max} more finding(s) (--json lists them all)`);
  return `${lines.join('\n')}\n`;
}

/**
 * One finding on one line: check, code, message, where it was read.
 *
 * @example describe(report.findings[0]) // 'binding ECT_SPAN_MISMATCH: span fetch_data (…) disagrees … [spans.jsonl:3]'
 */
export function describe(finding: AuditFinding): string {
  return `${finding.check} ${finding.code}: ${finding.message}${finding.at === undefined ? '' : ` [${finding.at}]`}`;
}
