// The GenAI agent end to end: a real process with `node --import otel-ect/register`, asked over HTTP
// on 127.0.0.1. The service uses only GenAI semantic-convention attributes; the bridge must derive
// exec_act from them and hash the tool arguments/results and agent messages into inp_hash/out_hash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EctClaims } from '../../src/token/index.js';
import { type CollectedExport, collectExport } from '../helpers/export.js';
import {
  type AgentReply,
  GENAI_SERVICE,
  type GenAiAgent,
  invokeAgent,
  startGenAiAgent,
  stopGenAiAgent,
} from '../helpers/workflow.js';
import {
  checkSpansAndTokens,
  ect,
  READY_TIMEOUT_MS,
  runDir,
  SETUP_TIMEOUT_MS,
  sha256b64url,
  tokensOfSpans,
  type CheckedToken,
} from './helpers.js';

const run = runDir('genai');
let agent: GenAiAgent | undefined;
let reply: AgentReply;
let exported: CollectedExport;
let tokens: CheckedToken[] = [];

beforeAll(async () => {
  agent = await startGenAiAgent({ dir: run.dir, readyTimeoutMs: READY_TIMEOUT_MS });
  reply = await invokeAgent(agent, { question: 'Weather in Paris? Book a hotel.', city: 'Paris' });
  await stopGenAiAgent(agent);
  exported = await collectExport(agent);
  tokens = tokensOfSpans(exported);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (agent !== undefined) await stopGenAiAgent(agent).catch((error: unknown) => console.error(String(error)));
  run.remove();
}, 30_000);

const byAct = (execAct: string): EctClaims => {
  const found = tokens.filter((t) => t.claims.exec_act === execAct);
  expect(found, execAct).toHaveLength(1);
  return found[0]!.claims;
};

describe('GenAI agent: exec_act and content hashes from GenAI semantic conventions', () => {
  it('every span has a verifying token bound to it', async () => {
    const verified = await checkSpansAndTokens(exported);
    expect(verified).toHaveLength(5);
    expect(new Set(verified.map((t) => t.span.service))).toEqual(new Set([GENAI_SERVICE]));
  });

  it('exec_act is derived from gen_ai.operation.name and the agent / tool name', () => {
    expect(tokens.map((t) => t.claims.exec_act).sort()).toEqual(
      [
        'POST /invoke',
        'execute_tool:book_hotel',
        'execute_tool:get_exchange_rate',
        'execute_tool:get_weather',
        'invoke_agent:planner',
      ].sort(),
    );
    const spanOf = (act: string) => tokens.find((t) => t.claims.exec_act === act)!.span;
    expect(spanOf('invoke_agent:planner').name).toBe('invoke_agent planner');
    expect(spanOf('execute_tool:get_weather').name).toBe('execute_tool get_weather');
  });

  it('inp_hash / out_hash are base64url SHA-256 of the tool call arguments / result strings', () => {
    // The arguments the agent sends, written out here independently of the service.
    const expectedArguments: Record<string, string> = {
      get_weather: JSON.stringify({ city: 'Paris', unit: 'celsius' }),
      get_exchange_rate: JSON.stringify({ from: 'EUR', to: 'USD' }),
      book_hotel: JSON.stringify({ city: 'Paris', nights: 2, budget: 200 }),
    };
    expect(reply.toolCalls.map((c) => c.name).sort()).toEqual(Object.keys(expectedArguments).sort());
    for (const call of reply.toolCalls) {
      const claims = byAct(`execute_tool:${call.name}`);
      expect(call.arguments).toBe(expectedArguments[call.name]);
      expect(claims.inp_hash, call.name).toBe(sha256b64url(expectedArguments[call.name]!));
      expect(claims.inp_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(claims.out_hash, call.name).toBe(sha256b64url(call.result));
      // …and the exported span carries the very strings that were hashed.
      const span = tokens.find((t) => t.claims.jti === claims.jti)!.span;
      expect(span.attributes['gen_ai.tool.call.arguments']).toBe(call.arguments);
      expect(span.attributes['gen_ai.tool.call.result']).toBe(call.result);
    }
  });

  it('the invoke_agent token hashes gen_ai.input.messages / gen_ai.output.messages; the server span has no hashes', () => {
    const planner = byAct('invoke_agent:planner');
    expect(planner.inp_hash).toBe(sha256b64url(reply.input));
    expect(planner.out_hash).toBe(sha256b64url(reply.output));
    const server = byAct('POST /invoke');
    expect(server.inp_hash).toBeUndefined();
    expect(server.out_hash).toBeUndefined();
  });

  it('the DAG: parallel tools are roots, book_hotel fans in, the agent names book_hotel, the server names the agent', () => {
    const weather = byAct('execute_tool:get_weather');
    const rate = byAct('execute_tool:get_exchange_rate');
    const hotel = byAct('execute_tool:book_hotel');
    const planner = byAct('invoke_agent:planner');
    expect(weather.pred).toEqual([]);
    expect(rate.pred).toEqual([]);
    expect([...hotel.pred].sort()).toEqual([weather.jti, rate.jti].sort());
    expect(planner.pred).toEqual([hotel.jti]);
    expect(byAct('POST /invoke').pred).toEqual([planner.jti]);
  });

  it('`ect dag verify` over the export says valid (exit 0)', () => {
    const result = ect(['dag', 'verify', ...exported.files, '--jwks', exported.jwksDir, '--json']);
    expect(JSON.parse(result.stdout)).toMatchObject({
      verdict: 'valid',
      tokens: 5,
      edges: 4,
      failures: [],
      violations: [],
      missing: [],
    });
    expect(result.status).toBe(0);
  });
});
