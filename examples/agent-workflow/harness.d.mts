// Types of harness.mjs, for the TypeScript tests that import it.
import type { ChildProcess } from 'node:child_process';

export declare const REPO_ROOT: string;
export declare const ECT_CLI: string;
export declare const AGENT_ACTIONS: readonly [
  'fetch_data',
  'analyze_risk',
  'check_credit',
  'verify_compliance',
  'execute_trade',
];
export type AgentAction = (typeof AGENT_ACTIONS)[number];
export declare const ORCHESTRATOR_SERVICE: string;
export declare function agentService(action: string): string;

export interface Service {
  name: string;
  child: ChildProcess;
  pid: number | undefined;
  port: number | undefined;
  ready: Promise<Service>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  stdout: string;
  stderr: string;
}

export declare function freePorts(count: number): Promise<number[]>;
export declare function startService(spec: {
  name: string;
  script: string;
  env: Record<string, string>;
  logDir?: string;
  readyTimeoutMs?: number;
  args?: string[];
}): Service;

export interface BridgeEnvOptions {
  home: string;
  exportDir?: string | undefined;
  exporters?: 'none' | 'otlp';
  otlpEndpoint?: string | undefined;
  mode?: 'record' | 'enforce' | 'off';
  extraEnv?: Record<string, string>;
}
export declare function bridgeEnv(options: BridgeEnvOptions): Record<string, string>;
export declare function prepareRunDir(
  dir: string,
  fileExport?: boolean,
): { runDir: string; home: string; jwksDir: string; exportDir: string | undefined; logDir: string };
export declare function waitForKeys(jwksDir: string, count: number, timeoutMs?: number): Promise<void>;

export interface StartWorkflowOptions {
  dir: string;
  exporters?: 'none' | 'otlp';
  otlpEndpoint?: string;
  fileExport?: boolean;
  mode?: 'record' | 'enforce' | 'off';
  workMs?: number;
  env?: Record<string, string>;
  serviceEnv?: Record<string, Record<string, string>>;
  readyTimeoutMs?: number;
}

/** Anything with processes to stop and an export to read. */
export interface RunHandle {
  dir: string;
  home: string;
  jwksDir: string;
  exportDir: string | undefined;
  logDir: string;
  services: Service[];
}

export interface Workflow extends RunHandle {
  agentUrls: Record<AgentAction, string>;
  orchestratorUrl: string;
}

export interface WorkflowSummary {
  traceId: string;
  ms: number;
  steps: Record<AgentAction, Record<string, unknown>>;
}

export declare function startWorkflow(options: StartWorkflowOptions): Promise<Workflow>;
export declare function runWorkflows(
  workflow: Workflow,
  count?: number,
  options?: { input?: unknown; timeoutMs?: number },
): Promise<WorkflowSummary[]>;
export declare function stopWorkflow(
  handle: { services: Service[] },
  options?: { timeoutMs?: number },
): Promise<{ name: string; pid: number | undefined; code: number | null; signal: NodeJS.Signals | null }[]>;

export type AttributeValue =
  | string
  | number
  | boolean
  | AttributeValue[]
  | { [key: string]: AttributeValue }
  | undefined;

export interface ExportedSpan {
  file: string;
  service: string;
  scope: string | undefined;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  status: { code?: number; message?: string } | undefined;
  attributes: Record<string, AttributeValue>;
  links: { traceId: string; spanId: string; attributes: Record<string, AttributeValue> }[];
  /** The span as it appears in the OTLP JSON. */
  raw: Record<string, unknown> & { events?: { name: string; attributes?: unknown[] }[] };
}

export interface ExportedLogRecord {
  file: string;
  service: string;
  scope: string | undefined;
  traceId: string | undefined;
  spanId: string | undefined;
  eventName: string | undefined;
  body: AttributeValue;
  attributes: Record<string, AttributeValue>;
}

export interface JsonWebKeySet {
  keys: (Record<string, unknown> & { kid?: string })[];
}

export declare function otlpValue(value: unknown): AttributeValue;
export declare function otlpAttributes(list?: unknown[]): Record<string, AttributeValue>;
export declare function readOtlpFiles(files: string[]): { spans: ExportedSpan[]; logRecords: ExportedLogRecord[] };
export declare function exportFiles(exportDir: string): string[];
export declare function readJwksDir(jwksDir: string): { files: string[]; jwks: JsonWebKeySet };

export interface CollectedExport {
  files: string[];
  spans: ExportedSpan[];
  logRecords: ExportedLogRecord[];
  tokenRecords: ExportedLogRecord[];
  /** Compact tokens, deduplicated: log record bodies first, then `ect.token` span attributes. */
  tokens: string[];
  jwksDir: string;
  jwksFiles: string[];
  jwks: JsonWebKeySet;
}
export declare function collectExport(
  handle: { exportDir: string | undefined; jwksDir?: string } | string,
): CollectedExport;

export declare function ectDagVerify(options: {
  files: string[];
  jwksDir: string;
  json?: boolean;
  scratchDir?: string;
  tokens?: string[];
  jwks?: JsonWebKeySet;
}): { status: number | null; stdout: string; stderr: string; args: string[]; fallback?: string };
