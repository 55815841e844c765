// The examples' services as test subjects: the paper's financial workflow (examples/agent-workflow:
// an orchestrator and five agents) and the GenAI agent (examples/genai-agent), each started with
// test/helpers/processes.ts, driven over HTTP on 127.0.0.1 and stopped with SIGTERM.
import { join } from 'node:path';
import {
  bridgeEnv,
  type BridgeEnvOptions,
  freePorts,
  prepareRunDir,
  REPO_ROOT,
  type RunDirs,
  type Service,
  startAll,
  startService,
  stopServices,
} from './processes.js';

/** The workflow's five agent tasks, in the paper's order. */
export const AGENT_ACTIONS = [
  'fetch_data',
  'analyze_risk',
  'check_credit',
  'verify_compliance',
  'execute_trade',
] as const;
export type AgentAction = (typeof AGENT_ACTIONS)[number];

/** `OTEL_SERVICE_NAME` of the orchestrator and of each agent. */
export const ORCHESTRATOR_SERVICE = 'orchestrator';
export const agentService = (action: string): string => `agent-${action.replaceAll('_', '-')}`;
export const GENAI_SERVICE = 'genai-agent';

const WORKFLOW_DIR = join(REPO_ROOT, 'examples/agent-workflow');
const GENAI_DIR = join(REPO_ROOT, 'examples/genai-agent');

/** Started services with their folders. */
export interface RunHandle extends RunDirs {
  services: Service[];
}

/** Options shared by {@link startWorkflow} and {@link startGenAiAgent}. */
export interface RunOptions {
  /** The run's folder; `home/`, `export/` and `logs/` are created in it, fresh. */
  dir: string;
  exporters?: BridgeEnvOptions['exporters'];
  /** With `exporters: 'otlp'`, e.g. http://127.0.0.1:4318. */
  otlpEndpoint?: string;
  /** Write OTLP JSON lines to `dir/export` (default true). */
  fileExport?: boolean;
  mode?: BridgeEnvOptions['mode'];
  /** Extra environment for every process. */
  env?: Record<string, string>;
  /** Default 30 s: processes loading the auto-instrumentations take 4–20 s on a busy 2-core machine. */
  readyTimeoutMs?: number;
}

export interface Workflow extends RunHandle {
  agentUrls: Record<AgentAction, string>;
  orchestratorUrl: string;
}

/** The orchestrator's answer to `POST /run`. */
export interface WorkflowSummary {
  traceId: string;
  ms: number;
  steps: Record<AgentAction, Record<string, unknown>>;
}

/**
 * Starts the orchestrator and the five agents, all at once, and waits until every one listens and
 * has published its JWK Set. `workMs` is each agent's pretend work (default 5); `serviceEnv` adds
 * environment per service name.
 *
 * @example const workflow = await startWorkflow({ dir }); const [summary] = await runWorkflows(workflow);
 */
export async function startWorkflow(
  options: RunOptions & { workMs?: number; serviceEnv?: Record<string, Record<string, string>> },
): Promise<Workflow> {
  const { workMs = 5, serviceEnv = {}, readyTimeoutMs = 30_000 } = options;
  const dirs = prepareRunDir(options.dir, options.fileExport ?? true);
  const env = envOf(dirs, options);
  const ports = await freePorts(AGENT_ACTIONS.length + 1);
  const url = (port: number | undefined) => `http://127.0.0.1:${port}`;
  const agentUrls = Object.fromEntries(AGENT_ACTIONS.map((a, i) => [a, url(ports[i + 1])])) as Record<
    AgentAction,
    string
  >;
  const start = (name: string, script: string, own: Record<string, string>) =>
    startService({
      name,
      script: join(WORKFLOW_DIR, script),
      env: { ...env, OTEL_SERVICE_NAME: name, ...own, ...serviceEnv[name] },
      logDir: dirs.logDir,
      readyTimeoutMs,
    });
  const services = AGENT_ACTIONS.map((action, i) =>
    start(agentService(action), 'agent.mjs', {
      AGENT_ACTION: action,
      PORT: String(ports[i + 1]),
      AGENT_WORK_MS: String(workMs),
    }),
  );
  services.push(
    start(ORCHESTRATOR_SERVICE, 'orchestrator.mjs', { PORT: String(ports[0]), AGENT_URLS: JSON.stringify(agentUrls) }),
  );
  await startAll(services, dirs.jwksDir, readyTimeoutMs);
  return { ...dirs, services, agentUrls, orchestratorUrl: url(ports[0]) };
}

/**
 * Runs the workflow `count` times, one after the other (`POST /run`), each bounded by `timeoutMs`.
 *
 * @example const summaries = await runWorkflows(workflow, 3);
 */
export async function runWorkflows(
  workflow: Workflow,
  count = 1,
  { input = { symbol: 'ACME' }, timeoutMs = 30_000 }: { input?: unknown; timeoutMs?: number } = {},
): Promise<WorkflowSummary[]> {
  const results: WorkflowSummary[] = [];
  for (let i = 0; i < count; i++)
    results.push(await postJson<WorkflowSummary>(`${workflow.orchestratorUrl}/run`, input, timeoutMs));
  return results;
}

/** Stops a run's services (SIGTERM, bounded; see {@link stopServices}). */
export const stopWorkflow = (run: { services: readonly Service[] }, options?: { timeoutMs?: number }) =>
  stopServices(run.services, options);

export interface GenAiAgent extends RunHandle {
  url: string;
}

export interface ToolCall {
  name: string;
  /** `gen_ai.tool.call.arguments` exactly as the span carries it. */
  arguments: string;
  /** `gen_ai.tool.call.result` exactly as the span carries it. */
  result: string;
}

/** The GenAI agent's answer to `POST /invoke`. */
export interface AgentReply {
  answer: string;
  /** `gen_ai.input.messages` of the invoke_agent span. */
  input: string;
  /** `gen_ai.output.messages` of the invoke_agent span. */
  output: string;
  toolCalls: ToolCall[];
  traceId: string;
}

/**
 * Starts the GenAI agent service and waits until it listens and has published its JWK Set.
 *
 * @example const agent = await startGenAiAgent({ dir }); const reply = await invokeAgent(agent);
 */
export async function startGenAiAgent(options: RunOptions): Promise<GenAiAgent> {
  const { readyTimeoutMs = 30_000 } = options;
  const dirs = prepareRunDir(options.dir, options.fileExport ?? true);
  const [port] = await freePorts(1);
  const service = startService({
    name: GENAI_SERVICE,
    script: join(GENAI_DIR, 'agent.mjs'),
    env: { ...envOf(dirs, options), OTEL_SERVICE_NAME: GENAI_SERVICE, PORT: String(port) },
    logDir: dirs.logDir,
    readyTimeoutMs,
  });
  await startAll([service], dirs.jwksDir, readyTimeoutMs);
  return { ...dirs, services: [service], url: `http://127.0.0.1:${port}` };
}

/** Asks the agent once (`POST /invoke`), bounded by `timeoutMs`. */
export function invokeAgent(
  agent: GenAiAgent,
  request: { question?: string; city?: string } = {},
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<AgentReply> {
  return postJson<AgentReply>(`${agent.url}/invoke`, request, timeoutMs);
}

/** Stops the agent (SIGTERM, bounded). */
export const stopGenAiAgent = stopWorkflow;

function envOf(dirs: RunDirs, options: RunOptions): Record<string, string> {
  return bridgeEnv({
    home: dirs.home,
    exportDir: dirs.exportDir,
    otlpEndpoint: options.otlpEndpoint,
    ...(options.exporters === undefined ? {} : { exporters: options.exporters }),
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    ...(options.env === undefined ? {} : { extraEnv: options.env }),
  });
}

async function postJson<T>(url: string, body: unknown, timeoutMs: number): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const answer = (await response.json()) as unknown;
  if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status} ${JSON.stringify(answer)}`);
  return answer as T;
}
