import { Command } from 'commander';
import { type ImpactReport, impactOf, subReport, type TraceReport, traceOf } from '../../audit/impact.js';
import { reportJsonChunks } from '../../audit/report/json.js';
import type { AuditReport } from '../../audit/report/model.js';
import { renderText } from '../../audit/report/text.js';
import { type CliIo, EXIT } from '../io.js';
import { type AuditCliOptions, addAuditOptions, auditFromOptions, writeReportOutputs } from './audit-inputs.js';

const FILES_HELP =
  'OTLP JSON lines files (traces and logs, as the bridge or the Collector write them) or files of one compact token per line';

/** Exit code of an audit verdict: 0 verified, 3 partial, 1 failed. */
export function exitOf(verdict: AuditReport['verdict']): number {
  return verdict === 'verified' ? EXIT.ok : verdict === 'partial' ? EXIT.partial : EXIT.invalid;
}

/** `ect audit` */
export function auditCommand(io: CliIo, setExit: (code: number) => void): Command {
  return addAuditOptions(
    new Command('audit')
      .description(
        'is this trace genuine, complete and in the order it claims? Signatures, claims, DAG rules, span binding, completeness, ledger inclusion and consistency, revocation; exit 0 verified, 3 partial, 1 failed',
      )
      .argument('[files...]', FILES_HELP),
  )
    .option('--max-findings <n>', 'findings listed in the text summary', '20')
    .action(async (files: string[], options: AuditCliOptions & { maxFindings: string }) => {
      const report = await auditFromOptions(files, options, io);
      setExit(exitOf(report.verdict));
      if (options.json) for (const piece of reportJsonChunks(report)) io.stdout(piece);
      else io.stdout(renderText(report, { maxFindings: Number(options.maxFindings) || 20 }));
      await writeReportOutputs(report, options, io);
    });
}

/** `ect impact JTI` */
export function impactCommand(io: CliIo, setExit: (code: number) => void): Command {
  return relatedCommand('impact', io, setExit);
}

/** `ect trace JTI` */
export function traceCommand(io: CliIo, setExit: (code: number) => void): Command {
  return relatedCommand('trace', io, setExit);
}

function relatedCommand(kind: 'impact' | 'trace', io: CliIo, setExit: (code: number) => void): Command {
  const description =
    kind === 'impact'
      ? 'the rollback set of a task: every task that depends on JTI, in reverse causal order, grouped by issuer, completed work marked; exit as ect audit on the same sources'
      : "a task's full ancestry back to its roots, in causal order; exit as ect audit on the same sources";
  return addAuditOptions(
    new Command(kind).description(description).argument('<jti>', 'the task').argument('[files...]', FILES_HELP),
  ).action(async (jti: string, files: string[], options: AuditCliOptions) => {
    const report = await auditFromOptions(files, options, io);
    const related = kind === 'impact' ? impactOf(report, jti) : traceOf(report, jti);
    if (related === undefined) {
      io.stderr(`ect: no task ${jti} in the sources\n`);
      setExit(EXIT.invalid);
      return;
    }
    setExit(exitOf(report.verdict));
    io.stdout(
      options.json
        ? `${JSON.stringify(related)}\n`
        : related.kind === 'impact'
          ? impactText(related)
          : traceText(related),
    );
    await writeReportOutputs(subReport(report, [jti, ...related.tasks.map((t) => t.jti)]), options, io);
  });
}

function taskLine(t: ImpactReport['task']): string {
  const state = t.verdict === 'missing' ? 'missing' : t.completed ? 'completed' : 'not completed';
  return `${(t.execAct ?? '?').padEnd(24)} ${t.jti}  ${t.iat ?? ''}  ${state}, ${t.verdict}`;
}

function impactText(impact: ImpactReport): string {
  const lines = [
    `impact of ${impact.jti} (${impact.task.execAct ?? '?'}): ${impact.tasks.length} dependent task(s), ${impact.completed} already completed (audit verdict: ${impact.verdict.toUpperCase()})`,
  ];
  if (impact.tasks.length > 0) lines.push('rollback order (last first):');
  for (const [i, t] of impact.tasks.entries()) lines.push(`${String(i + 1).padStart(4)}. ${taskLine(t)}`);
  for (const [iss, jtis] of Object.entries(impact.byIssuer)) lines.push(`issuer ${iss}: ${jtis.length} task(s)`);
  return `${lines.join('\n')}\n`;
}

function traceText(trace: TraceReport): string {
  const lines = [
    `ancestry of ${trace.jti} (${trace.task.execAct ?? '?'}): ${trace.tasks.length} ancestor(s), ${trace.roots.length} root(s) (audit verdict: ${trace.verdict.toUpperCase()})`,
  ];
  for (const [i, t] of trace.tasks.entries())
    lines.push(`${String(i + 1).padStart(4)}. ${taskLine(t)}${trace.roots.includes(t.jti) ? '  (root)' : ''}`);
  lines.push(`   → ${taskLine(trace.task)}`);
  return `${lines.join('\n')}\n`;
}
