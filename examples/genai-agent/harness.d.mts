// Types of harness.mjs, for the TypeScript tests that import it.
import type { CollectedExport, RunHandle, Service } from '../agent-workflow/harness.mjs';

export declare const GENAI_SERVICE: string;

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

export interface AgentReply {
  answer: string;
  /** `gen_ai.input.messages` of the invoke_agent span. */
  input: string;
  /** `gen_ai.output.messages` of the invoke_agent span. */
  output: string;
  toolCalls: ToolCall[];
  traceId: string;
}

export declare function startGenAiAgent(options: {
  dir: string;
  exporters?: 'none' | 'otlp';
  otlpEndpoint?: string;
  fileExport?: boolean;
  mode?: 'record' | 'enforce' | 'off';
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<GenAiAgent>;
export declare function invokeAgent(
  agent: GenAiAgent,
  request?: { question?: string; city?: string },
  options?: { timeoutMs?: number },
): Promise<AgentReply>;
export declare function stopGenAiAgent(
  agent: { services: Service[] },
  options?: { timeoutMs?: number },
): Promise<unknown>;
export declare function collectExport(
  handle: { exportDir: string | undefined; jwksDir?: string } | string,
): CollectedExport;
