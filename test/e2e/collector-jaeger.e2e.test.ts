// End to end through the real OpenTelemetry Collector and Jaeger: the paper's five-agent workflow
// (six Node processes, each only `node --import otel-ect/register`) exports OTLP/HTTP to
// `otelcol-ect` (collector-config/jaeger.yaml), which forwards spans to Jaeger v2 (in-memory) and
// writes spans and token log records to OTLP JSON files. The tests read back what Jaeger serves
// (`/api/v3/traces/{id}` and `/api/traces/{id}`) and what the Collector wrote, verify every token,
// run `ect dag verify` over both, tamper with copies, and finally take the Collector away under
// load and bring it back.
//
// The binaries come from test/e2e/build-tools.sh (built from the Go module proxy into
// ~/.cache/ect-otel-tools/<key>; a cold build takes minutes, a warm one nothing) and are started by
// test/e2e/stack.sh on free loopback ports, with all state in a temporary folder. Every wait is
// bounded; afterAll stops the workflow processes and the stack even when something failed.
//
// Environment knobs: ECT_KEEP_RUNS=1 keeps the temporary folder (its path is printed);
// ECT_E2E_OUTAGE_MS / ECT_E2E_OUTAGE_RATE set how long the outage load runs and how many workflow
// runs per second it starts (defaults 25 000 ms, 20/s).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVerificationKeysFrom } from '../../src/keys/index.js';
import { FileLedger } from '../../src/ledger/file-store.js';
import { SPAN_BINDING_KEY } from '../../src/base/conventions.js';
import { EctVerifier, type EctClaims } from '../../src/token/index.js';
import { type AuditReport, type OtlpSpan, readOtlpFiles } from '../../src/audit/index.js';
import { type CollectedExport, collectExport, readJwksDir, tokensOf } from '../helpers/export.js';
import { cleanEnv, freePorts, REPO_ROOT } from '../helpers/processes.js';
import {
  AGENT_ACTIONS,
  type AgentAction,
  agentService,
  ORCHESTRATOR_SERVICE,
  runWorkflows,
  startWorkflow,
  stopWorkflow,
  type Workflow,
  type WorkflowSummary,
} from '../helpers/workflow.js';
import {
  agentOrder,
  checkSpansAndTokens,
  ect,
  PAPER_ORDER,
  reachability,
  READY_TIMEOUT_MS,
  tokensOfSpans,
} from '../integration/helpers.js';

/** A cold build of both Go binaries on a 2-core CI machine; warm, build-tools.sh returns at once. */
const BUILD_TIMEOUT_MS = 40 * 60_000;
/** beforeAll: build (bounded above), start the stack, one workflow run, wait for Jaeger. */
const SETUP_TIMEOUT_MS = BUILD_TIMEOUT_MS + 5 * 60_000;
/** Until a trace is complete in Jaeger / in the Collector's files. */
const ARRIVAL_TIMEOUT_MS = 60_000;
/** How long the workflow runs against a stopped Collector. */
const OUTAGE_MS = Number(process.env.ECT_E2E_OUTAGE_MS ?? 25_000);
/** Workflow runs per second during the outage (17 spans and tokens each). */
const OUTAGE_RATE = Number(process.env.ECT_E2E_OUTAGE_RATE ?? 20);
/** RSS growth allowed per service during the outage. */
const RSS_GROWTH_LIMIT_MB = 150;
/** Short batch delays so the tests do not wait for the SDK's 5 s / 1 s defaults. */
const FAST_EXPORT = { OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BLRP_SCHEDULE_DELAY: '200' };

/** The spans of one workflow run (as in test/integration/agent-workflow.test.ts): 17. */
const EXPECTED_SHAPE = [
  ...AGENT_ACTIONS.flatMap((a) => [`${agentService(a)} SERVER POST /${a}`, `${agentService(a)} INTERNAL ${a}`]),
  ...AGENT_ACTIONS.map(() => `${ORCHESTRATOR_SERVICE} CLIENT POST`),
  `${ORCHESTRATOR_SERVICE} INTERNAL workflow`,
  `${ORCHESTRATOR_SERVICE} SERVER POST /run`,
].sort();
const SPANS_PER_RUN = EXPECTED_SHAPE.length;

// ---- processes ---------------------------------------------------------------------------------

interface ScriptResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs `bash <args>` from the repository root, bounded. With `ownGroup` the script gets its own
 * process group, so a timeout stops everything it started (the `go` builds); without it, the
 * daemons stack.sh leaves running stay in our group (a Ctrl-C of the test run reaches them too).
 * `echoStderr` also passes the script's stderr through as it comes.
 */
function bash(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  ownGroup = false,
  echoStderr = false,
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      if (echoStderr) process.stderr.write(text);
    });
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (ownGroup && child.pid !== undefined) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signal('SIGTERM');
      setTimeout(() => signal('SIGKILL'), 5_000).unref();
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status, sig) => {
      clearTimeout(timer);
      resolve({ status, signal: sig, stdout, stderr, timedOut });
    });
  });
}

function scriptFailure(what: string, r: ScriptResult): Error {
  const tail = (text: string) => text.trim().split('\n').slice(-40).join('\n');
  return new Error(
    `${what} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}${r.timedOut ? ', timed out' : ''})\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`,
  );
}

/** KEY=value lines. */
function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[A-Z_][A-Z0-9_]*$/.test(line.slice(0, eq))) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** True if something accepts TCP connections on host:port (bounded, 2 s). */
function portOpen(endpoint: string): Promise<boolean> {
  const i = endpoint.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Alive and still running an executable of that name (so a reused pid is never signalled). */
function runs(pid: number, exe: string): boolean {
  try {
    process.kill(pid, 0);
    return basename(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '')) === exe;
  } catch {
    return false;
  }
}

/** Resident set size of a process, MB. */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** Polls `probe` every `intervalMs` until it returns a value, at most `timeoutMs`. */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`,
      );
    await sleep(intervalMs);
  }
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  return { status: response.status, body: response.ok ? (JSON.parse(text) as unknown) : text };
}

// ---- OTLP JSON as written by the Collector and served by Jaeger -------------------------------------

interface OtlpAnyValue {
  stringValue?: string;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpRawSpan {
  traceId: string;
  spanId: string;
  name: string;
  attributes?: { key: string; value: OtlpAnyValue }[];
}
interface OtlpTracesDoc {
  resourceSpans?: { scopeSpans?: { spans?: OtlpRawSpan[] }[] }[];
}
interface JaegerV3Answer {
  result: OtlpTracesDoc;
}

function rawSpans(doc: OtlpTracesDoc): OtlpRawSpan[] {
  return (doc.resourceSpans ?? []).flatMap((rs) => (rs.scopeSpans ?? []).flatMap((ss) => ss.spans ?? []));
}

function rawAttribute(span: OtlpRawSpan, key: string): OtlpAnyValue | undefined {
  return span.attributes?.find((a) => a.key === key)?.value;
}

/**
 * Copies an OTLP JSON lines traces file (or a Jaeger v3 answer), editing the first span `pick`
 * selects; returns where it was (1-based line) and the span after the edit.
 */
function tamperSpan(
  src: string,
  dst: string,
  pick: (span: OtlpRawSpan) => boolean,
  edit: (span: OtlpRawSpan) => void,
): { line: number; span: OtlpRawSpan } {
  const lines = readFileSync(src, 'utf8').split('\n');
  for (const [i, text] of lines.entries()) {
    if (text.trim() === '') continue;
    const doc = JSON.parse(text) as OtlpTracesDoc & Partial<JaegerV3Answer>;
    const span = rawSpans(doc.result ?? doc).find(pick);
    if (span === undefined) continue;
    edit(span);
    lines[i] = JSON.stringify(doc);
    writeFileSync(dst, lines.join('\n'));
    return { line: i + 1, span };
  }
  throw new Error(`no span to tamper with in ${src}`);
}

/**
 * Changes exactly one base64url character of a token's payload such that the payload still decodes
 * canonically to a JSON object with the same `jti` (so the failure is the signature's, and still
 * names the token). Deterministic: the first such position and character.
 */
function flipOnePayloadChar(token: string): { tampered: string; position: number; from: string; to: string } {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const jti = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { jti: string }).jti;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 8; i < payload.length - 4; i++) {
    for (const c of alphabet) {
      if (c === payload[i]) continue;
      const candidate = `${payload.slice(0, i)}${c}${payload.slice(i + 1)}`;
      const bytes = Buffer.from(candidate, 'base64url');
      if (bytes.toString('base64url') !== candidate) continue;
      const text = bytes.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(bytes)) continue;
      try {
        const claims = JSON.parse(text) as { jti?: unknown };
        if (claims !== null && typeof claims === 'object' && claims.jti === jti) {
          return {
            tampered: `${header}.${candidate}.${signature}`,
            position: header.length + 1 + i,
            from: payload[i]!,
            to: c,
          };
        }
      } catch {
        // not JSON any more; next candidate
      }
    }
  }
  throw new Error('no single-character change keeps the payload valid JSON');
}

/** A CollectedExport over the given OTLP files (spans and/or token log records), one trace only. */
async function exportOf(
  files: string[],
  jwksDir: string,
  traceId: string,
  extraLogFiles: string[] = [],
): Promise<CollectedExport> {
  const { spans } = await readOtlpFiles(files);
  const { logRecords } = await readOtlpFiles([...files, ...extraLogFiles]);
  const ofTrace = spans.filter((s) => s.traceId === traceId);
  const records = logRecords.filter((r) => r.traceId === traceId);
  const { files: jwksFiles, jwks } = readJwksDir(jwksDir);
  return { files, spans: ofTrace, logRecords: records, ...tokensOf(ofTrace, records), jwksDir, jwksFiles, jwks };
}

const shapeOf = (spans: readonly OtlpSpan[]) => spans.map((s) => `${s.service} ${s.kind} ${s.name}`).sort();

interface DagJson {
  verdict: string;
  tokens: number;
  edges: number;
  failures: { file: string; line: number; jti?: string; code: string; message: string }[];
  violations: unknown[];
  missing: unknown[];
}

function dagVerify(files: string[], jwksDir: string): { status: number | null; report: DagJson; stderr: string } {
  const r = ect(['dag', 'verify', ...files, '--jwks', jwksDir, '--json']);
  let report: DagJson;
  try {
    report = JSON.parse(r.stdout) as DagJson;
  } catch {
    throw new Error(
      `ect dag verify printed no JSON (exit ${r.status})\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`,
    );
  }
  return { status: r.status, report, stderr: r.stderr };
}

// ---- Prometheus scrapes ------------------------------------------------------------------------

const COUNTERS = [
  'ect_spans_export_failed_total',
  'ect_token_logs_export_failed_total',
  'ect_tokens_export_dropped_total',
  'ect_tokens_issued_total',
] as const;
type Counters = Record<(typeof COUNTERS)[number], number>;

/** The bridge counters of one service's `/metrics` (summed over label sets). */
async function scrape(port: number): Promise<Counters> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  const out = Object.fromEntries(COUNTERS.map((c) => [c, Number.NaN])) as Counters;
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null || !(COUNTERS as readonly string[]).includes(m[1]!)) continue;
    const name = m[1] as keyof Counters;
    out[name] = (Number.isNaN(out[name]) ? 0 : out[name]) + Number(m[2]);
  }
  for (const c of COUNTERS)
    if (Number.isNaN(out[c])) throw new Error(`:${port}/metrics has no ${c}\n${text.slice(0, 2000)}`);
  return out;
}

async function scrapeAll(ports: Record<string, number>): Promise<Record<string, Counters>> {
  const entries = await Promise.all(
    Object.entries(ports).map(async ([service, port]) => [service, await scrape(port)] as const),
  );
  return Object.fromEntries(entries);
}

// ---- the run ------------------------------------------------------------------------------------

let work = '';
let stackDir = '';
let stack: Record<string, string> = {};
let tools: Record<string, string> = {};
/** Every stack process pid we saw, with its executable name, for the final leftover check. */
const stackPids = new Map<number, string>();
const workflows: Workflow[] = [];
const timings: Record<string, number> = {};

/** Phase (a): one workflow run through the Collector. */
let run1: {
  workflow: Workflow;
  summary: WorkflowSummary;
  traceId: string;
  jaegerV3File: string;
  jaegerV3Spans: string;
  jaegerV1: {
    data: {
      traceID: string;
      spans: { spanID: string; operationName: string; tags: { key: string; type: string; value: unknown }[] }[];
    }[];
  };
  tracesFile: string;
  logsFile: string;
  collector: CollectedExport;
  jaeger: CollectedExport;
  local: CollectedExport;
};

function stackEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...cleanEnv(),
    ECT_STACK_DIR: stackDir,
    OTELCOL_BIN: tools.OTELCOL_BIN,
    JAEGER_BIN: tools.JAEGER_BIN,
    ...extra,
  };
}

async function stackCommand(command: string, timeoutMs = 120_000): Promise<void> {
  const r = await bash([join(REPO_ROOT, 'test/e2e/stack.sh'), command], stackEnv(), timeoutMs);
  if (r.status !== 0) throw scriptFailure(`stack.sh ${command}`, r);
  stack = parseEnvLines(readFileSync(join(stackDir, 'stack.env'), 'utf8'));
  for (const [key, exe] of [
    ['OTELCOL_PID', basename(tools.OTELCOL_BIN ?? 'otelcol-ect')],
    ['JAEGER_PID', 'jaeger'],
  ] as const) {
    if (stack[key]) stackPids.set(Number(stack[key]), exe);
  }
}

const jaegerUrl = () => stack.JAEGER_QUERY_URL!;

/** The trace's OTLP answer from Jaeger once it holds at least `spans` spans of it. */
async function waitForJaegerTrace(traceId: string, spans = SPANS_PER_RUN): Promise<JaegerV3Answer> {
  return waitFor(`${spans} spans of trace ${traceId} in Jaeger`, ARRIVAL_TIMEOUT_MS, async () => {
    const { status, body } = await getJson(`${jaegerUrl()}/api/v3/traces/${traceId}`);
    if (status !== 200) return undefined;
    const answer = body as JaegerV3Answer;
    return rawSpans(answer.result).length >= spans ? answer : undefined;
  });
}

function writeV3(answer: JaegerV3Answer, dir: string, name: string): { raw: string; unwrapped: string } {
  const raw = join(dir, `${name}.json`);
  const unwrapped = join(dir, `${name}.otlp.jsonl`);
  writeFileSync(raw, `${JSON.stringify(answer)}\n`);
  writeFileSync(unwrapped, `${JSON.stringify(answer.result)}\n`);
  return { raw, unwrapped };
}

beforeAll(async () => {
  let t = Date.now();
  // Its progress lines go to stderr as they come: a cold build is silent for minutes otherwise.
  const build = await bash([join(REPO_ROOT, 'test/e2e/build-tools.sh')], cleanEnv(), BUILD_TIMEOUT_MS, true, true);
  if (build.status !== 0) throw scriptFailure('test/e2e/build-tools.sh', build);
  tools = parseEnvLines(build.stdout);
  expect(tools.OTELCOL_BIN).toBeTruthy();
  expect(tools.JAEGER_BIN).toBeTruthy();
  timings.buildToolsMs = Date.now() - t;

  work = mkdtempSync(join(tmpdir(), 'ect-e2e-'));
  stackDir = join(work, 'stack');
  const ports = await freePorts(6);
  const endpoint = (i: number) => `127.0.0.1:${ports[i]}`;
  t = Date.now();
  const start = await bash(
    [join(REPO_ROOT, 'test/e2e/stack.sh'), 'start'],
    stackEnv({
      ECT_OTLP_HTTP_ENDPOINT: endpoint(0),
      ECT_OTLP_GRPC_ENDPOINT: endpoint(1),
      ECT_JAEGER_OTLP_GRPC_ENDPOINT: endpoint(2),
      ECT_JAEGER_OTLP_HTTP_ENDPOINT: endpoint(3),
      ECT_JAEGER_QUERY_HTTP_ENDPOINT: endpoint(4),
      ECT_JAEGER_QUERY_GRPC_ENDPOINT: endpoint(5),
      ECT_TRACES_FILE: join(stackDir, 'traces.jsonl'),
      ECT_LOGS_FILE: join(stackDir, 'logs.jsonl'),
      ECT_STACK_TIMEOUT: '60',
    }),
    3 * 60_000,
  );
  if (start.status !== 0) throw scriptFailure('stack.sh start', start);
  stack = parseEnvLines(readFileSync(join(stackDir, 'stack.env'), 'utf8'));
  stackPids.set(Number(stack.OTELCOL_PID), basename(tools.OTELCOL_BIN!));
  stackPids.set(Number(stack.JAEGER_PID), 'jaeger');
  timings.stackStartMs = Date.now() - t;

  // (a) One workflow run, OTLP/HTTP to the Collector (and the processes' own files, to compare).
  t = Date.now();
  const dir = join(work, 'run1');
  const workflow = await startWorkflow({
    dir,
    exporters: 'otlp',
    otlpEndpoint: stack.OTEL_EXPORTER_OTLP_ENDPOINT!,
    fileExport: true,
    env: FAST_EXPORT,
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  workflows.push(workflow);
  timings.run1StartMs = Date.now() - t;
  t = Date.now();
  const [summary] = await runWorkflows(workflow, 1);
  const exits = await stopWorkflow(workflow);
  expect(exits.map((e) => `${e.name}:${e.code}`)).toEqual(exits.map((e) => `${e.name}:143`));
  const traceId = summary!.traceId;

  const answer = await waitForJaegerTrace(traceId);
  timings.run1ToJaegerMs = Date.now() - t;
  const v3 = writeV3(answer, dir, 'jaeger-v3');
  const v1 = await getJson(`${jaegerUrl()}/api/traces/${traceId}`);
  expect(v1.status).toBe(200);
  writeFileSync(join(dir, 'jaeger-v1.json'), `${JSON.stringify(v1.body)}\n`);

  // The Collector's files: wait until both hold the whole run, then snapshot them (a Collector
  // restart truncates them).
  await waitFor('the run in the Collector files', ARRIVAL_TIMEOUT_MS, async () => {
    const { spans, logRecords } = await readOtlpFiles([stack.ECT_TRACES_FILE!, stack.ECT_LOGS_FILE!]);
    const n = (xs: { traceId?: string | undefined }[]) => xs.filter((x) => x.traceId === traceId).length;
    return n(spans) >= SPANS_PER_RUN && n(logRecords) >= SPANS_PER_RUN ? true : undefined;
  });
  const tracesFile = join(dir, 'collector-traces.jsonl');
  const logsFile = join(dir, 'collector-logs.jsonl');
  copyFileSync(stack.ECT_TRACES_FILE!, tracesFile);
  copyFileSync(stack.ECT_LOGS_FILE!, logsFile);

  run1 = {
    workflow,
    summary: summary!,
    traceId,
    jaegerV3File: v3.raw,
    jaegerV3Spans: v3.unwrapped,
    jaegerV1: v1.body as typeof run1.jaegerV1,
    tracesFile,
    logsFile,
    collector: await exportOf([tracesFile, logsFile], workflow.jwksDir, traceId),
    // Jaeger holds spans only; the token records to compare them with are the Collector's.
    jaeger: await exportOf([v3.unwrapped], workflow.jwksDir, traceId, [logsFile]),
    local: await collectExport(workflow),
  };
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  for (const workflow of workflows)
    await stopWorkflow(workflow).catch((error: unknown) => console.error(String(error)));
  const problems: string[] = [];
  if (stackDir !== '' && existsSync(stackDir)) {
    const r = await bash([join(REPO_ROOT, 'test/e2e/stack.sh'), 'stop'], stackEnv(), 60_000);
    if (r.status !== 0) problems.push(scriptFailure('stack.sh stop', r).message);
  }
  // Nothing may outlive the run: anything still running is killed, by pid, and reported.
  for (const [pid, exe] of stackPids) {
    if (runs(pid, exe)) {
      process.kill(pid, 'SIGKILL');
      problems.push(`${exe} (pid ${pid}) was still running after stack.sh stop; killed`);
    }
  }
  for (const workflow of workflows) {
    for (const s of workflow.services)
      if (s.exit === undefined && s.pid !== undefined && runs(s.pid, basename(process.execPath)))
        problems.push(`${s.name} (pid ${s.pid}) still running`);
  }
  console.log(`collector-jaeger e2e timings: ${JSON.stringify(timings)}`);
  if (work !== '') {
    if (process.env.ECT_KEEP_RUNS) console.log(`collector-jaeger e2e: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}, 90_000);

/** The token of the span named `name` in `service`, exactly one. */
function tokenOf(checked: { claims: EctClaims; span: OtlpSpan }[], service: string, name: string): EctClaims {
  const found = checked.filter((t) => t.span.service === service && t.span.name === name);
  expect(
    found.map((t) => `${t.span.service}/${t.span.name}`),
    `${service} ${name}`,
  ).toHaveLength(1);
  return found[0]!.claims;
}

describe('bridge → otelcol-ect → Jaeger v2 (real binaries, loopback)', () => {
  it('one workflow run reached Jaeger with all 17 spans, in one trace, through the Collector', () => {
    expect(Object.keys(run1.summary.steps).sort()).toEqual([...AGENT_ACTIONS].sort());
    expect(shapeOf(run1.jaeger.spans)).toEqual(EXPECTED_SHAPE);
    expect(new Set(run1.jaeger.spans.map((s) => s.traceId))).toEqual(new Set([run1.traceId]));
    // The processes' own files hold the same spans: nothing was lost on the way.
    expect(shapeOf(run1.local.spans)).toEqual(EXPECTED_SHAPE);
    expect(new Set(run1.jaeger.spans.map((s) => s.spanId))).toEqual(new Set(run1.local.spans.map((s) => s.spanId)));
  });

  it("ect audit of the run from Jaeger's API alone and from the services' ledger alone: both verified, the same DAG", () => {
    const audit = (args: string[]) => {
      const { status, stdout, stderr } = ect(['audit', ...args, '--jwks', run1.workflow.jwksDir, '--json']);
      expect(stderr).not.toMatch(/Error/);
      return { status, report: JSON.parse(stdout) as AuditReport };
    };
    const fromJaeger = audit(['--source', `jaeger:${jaegerUrl()}?trace=${run1.traceId}`]);
    // ECT_LEDGER defaults to file:$ECT_HOME/ledger: the six services appended there themselves.
    const fromLedger = audit(['--ledger', `file:${join(run1.workflow.home, 'ledger')}`]);
    expect(fromJaeger.report.verdict).toBe('verified');
    expect(fromJaeger.status).toBe(0);
    expect(fromJaeger.report.summary).toMatchObject({ tokens: SPANS_PER_RUN, spans: SPANS_PER_RUN, failed: 0 });
    expect(fromJaeger.report.checks.find((c) => c.name === 'binding')?.status).toBe('pass');
    expect(fromLedger.report.verdict).toBe('verified');
    expect(fromLedger.report.checks.find((c) => c.name === 'ledger-inclusion')?.status).toBe('pass');
    const dag = (r: AuditReport) => ({
      nodes: r.nodes.map((n) => `${n.jti} ${n.execAct} ${n.verdict}`).sort(),
      edges: r.edges.map((e) => `${e.from}>${e.to}`).sort(),
    });
    expect(dag(fromLedger.report)).toEqual(dag(fromJaeger.report));
    expect(fromJaeger.report.edges.length).toBeGreaterThan(SPANS_PER_RUN);
  });

  it('every span Jaeger serves on /api/v3 carries ect.jti, ect.pred and an ect.token that verifies (EctVerifier, audit mode) and whose jti is ect.jti', async () => {
    const verifier = new EctVerifier({ keys: await loadVerificationKeysFrom(run1.workflow.jwksDir), audit: true });
    for (const span of run1.jaeger.spans) {
      const where = `${span.service} ${span.name} (${span.spanId})`;
      const { 'ect.jti': jti, 'ect.pred': pred, 'ect.token': token } = span.attributes;
      expect(typeof jti, `${where}: ect.jti`).toBe('string');
      expect(Array.isArray(pred), `${where}: ect.pred`).toBe(true);
      expect(typeof token, `${where}: ect.token`).toBe('string');
      const { claims } = verifier.verifySync(String(token));
      expect(claims.jti, where).toBe(jti);
      expect(claims.pred, where).toEqual(pred);
      expect(claims.ect_ext?.[SPAN_BINDING_KEY], where).toMatchObject({
        trace_id: span.traceId,
        span_id: span.spanId,
        name: span.name,
      });
    }
    // The full check of the integration tests (jose too, span binding, issuer, one token log record
    // per span with the same token and ids, no orphan tokens), on what Jaeger served.
    expect(await checkSpansAndTokens(run1.jaeger)).toHaveLength(SPANS_PER_RUN);
  });

  it("Jaeger's own JSON API (/api/traces) serves the same tokens; ect.pred comes back as a JSON string", async () => {
    const verifier = new EctVerifier({ keys: await loadVerificationKeysFrom(run1.workflow.jwksDir), audit: true });
    expect(run1.jaegerV1.data).toHaveLength(1);
    const trace = run1.jaegerV1.data[0]!;
    expect(trace.traceID).toBe(run1.traceId);
    expect(trace.spans).toHaveLength(SPANS_PER_RUN);
    const tokens: string[] = [];
    for (const span of trace.spans) {
      const tag = (key: string) => span.tags.find((t) => t.key === key);
      const where = `${span.operationName} (${span.spanID})`;
      expect(tag('ect.jti')?.type, where).toBe('string');
      expect(tag('ect.pred')?.type, where).toBe('string');
      expect(tag('ect.token')?.type, where).toBe('string');
      const { claims } = verifier.verifySync(String(tag('ect.token')!.value));
      expect(claims.jti, where).toBe(tag('ect.jti')!.value);
      expect(JSON.parse(String(tag('ect.pred')!.value)), where).toEqual(claims.pred);
      expect(claims.ect_ext?.[SPAN_BINDING_KEY], where).toMatchObject({
        span_id: span.spanID,
        name: span.operationName,
      });
      tokens.push(String(tag('ect.token')!.value));
    }
    expect(new Set(tokens)).toEqual(new Set(run1.jaeger.spans.map((s) => s.attributes['ect.token'])));
  });

  it("the Collector's files: the same spans, and one token log record per span token — the same token set as Jaeger's spans and the processes' own export", async () => {
    expect(shapeOf(run1.collector.spans)).toEqual(EXPECTED_SHAPE);
    expect(await checkSpansAndTokens(run1.collector)).toHaveLength(SPANS_PER_RUN);
    const logTokens = run1.collector.tokenRecords.map((r) => r.body);
    expect(logTokens).toHaveLength(SPANS_PER_RUN);
    expect(new Set(logTokens).size).toBe(SPANS_PER_RUN);
    const spanTokens = (spans: OtlpSpan[]) => new Set(spans.map((s) => s.attributes['ect.token']));
    expect(new Set(logTokens)).toEqual(spanTokens(run1.jaeger.spans));
    expect(new Set(logTokens)).toEqual(spanTokens(run1.collector.spans));
    expect(new Set(logTokens)).toEqual(new Set(run1.local.tokens));
    // Nothing else went through: the files hold exactly this run.
    const all = await readOtlpFiles([run1.tracesFile, run1.logsFile]);
    expect(all.spans).toHaveLength(SPANS_PER_RUN);
    expect(all.logRecords).toHaveLength(SPANS_PER_RUN);
  });

  it('`ect dag verify` says valid (exit 0) for the saved Jaeger /api/v3 answer and for the Collector traces + logs files', () => {
    const edges = tokensOfSpans(run1.collector).reduce((n, t) => n + t.claims.pred.length, 0);
    for (const files of [[run1.jaegerV3File], [run1.tracesFile, run1.logsFile], [run1.tracesFile], [run1.logsFile]]) {
      const { status, report, stderr } = dagVerify(files, run1.workflow.jwksDir);
      expect(stderr, files.join(' ')).toBe('');
      expect(report, files.join(' ')).toMatchObject({
        verdict: 'valid',
        tokens: SPANS_PER_RUN,
        edges,
        failures: [],
        violations: [],
        missing: [],
      });
      expect(status, files.join(' ')).toBe(0);
    }
  });

  it("reachability over the tokens Jaeger served is the paper's figure: fetch_data → (analyze_risk ∥ check_credit) → verify_compliance → execute_trade", () => {
    const checked = tokensOfSpans(run1.jaeger);
    expect(checked).toHaveLength(SPANS_PER_RUN);
    const reaches = reachability(checked.map((t) => t.claims));
    const agent = Object.fromEntries(AGENT_ACTIONS.map((a) => [a, tokenOf(checked, agentService(a), a)])) as Record<
      AgentAction,
      EctClaims
    >;
    for (const a of AGENT_ACTIONS) expect(agent[a].exec_act).toBe(a);
    expect(agentOrder(agent, reaches)).toEqual(PAPER_ORDER);
    expect(reaches(agent.analyze_risk.jti, agent.check_credit.jti)).toBe(false);
    expect(reaches(agent.check_credit.jti, agent.analyze_risk.jti)).toBe(false);
  });
});

describe('tampering with what the Collector and Jaeger stored', () => {
  const jtiOf = (span: OtlpRawSpan) => rawAttribute(span, 'ect.jti')?.stringValue;

  it('a renamed span in a copy of the Collector traces file: invalid (exit 1), ECT_SPAN_MISMATCH naming that span', () => {
    const copy = join(run1.workflow.dir, 'tampered-name.jsonl');
    const { line, span } = tamperSpan(
      run1.tracesFile,
      copy,
      (s) => s.name === 'check_credit',
      (s) => (s.name = 'check_credit_skipped'),
    );
    const { status, report } = dagVerify([copy, run1.logsFile], run1.workflow.jwksDir);
    expect(report.verdict).toBe('invalid');
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ file: copy, line, jti: jtiOf(span), code: 'ECT_SPAN_MISMATCH' });
    expect(report.failures[0]!.message).toContain(`span check_credit_skipped (${span.spanId})`);
    expect(report.failures[0]!.message).toContain('name: span says "check_credit_skipped", token says "check_credit"');
    expect(status).toBe(1);
  });

  it("an edited ect.pred (verify_compliance's fan-in cut to one predecessor): invalid, ECT_SPAN_MISMATCH naming that span", () => {
    const copy = join(run1.workflow.dir, 'tampered-pred.jsonl');
    const { line, span } = tamperSpan(
      run1.tracesFile,
      copy,
      (s) => s.name === 'verify_compliance',
      (s) => {
        const pred = rawAttribute(s, 'ect.pred')!.arrayValue!;
        expect(pred.values).toHaveLength(2);
        pred.values = pred.values!.slice(0, 1);
      },
    );
    const { status, report } = dagVerify([copy, run1.logsFile], run1.workflow.jwksDir);
    expect(report.verdict).toBe('invalid');
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ file: copy, line, jti: jtiOf(span), code: 'ECT_SPAN_MISMATCH' });
    expect(report.failures[0]!.message).toContain(`span verify_compliance (${span.spanId})`);
    expect(report.failures[0]!.message).toContain('ect.pred: span says');
    expect(status).toBe(1);
  });

  it('a span edited in the saved Jaeger /api/v3 answer: invalid, ECT_SPAN_MISMATCH naming that span', () => {
    const copy = join(run1.workflow.dir, 'tampered-jaeger-v3.json');
    const { span } = tamperSpan(
      run1.jaegerV3File,
      copy,
      (s) => s.name === 'execute_trade',
      (s) => (s.name = 'execute_trade_twice'),
    );
    const { status, report } = dagVerify([copy], run1.workflow.jwksDir);
    expect(report.failures).toEqual([
      expect.objectContaining({ file: copy, line: 1, jti: jtiOf(span), code: 'ECT_SPAN_MISMATCH' }),
    ]);
    expect(report.failures[0]!.message).toContain(`span execute_trade_twice (${span.spanId})`);
    expect(status).toBe(1);
  });

  it('one changed character in an ect.token payload: invalid, ECT_SIGNATURE_INVALID naming that token', () => {
    const copy = join(run1.workflow.dir, 'tampered-token.jsonl');
    let flip: ReturnType<typeof flipOnePayloadChar> | undefined;
    const { line, span } = tamperSpan(
      run1.tracesFile,
      copy,
      (s) => s.name === 'fetch_data',
      (s) => {
        const value = rawAttribute(s, 'ect.token')!;
        flip = flipOnePayloadChar(value.stringValue!);
        value.stringValue = flip.tampered;
      },
    );
    expect(flip).toBeDefined();
    const { status, report } = dagVerify([copy, run1.logsFile], run1.workflow.jwksDir);
    expect(report.verdict).toBe('invalid');
    expect(report.failures, `changed ${flip!.from} → ${flip!.to} at ${flip!.position}`).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ file: copy, line, jti: jtiOf(span), code: 'ECT_SIGNATURE_INVALID' });
    expect(status).toBe(1);
  });
});

describe('Collector outage under load', () => {
  it(
    'with the Collector stopped every workflow run still answers, RSS stays bounded and the export-failure counters rise; once it is back, export resumes and the counters stop rising',
    async () => {
      const services = [...AGENT_ACTIONS.map(agentService), ORCHESTRATOR_SERVICE];
      const metricPorts = await freePorts(services.length);
      const portOf = Object.fromEntries(services.map((s, i) => [s, metricPorts[i]!]));
      let t = Date.now();
      const workflow = await startWorkflow({
        dir: join(work, 'run2'),
        exporters: 'otlp',
        otlpEndpoint: stack.OTEL_EXPORTER_OTLP_ENDPOINT!,
        fileExport: false,
        env: {
          ...FAST_EXPORT,
          // Give up on a refused export after 2 s (default 10 s), so failures surface while we watch.
          OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
          OTEL_METRICS_EXPORTER: 'prometheus',
          OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        },
        serviceEnv: Object.fromEntries(services.map((s) => [s, { OTEL_EXPORTER_PROMETHEUS_PORT: String(portOf[s]) }])),
        readyTimeoutMs: READY_TIMEOUT_MS,
      });
      workflows.push(workflow);
      timings.run2StartMs = Date.now() - t;
      const pids = Object.fromEntries(workflow.services.map((s) => [s.name, s.pid!]));

      // Warm up with the Collector running: the runs arrive, nothing failed.
      const warm = await runWorkflows(workflow, 5);
      await waitForJaegerTrace(warm.at(-1)!.traceId);
      const before = await scrapeAll(portOf);
      for (const s of services) {
        expect(before[s]!.ect_spans_export_failed_total, s).toBe(0);
        expect(before[s]!.ect_token_logs_export_failed_total, s).toBe(0);
      }
      const rss0 = Object.fromEntries(services.map((s) => [s, rssMb(pids[s]!)]));
      const rssMax = { ...rss0 };

      // Outage: stop only the Collector; Jaeger keeps running.
      await stackCommand('stop-collector');
      expect(await portOpen(stack.ECT_OTLP_HTTP_ENDPOINT!)).toBe(false);
      t = Date.now();
      const deadline = Date.now() + OUTAGE_MS;
      const answered: WorkflowSummary[] = [];
      const errors: string[] = [];
      let middle: Record<string, Counters> | undefined;
      // Two clients, each starting a run at most every 2/OUTAGE_RATE s: a steady load that does not
      // depend on how fast the machine is (unless it is slower than that).
      const driver = async () => {
        while (Date.now() < deadline) {
          const next = Date.now() + 2_000 / OUTAGE_RATE;
          try {
            answered.push(...(await runWorkflows(workflow, 1, { timeoutMs: 15_000 })));
          } catch (error) {
            errors.push(String(error));
          }
          await sleep(Math.max(0, Math.min(next, deadline) - Date.now()));
        }
      };
      const sampler = async () => {
        while (Date.now() < deadline) {
          for (const s of services) rssMax[s] = Math.max(rssMax[s]!, rssMb(pids[s]!));
          await sleep(1_000);
        }
      };
      const midway = async () => {
        await sleep(OUTAGE_MS / 2);
        middle = await scrapeAll(portOf);
      };
      await Promise.all([driver(), driver(), sampler(), midway()]);
      const during = await scrapeAll(portOf);
      timings.outageMs = Date.now() - t;
      timings.outageRuns = answered.length;

      expect(errors).toEqual([]);
      expect(answered.length).toBeGreaterThanOrEqual(10);
      for (const s of services) {
        const growth = rssMax[s]! - rss0[s]!;
        expect(growth, `${s}: RSS ${rss0[s]!.toFixed(0)} → max ${rssMax[s]!.toFixed(0)} MB`).toBeLessThan(
          RSS_GROWTH_LIMIT_MB,
        );
        // Failures are counted, and keep being counted while the Collector is away.
        expect(during[s]!.ect_spans_export_failed_total, s).toBeGreaterThan(middle![s]!.ect_spans_export_failed_total);
        expect(middle![s]!.ect_spans_export_failed_total, s).toBeGreaterThan(0);
        expect(during[s]!.ect_token_logs_export_failed_total, s).toBeGreaterThan(
          middle![s]!.ect_token_logs_export_failed_total,
        );
        expect(middle![s]!.ect_token_logs_export_failed_total, s).toBeGreaterThan(0);
        // The bridge kept signing.
        expect(during[s]!.ect_tokens_issued_total, s).toBeGreaterThan(before[s]!.ect_tokens_issued_total);
      }

      // Recovery: the Collector again, on the same endpoints.
      t = Date.now();
      await stackCommand('start-collector');
      const recovered = await runWorkflows(workflow, 3);
      for (const { traceId } of recovered) {
        const answer = await waitForJaegerTrace(traceId);
        const files = writeV3(answer, workflow.dir, `recovered-${traceId}`);
        expect(shapeOf((await readOtlpFiles([files.unwrapped])).spans), traceId).toEqual(EXPECTED_SHAPE);
        const { status, report } = dagVerify([files.raw], workflow.jwksDir);
        expect(report, traceId).toMatchObject({ verdict: 'valid', tokens: SPANS_PER_RUN, failures: [] });
        expect(status, traceId).toBe(0);
      }
      timings.recoveryToJaegerMs = Date.now() - t;
      // And the restarted Collector's files have them, spans and token log records.
      await waitFor('the recovered runs in the restarted Collector files', ARRIVAL_TIMEOUT_MS, async () => {
        const { spans, logRecords } = await readOtlpFiles([stack.ECT_TRACES_FILE!, stack.ECT_LOGS_FILE!]);
        const ok = recovered.every(
          ({ traceId }) =>
            spans.filter((s) => s.traceId === traceId).length === SPANS_PER_RUN &&
            logRecords.filter((r) => r.traceId === traceId).length === SPANS_PER_RUN,
        );
        return ok ? true : undefined;
      });

      // The failure counters settle (retries of the outage's batches end within the 2 s timeout)
      // and then stay put while more runs are exported.
      const settled = await waitFor('the export-failure counters to settle', 30_000, async () => {
        const a = await scrapeAll(portOf);
        await sleep(2_500);
        const b = await scrapeAll(portOf);
        const same = services.every(
          (s) =>
            a[s]!.ect_spans_export_failed_total === b[s]!.ect_spans_export_failed_total &&
            a[s]!.ect_token_logs_export_failed_total === b[s]!.ect_token_logs_export_failed_total,
        );
        return same ? b : undefined;
      });
      const more = await runWorkflows(workflow, 3);
      for (const { traceId } of more) await waitForJaegerTrace(traceId);
      const after = await scrapeAll(portOf);
      for (const s of services) {
        expect(after[s]!.ect_spans_export_failed_total, s).toBe(settled[s]!.ect_spans_export_failed_total);
        expect(after[s]!.ect_token_logs_export_failed_total, s).toBe(settled[s]!.ect_token_logs_export_failed_total);
        expect(after[s]!.ect_tokens_issued_total, s).toBeGreaterThan(settled[s]!.ect_tokens_issued_total);
      }

      // How much of the outage's runs arrived after all (spans queued in the SDK before the queue
      // filled up); informational, the SDK drops beyond OTEL_BSP_MAX_QUEUE_SIZE by design.
      const sample = [...answered.slice(0, 3), ...answered.slice(-3)];
      const arrived = await Promise.all(
        sample.map(async ({ traceId }) => {
          const { status, body } = await getJson(`${jaegerUrl()}/api/v3/traces/${traceId}`);
          return status === 200 ? rawSpans((body as JaegerV3Answer).result).length : 0;
        }),
      );
      const exits = await stopWorkflow(workflow);
      expect(exits.map((e) => `${e.name}:${e.code}`)).toEqual(exits.map((e) => `${e.name}:143`));
      // What the Collector outage cost the traces, it did not cost the audit trail: the services'
      // own ledger (ECT_LEDGER's default under ECT_HOME) has every token of every run.
      const ledger = FileLedger.openSync({ dir: join(workflow.home, 'ledger'), readOnly: true });
      const logged = ledger.size;
      ledger.close();
      expect(logged).toBeGreaterThanOrEqual((answered.length + more.length) * SPANS_PER_RUN);
      console.log(
        `collector outage: ${logged} tokens in the services' ledger (${answered.length} outage runs × ${SPANS_PER_RUN} = ${answered.length * SPANS_PER_RUN}); ${answered.length} runs in ${OUTAGE_MS} ms (target ${OUTAGE_RATE}/s), all answered; RSS MB (before → max): ${services
          .map((s) => `${s} ${rss0[s]!.toFixed(0)}→${rssMax[s]!.toFixed(0)}`)
          .join(
            ', ',
          )}; counters before/midway/end-of-outage/after-recovery: ${JSON.stringify({ before, middle, during, after })}; spans in Jaeger of the first and last 3 outage runs: ${arrived.join(',')}`,
      );
    },
    5 * 60_000,
  );
});
