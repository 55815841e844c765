// A GenAI-style agent service with no ECT code: `POST /invoke` runs a "planner" agent that calls
// three tools, recorded with the OpenTelemetry GenAI semantic conventions only:
//
//   invoke_agent planner                 gen_ai.operation.name=invoke_agent, gen_ai.agent.name=planner,
//   │                                    gen_ai.input.messages / gen_ai.output.messages (JSON strings)
//   ├─ execute_tool get_weather      ┐   gen_ai.operation.name=execute_tool, gen_ai.tool.name=…,
//   ├─ execute_tool get_exchange_rate┘   gen_ai.tool.call.arguments / gen_ai.tool.call.result (JSON)
//   └─ execute_tool book_hotel           (after both: it uses their results)
//
// Run it with `node --import otel-ect/register agent.mjs`: the bridge derives each token's exec_act
// from these attributes (`invoke_agent:planner`, `execute_tool:get_weather`, …) and hashes the
// arguments/input into inp_hash and the results/output into out_hash. The "LLM" is a fixed plan.
//
// Environment: PORT (127.0.0.1; 0 = any free port). Prints "… listening on http://127.0.0.1:<port>".
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('genai-agent');

const TOOLS = {
  async get_weather({ city, unit }) {
    await sleep(3);
    return { city, unit, temperature: unit === 'fahrenheit' ? 64 : 18, conditions: 'light rain' };
  },
  async get_exchange_rate({ from, to }) {
    await sleep(3);
    return { from, to, rate: 1.08 };
  },
  async book_hotel({ city, nights, budget }) {
    await sleep(3);
    return {
      city,
      nights,
      hotel: 'Hôtel Example',
      price: Math.min(budget, 180),
      currency: 'EUR',
      confirmation: 'HX-1042',
    };
  },
};

/** One tool call, in an `execute_tool {name}` span with the GenAI tool attributes. */
function executeTool(name, args) {
  const argumentsJson = JSON.stringify(args);
  return tracer.startActiveSpan(
    `execute_tool ${name}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': name,
        'gen_ai.tool.type': 'function',
        'gen_ai.tool.call.id': `call_${name}`,
        'gen_ai.tool.call.arguments': argumentsJson,
      },
    },
    async (span) => {
      try {
        const result = await TOOLS[name](args);
        const resultJson = JSON.stringify(result);
        span.setAttribute('gen_ai.tool.call.result', resultJson);
        return { name, arguments: argumentsJson, result: resultJson };
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        span.setAttribute('error.type', error?.name ?? 'Error');
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The agent: a fixed plan standing in for the model's tool choices. */
function invokeAgent(question, city) {
  const input = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: question }] }]);
  return tracer.startActiveSpan(
    'invoke_agent planner',
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': 'planner',
        'gen_ai.agent.id': 'planner-v1',
        'gen_ai.provider.name': 'example',
        'gen_ai.input.messages': input,
      },
    },
    async (span) => {
      try {
        const [weather, rate] = await Promise.all([
          executeTool('get_weather', { city, unit: 'celsius' }),
          executeTool('get_exchange_rate', { from: 'EUR', to: 'USD' }),
        ]);
        const booking = await executeTool('book_hotel', { city, nights: 2, budget: 200 });
        const w = JSON.parse(weather.result);
        const b = JSON.parse(booking.result);
        const answer = `${city}: ${w.temperature}°C, ${w.conditions}. Booked ${b.hotel} for ${b.nights} nights at ${b.price} ${b.currency} (≈ ${(b.price * JSON.parse(rate.result).rate).toFixed(0)} USD), confirmation ${b.confirmation}.`;
        const output = JSON.stringify([
          { role: 'assistant', parts: [{ type: 'text', content: answer }], finish_reason: 'stop' },
        ]);
        span.setAttribute('gen_ai.output.messages', output);
        return { answer, input, output, toolCalls: [weather, rate, booking], traceId: span.spanContext().traceId };
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
}

const server = createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url !== '/invoke') {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    return;
  }
  const span = trace.getActiveSpan();
  span?.setAttribute('http.route', '/invoke');
  span?.updateName('POST /invoke');
  try {
    const { question = 'What is the weather in Paris, and book me a hotel there?', city = 'Paris' } =
      await readJson(req);
    const result = await invokeAgent(String(question), String(city));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  } catch (error) {
    res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`genai-agent listening on http://127.0.0.1:${port}`);
});
