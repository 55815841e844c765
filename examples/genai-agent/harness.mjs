// Starts the GenAI agent service as a real process (`node --import otel-ect/register agent.mjs`),
// asks it questions over HTTP on 127.0.0.1, stops it with SIGTERM and reads the export back. Reuses
// the agent-workflow harness; exported for run.mjs and test/integration/.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bridgeEnv,
  collectExport,
  freePorts,
  prepareRunDir,
  startService,
  stopWorkflow,
} from '../agent-workflow/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const GENAI_SERVICE = 'genai-agent';

/**
 * Starts the agent. Options as the workflow's: `dir` (required), `exporters`, `otlpEndpoint`,
 * `fileExport`, `mode`, `env`, `readyTimeoutMs`.
 */
export async function startGenAiAgent({
  dir,
  exporters = 'none',
  otlpEndpoint,
  fileExport = true,
  mode = 'record',
  env = {},
  readyTimeoutMs = 30_000,
}) {
  if (dir === undefined) throw new Error('startGenAiAgent: dir is required');
  const { runDir, home, jwksDir, exportDir, logDir } = prepareRunDir(dir, fileExport);
  const [port] = await freePorts(1);
  const service = startService({
    name: GENAI_SERVICE,
    script: join(here, 'agent.mjs'),
    env: {
      ...bridgeEnv({ home, exportDir, exporters, otlpEndpoint, mode, extraEnv: env }),
      OTEL_SERVICE_NAME: GENAI_SERVICE,
      PORT: String(port),
    },
    logDir,
    readyTimeoutMs,
  });
  const agent = { dir: runDir, home, jwksDir, exportDir, logDir, services: [service], url: `http://127.0.0.1:${port}` };
  try {
    await service.ready;
  } catch (error) {
    await stopWorkflow(agent).catch(() => {});
    throw error;
  }
  return agent;
}

/** Asks the agent once (`POST /invoke`); resolves to its JSON answer (answer, toolCalls, traceId). */
export async function invokeAgent(agent, { question, city } = {}, { timeoutMs = 30_000 } = {}) {
  const response = await fetch(`${agent.url}/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...(question === undefined ? {} : { question }), ...(city === undefined ? {} : { city }) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`invoke failed: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Stops the agent with SIGTERM and waits (bounded) for it to exit. */
export const stopGenAiAgent = (agent, options) => stopWorkflow(agent, options);

export { collectExport };
