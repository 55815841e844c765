import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { type AuditOptions, type AuditProgress, runAudit } from '../../audit/engine/audit.js';
import type { AuditReport } from '../../audit/report/model.js';
import { parseRevocationList } from '../../audit/revocation.js';
import { type LedgerReader, openLedgerReader } from '../../audit/sources/ledger.js';
import { OtlpFileSource } from '../../audit/sources/otlp-file.js';
import type { AuditSourceReader } from '../../audit/sources/types.js';
import { TRACE_SOURCE_SPEC_HELP, traceSourceFromSpec } from '../../audit/sources/backend-spec.js';
import { renderDot, renderHtmlAsync, renderMermaid } from '../../audit/report/index.js';
import { isEctError } from '../../base/errors.js';
import { loadVerificationKeysFrom } from '../../keys/files.js';
import { heapPacer } from '../heap-pacer.js';
import { asUsage, type CliIo, readInputFile, UsageError } from '../io.js';
import { ProgressLine, type ProgressState } from '../progress.js';

/** The options `ect audit`, `ect impact` and `ect trace` share, as commander hands them over. */
export interface AuditCliOptions {
  ledger?: string;
  ledgerKey?: string;
  jwks?: string;
  sinceCheckpoint?: string;
  saveCheckpoint?: string;
  revoked?: string;
  threads?: string;
  clockSkew?: string;
  jaegerUi?: string;
  json?: boolean;
  [option: string]: unknown;
}

/**
 * A kind of span and token source the audit commands read: adds its options to a command and
 * opens its readers from them. Jaeger and Tempo readers plug in here, beside the files.
 */
export interface AuditSourceKind {
  addOptions(command: Command): Command;
  open(files: readonly string[], options: AuditCliOptions): Promise<AuditSourceReader[]>;
}

/**
 * A rendering written beside the standard output (HTML, Mermaid, DOT): adds its option and, when
 * that option was given, writes the report. Renderers plug in here.
 */
export interface AuditReportOutput {
  addOptions(command: Command): Command;
  write(report: AuditReport, options: AuditCliOptions, io: CliIo): Promise<void>;
}

/** OTLP JSON files (traces, logs, Jaeger answers saved to a file) and plain token files. */
const fileSources: AuditSourceKind = {
  addOptions: (command) => command,
  open: async (files) => {
    const out: AuditSourceReader[] = [];
    for (const file of files) {
      await readInputFile(file, 'input file');
      out.push(await OtlpFileSource.open(file));
    }
    return out;
  },
};

/** Jaeger's and Tempo's query APIs (`--source jaeger:URL?…`, repeatable). */
const backendSources: AuditSourceKind = {
  addOptions: (command) =>
    command.option(
      '--source <spec>',
      `a tracing backend to read spans and tokens from (repeatable):\n${TRACE_SOURCE_SPEC_HELP}`,
      (value: string, previous: string[] = []) => [...previous, value],
    ),
  open: async (_files, options) => {
    const specs = (options.source as string[] | undefined) ?? [];
    return specs.map((spec) => {
      try {
        return traceSourceFromSpec(spec);
      } catch (error) {
        if (isEctError(error, 'ECT_AUDIT_SOURCE_SPEC_INVALID')) throw new UsageError(`--source: ${error.message}`);
        throw error;
      }
    });
  },
};

/** The sources every audit command reads, in order. */
export const AUDIT_SOURCE_KINDS: AuditSourceKind[] = [fileSources, backendSources];

/** A rendering written to the file its option names. */
function fileOutput(
  option: string,
  description: string,
  key: string,
  render: (report: AuditReport, options: AuditCliOptions) => string | Promise<string>,
): AuditReportOutput {
  return {
    addOptions: (command) => command.option(option, description),
    write: async (report, options, io) => {
      const file = options[key];
      if (typeof file !== 'string') return;
      await writeFile(file, await render(report, options));
      io.stderr(`ect: wrote ${file}\n`);
    },
  };
}

const jaegerUiOf = (options: AuditCliOptions) => (options.jaegerUi === undefined ? {} : { jaegerUi: options.jaegerUi });

/** The renderings every audit command can write. */
export const AUDIT_REPORT_OUTPUTS: AuditReportOutput[] = [
  fileOutput(
    '--html <file>',
    'write the report as one self-contained HTML page (the DAG drawn, coloured by verdict, findings beside it)',
    'html',
    (report, options) => renderHtmlAsync(report, jaegerUiOf(options)),
  ),
  fileOutput('--mermaid <file>', 'write the DAG as a Mermaid flowchart', 'mermaid', (report) => renderMermaid(report)),
  fileOutput('--dot <file>', 'write the DAG as Graphviz DOT', 'dot', (report, options) =>
    renderDot(report, jaegerUiOf(options)),
  ),
];

/** Adds the shared options to an audit command. */
export function addAuditOptions(command: Command): Command {
  command
    .option('--ledger <file:DIR|postgres://…|http://…>', 'the ledger: a source of tokens and the inclusion check')
    .option(
      '--ledger-key <key|file>',
      "the ledger's public note key (name+hash+base64); default the key a file or postgres store keeps",
    )
    .option(
      '--jwks <file|dir>',
      'verification keys: a JWK Set, JWK or PEM file, or a folder of JWK Set files; without them signatures are NOT checked',
    )
    .option(
      '--since-checkpoint <file>',
      'a signed ledger checkpoint saved by an earlier audit: the ledger must extend it',
    )
    .option(
      '--save-checkpoint <file>',
      "write the ledger's checkpoint, once verified, for the next audit's --since-checkpoint",
    )
    .option('--revoked <file>', 'revoked keys: JSON {"revoked": [{"kid", "revoked_at", "iss"?, "reason"?}]}')
    .option('--threads <n>', 'worker threads verifying signatures (default: every core; 0 verifies in the main thread)')
    .option('--clock-skew <seconds>', 'clock skew tolerated between services, seconds', '30')
    .option('--jaeger-ui <url>', "a Jaeger UI base URL: each node's span links into it")
    .option('--json', 'the audit report as JSON (schema otel-ect/audit-report/v1)');
  for (const kind of AUDIT_SOURCE_KINDS) kind.addOptions(command);
  for (const output of AUDIT_REPORT_OUTPUTS) output.addOptions(command);
  return command;
}

function wholeNumber(text: string, what: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new UsageError(`${what} must be a whole number`);
  return Number(text);
}

/**
 * Opens every source and the ledger, loads keys and lists, runs the audit and closes the readers.
 * A progress line (a bar where the end is known: a file's bytes, a ledger's entries) goes to
 * standard error on a terminal, and nowhere otherwise.
 *
 * @example const report = await auditFromOptions(files, options, io);
 */
export async function auditFromOptions(
  files: readonly string[],
  options: AuditCliOptions,
  io: CliIo,
): Promise<AuditReport> {
  const sources: AuditSourceReader[] = [];
  for (const kind of AUDIT_SOURCE_KINDS) sources.push(...(await kind.open(files, options)));
  let ledger: LedgerReader | undefined;
  if (options.ledger !== undefined) ledger = await openLedgerReader(options.ledger);
  if (sources.length === 0 && ledger === undefined)
    throw new UsageError('nothing to audit: give files, --ledger or another source');
  const audit: AuditOptions = { sources };
  if (ledger !== undefined) audit.ledger = ledger;
  const jwks = options.jwks;
  if (jwks !== undefined) audit.keys = await asUsage(() => loadVerificationKeysFrom(jwks));
  if (options.ledgerKey !== undefined) {
    const value = options.ledgerKey;
    audit.ledgerKey = existsSync(value) ? readFileSync(value, 'utf8').trim() : value;
  }
  if (options.sinceCheckpoint !== undefined)
    audit.sinceCheckpoint = (await readInputFile(options.sinceCheckpoint, 'checkpoint')).toString('utf8');
  if (options.revoked !== undefined) {
    const text = (await readInputFile(options.revoked, 'revocation list')).toString('utf8');
    try {
      audit.revoked = parseRevocationList(text);
    } catch (error) {
      throw new UsageError(`--revoked ${options.revoked}: ${(error as Error).message}`);
    }
  }
  audit.threads = options.threads === undefined ? availableParallelism() : wholeNumber(options.threads, '--threads');
  audit.clockSkewSeconds = wholeNumber(options.clockSkew ?? '30', '--clock-skew');
  if (options.jaegerUi !== undefined) audit.jaegerUi = options.jaegerUi;
  const line = ProgressLine.forStderr(io, !options.json);
  const pace = heapPacer();
  audit.onProgress = (progress) => {
    pace();
    line.update(progressState(progress));
  };
  let report: AuditReport;
  try {
    report = await runAudit(audit).catch((error: unknown) => {
      throw error instanceof SyntaxError ? new UsageError(error.message) : error;
    });
  } finally {
    line.done();
    await ledger?.close();
  }
  if (options.saveCheckpoint !== undefined && report.ledger?.checkpoint !== undefined) {
    const consistent = report.checks.every((c) => !c.name.startsWith('ledger-') || c.status !== 'fail');
    if (report.ledger.keySource !== 'none' && report.ledger.rootMatches && consistent)
      await writeFile(options.saveCheckpoint, report.ledger.checkpoint);
    else io.stderr(`ect: the ledger did not verify: ${options.saveCheckpoint} not written\n`);
  }
  return report;
}

/** What the progress line shows of an audit's progress. */
function progressState({ phase, records, source, done, total }: AuditProgress): ProgressState {
  const state: ProgressState = {
    label: source === undefined ? phase : `${phase} ${source}`,
    count: { value: records, unit: 'records' },
  };
  if (done !== undefined && total !== undefined) Object.assign(state, { done, total });
  return state;
}

/** Writes every rendering asked for. */
export async function writeReportOutputs(report: AuditReport, options: AuditCliOptions, io: CliIo): Promise<void> {
  for (const output of AUDIT_REPORT_OUTPUTS) await output.write(report, options, io);
}
