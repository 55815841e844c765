import type { Attributes } from '@opentelemetry/api';

import { ATTR, GEN_AI_OPERATION } from '../../base/conventions.js';

const GEN_AI_TARGET: Record<string, readonly string[]> = {
  execute_tool: ['gen_ai.tool.name'],
  invoke_agent: ['gen_ai.agent.name', 'gen_ai.agent.id'],
  create_agent: ['gen_ai.agent.name', 'gen_ai.agent.id'],
};
const GEN_AI_MODEL = ['gen_ai.request.model', 'gen_ai.response.model'];

function str(attributes: Attributes, key: string): string | undefined {
  const value = attributes[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The `exec_act` of a span: the explicit `ect.exec_act` attribute; else the GenAI operation and its
 * target (`execute_tool:get_weather`, `invoke_agent:planner`, `chat:gpt-4o`); else HTTP
 * `{method} {route}` (server), `{method} {url.template}` or `{method} {host:port}{path}` (client);
 * else the span name.
 *
 * @example deriveExecAct('x', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_weather' }) // 'execute_tool:get_weather'
 */
export function deriveExecAct(name: string, attributes: Attributes): string {
  const explicit = str(attributes, ATTR.execAct);
  if (explicit !== undefined) return explicit;
  const operation = str(attributes, GEN_AI_OPERATION);
  if (operation !== undefined) {
    for (const key of GEN_AI_TARGET[operation] ?? GEN_AI_MODEL) {
      const target = str(attributes, key);
      if (target !== undefined) return `${operation}:${target}`;
    }
    return operation;
  }
  const method = str(attributes, 'http.request.method') ?? str(attributes, 'http.method');
  if (method !== undefined) {
    const target = str(attributes, 'http.route') ?? str(attributes, 'url.template') ?? clientTarget(attributes);
    if (target !== undefined) return `${method} ${target}`;
  }
  return name;
}

// A client span has no route; its peer and path say which task it called. (exec_act is a claim,
// not a metric label, so a concrete path costs nothing.)
function clientTarget(attributes: Attributes): string | undefined {
  const host = str(attributes, 'server.address');
  const path = str(attributes, 'url.path');
  if (host === undefined || path === undefined) return undefined;
  const port = attributes['server.port'];
  return `${host}${port === undefined ? '' : `:${String(port)}`}${path}`;
}
