// The orchestrator of the financial workflow: a plain node:http service with no ECT code. `POST /run`
// calls the five agents over HTTP with fetch: fetch_data, then analyze_risk and check_credit in
// parallel, then verify_compliance, then execute_trade, and answers with a JSON summary.
//
// Environment:
//   PORT        port to listen on (127.0.0.1); 0 = any free port
//   AGENT_URLS  JSON object: action → base URL, e.g. {"fetch_data":"http://127.0.0.1:4001",...}
// Prints "… listening on http://127.0.0.1:<port>" once it listens.
import { createServer } from 'node:http';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { readJson } from './http-json.mjs';

const ACTIONS = ['fetch_data', 'analyze_risk', 'check_credit', 'verify_compliance', 'execute_trade'];
const agents = JSON.parse(process.env.AGENT_URLS ?? '{}');
for (const action of ACTIONS) {
  if (typeof agents[action] !== 'string') {
    console.error(`orchestrator: AGENT_URLS has no URL for ${action}`);
    process.exit(2);
  }
}
const tracer = trace.getTracer('agent-workflow');

async function call(action, input) {
  const response = await fetch(`${agents[action]}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${action} answered ${response.status}: ${JSON.stringify(body)}`);
  return body.result;
}

/** The workflow itself, in one span named `workflow` (the orchestrator's own task). */
async function runWorkflow(input) {
  return tracer.startActiveSpan('workflow', async (span) => {
    try {
      const started = Date.now();
      const market = await call('fetch_data', input);
      const [risk, credit] = await Promise.all([call('analyze_risk', market), call('check_credit', market)]);
      const compliance = await call('verify_compliance', { market, risk, credit });
      const trade = await call('execute_trade', { market, compliance });
      const traceId = span.spanContext().traceId;
      return {
        traceId,
        ms: Date.now() - started,
        steps: {
          fetch_data: market,
          analyze_risk: risk,
          check_credit: credit,
          verify_compliance: compliance,
          execute_trade: trade,
        },
      };
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

const server = createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url !== '/run') {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    return;
  }
  const span = trace.getActiveSpan();
  span?.setAttribute('http.route', '/run');
  span?.updateName('POST /run');
  try {
    const summary = await runWorkflow(await readJson(req));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(summary));
  } catch (error) {
    res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`orchestrator listening on http://127.0.0.1:${port}`);
});
