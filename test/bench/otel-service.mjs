// The service under load in otel.bench.mjs: a small node:http JSON service, run as a child process
// under `node --import otel-ect/register` or the official
// `node --import @opentelemetry/auto-instrumentations-node/register`. It makes one tiny child span
// per request, like a handler that does a unit of work, and prints `LISTENING <port>` once it
// accepts connections on 127.0.0.1.
//
//   GET /        the measured route: a child span (doing $BENCH_SERVICE_WORK_ITERATIONS loop iterations
//                of CPU work, default 0), then a small JSON body. With $BENCH_UPSTREAM set (the
//                client of the two-service chain) the child span instead calls GET $BENCH_UPSTREAM/
//                with fetch (instrumented: a CLIENT span, trace context and tokens propagated) and
//                answers with what it got.
//   GET /gc      (with --expose-gc) runs a full collection and reports process.memoryUsage()
//   GET /check   no child span; reports what the active (server) span looks like, for the bench's
//                sanity checks: is it recording, its ect.jti, and ect.incoming.rejected
import http from 'node:http';
import { trace } from '@opentelemetry/api';

const tracer = trace.getTracer('otel-ect-bench-service');
// Optional CPU work per request (a fixed number of loop iterations, calibrated by the bench from
// BENCH_SERVICE_WORK_US), to see the bridge's share for heavier handlers.
const workIterations = Number(process.env.BENCH_SERVICE_WORK_ITERATIONS ?? 0);
const upstream = process.env.BENCH_UPSTREAM;
let sink = 0;

/** The same loop the bench calibrates; deterministic CPU work, unlike a wall-clock busy wait. */
function work(iterations) {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}
let served = 0;

function handle(response) {
  tracer.startActiveSpan('load_order', { attributes: { 'app.order.id': 42, 'app.tenant': 'bench' } }, (span) => {
    const order = {
      id: 42,
      items: [
        { sku: 'A-1', qty: 2 },
        { sku: 'B-7', qty: 1 },
      ],
      served: ++served,
      sink,
    };
    span.setAttribute('app.order.items', order.items.length);
    if (workIterations > 0) sink ^= work(workIterations);
    span.end();
    send(response, order);
  });
}

function handleViaUpstream(response) {
  tracer.startActiveSpan('call_upstream', async (span) => {
    try {
      const res = await fetch(`${upstream}/`, { signal: AbortSignal.timeout(10_000) });
      const order = await res.json();
      span.setAttribute('app.order.items', order.items?.length ?? 0);
      send(response, { via: 'upstream', status: res.status, order }, res.ok ? 200 : 502);
    } catch (error) {
      send(response, { error: String(error) }, 502);
    } finally {
      span.end();
    }
  });
}

const server = http.createServer((request, response) => {
  if (request.url === '/gc') {
    // For hostile.bench.mjs under --expose-gc: memory after a full collection, which (unlike RSS)
    // tells a leak from a heap V8 has not yet bothered to shrink.
    globalThis.gc?.();
    send(response, { collected: typeof globalThis.gc === 'function', ...process.memoryUsage() });
    return;
  }
  if (request.url === '/check') {
    const span = trace.getActiveSpan();
    const attributes = span?.attributes ?? {};
    send(response, {
      recording: span?.isRecording() ?? false,
      jti: attributes['ect.jti'] ?? null,
      rejected: attributes['ect.incoming.rejected'] ?? 0,
    });
    return;
  }
  if (upstream === undefined) handle(response);
  else handleViaUpstream(response);
});

function send(response, value, status = 200) {
  const body = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`LISTENING ${server.address().port}\n`));
