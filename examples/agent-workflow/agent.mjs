// One agent of the financial workflow: a plain node:http service. It has no ECT code at all — run it
// with `node --import otel-ect/register agent.mjs` and the bridge signs a token for every span.
//
// Environment:
//   AGENT_ACTION   the agent's task, e.g. fetch_data (also the name of the span doing the work)
//   PORT           port to listen on (127.0.0.1); 0 = any free port
//   AGENT_WORK_MS  how long the fake work takes, ms (default 5)
// Prints "… listening on http://127.0.0.1:<port>" once it listens.
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { readJson } from './http-json.mjs';

const action = process.env.AGENT_ACTION;
if (!action) {
  console.error('agent: AGENT_ACTION is required');
  process.exit(2);
}
const workMs = Number(process.env.AGENT_WORK_MS ?? 5);
const tracer = trace.getTracer('agent-workflow');

/** The agent's own work, in a span named after the task (its token's exec_act). */
async function work(input) {
  return tracer.startActiveSpan(action, async (span) => {
    try {
      span.setAttribute('agent.action', action);
      await sleep(workMs);
      return fakeResult(action, input);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

function fakeResult(name, input) {
  const symbol = typeof input?.symbol === 'string' ? input.symbol : 'ACME';
  switch (name) {
    case 'fetch_data':
      return { symbol, prices: [101.2, 102.8, 99.7, 103.1], volume: 125000 };
    case 'analyze_risk':
      return { symbol, var95: 0.031, risk: 'moderate' };
    case 'check_credit':
      return { counterparty: 'Example Bank', score: 742, approved: true };
    case 'verify_compliance':
      return { symbol, compliant: true, rules: ['MiFID-II best execution', 'position limit'] };
    case 'execute_trade':
      return { symbol, orderId: `ord-${Date.now().toString(36)}`, filled: 100, price: 102.95 };
    default:
      return { ok: true };
  }
}

const server = createServer(async (req, res) => {
  // A low-cardinality route on the server span (plain OTel semantic conventions; the bridge uses it
  // for the server token's exec_act, e.g. "POST /fetch_data").
  const span = trace.getActiveSpan();
  if (req.method !== 'POST' || req.url !== `/${action}`) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    return;
  }
  span?.setAttribute('http.route', `/${action}`);
  span?.updateName(`POST /${action}`);
  try {
    const input = await readJson(req);
    const result = await work(input);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ agent: action, result }));
  } catch (error) {
    res
      .writeHead(500, { 'content-type': 'application/json' })
      .end(JSON.stringify({ agent: action, error: String(error) }));
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`agent ${action} listening on http://127.0.0.1:${port}`);
});
