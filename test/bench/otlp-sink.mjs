// A local OTLP/HTTP receiver for otel.bench.mjs, run as its own process so that what the services
// export costs them what it costs against a real Collector (serialisation, the HTTP client, the
// socket writes), while the receiving side's CPU is kept apart from theirs.
//
//   node test/bench/otlp-sink.mjs        prints `LISTENING <port>` once it accepts on 127.0.0.1
//
//   POST [/<name>]/v1/traces, /v1/logs, /v1/metrics   (a service whose OTEL_EXPORTER_OTLP_ENDPOINT
//                ends in /<name> sends to /<name>/v1/…, so bytes are told apart per service)
//                reads and discards the body; answers 200 with an
//                empty Export*ServiceResponse: no bytes for application/x-protobuf (an empty
//                protobuf message), `{}` for application/json.
//   GET /stats   JSON: requests and bytes (as received) per name and signal, and per service.name the last
//                cumulative value of each `ect.*` counter and of the HTTP server request count,
//                read from metric exports sent as OTLP/JSON (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=
//                http/json). Trace and log bodies are never decoded: that is a Collector's work,
//                not the service's.
import http from 'node:http';
import { gunzipSync } from 'node:zlib';

const byPath = {};
const services = {};
let metricExports = 0;

/** Latest cumulative values of the metrics the bench needs, per service.name. */
function readMetrics(body) {
  const request = JSON.parse(body);
  for (const resourceMetrics of request.resourceMetrics ?? []) {
    const name =
      resourceMetrics.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? 'unknown';
    services[name] ??= { counters: {}, httpServerRequests: undefined, exports: 0 };
    const service = services[name];
    service.exports++;
    service.lastExportAt = Date.now();
    for (const scope of resourceMetrics.scopeMetrics ?? []) {
      for (const metric of scope.metrics ?? []) {
        if (metric.name.startsWith('ect.') && metric.sum !== undefined) {
          let total = 0;
          for (const point of metric.sum.dataPoints ?? []) total += Number(point.asInt ?? point.asDouble ?? 0);
          service.counters[metric.name.slice(4)] = total;
        } else if (/^http\.server\.(request\.)?duration$/.test(metric.name) && metric.histogram !== undefined) {
          let count = 0;
          for (const point of metric.histogram.dataPoints ?? []) count += Number(point.count ?? 0);
          // Old and stable semantic conventions may both be emitted: keep one.
          service.httpServerRequests = Math.max(service.httpServerRequests ?? 0, count);
        }
      }
    }
  }
}

const server = http.createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/stats') {
    const body = JSON.stringify({ byPath, services, metricExports, cpu: process.cpuUsage() });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
    return;
  }
  const path = request.url ?? '';
  const type = request.headers['content-type'] ?? '';
  const json = type.includes('json');
  const isMetrics = path.endsWith('/v1/metrics');
  const chunks = [];
  let bytes = 0;
  request.on('data', (chunk) => {
    bytes += chunk.length;
    if (isMetrics && json) chunks.push(chunk);
  });
  request.on('end', () => {
    const match = /^(?:\/([^/]+))?\/v1\/(traces|logs|metrics)$/.exec(path);
    const [name, signal] = match === null ? ['', path] : [match[1] ?? '', match[2]];
    byPath[name] ??= {};
    byPath[name][signal] ??= { requests: 0, bytes: 0, protobuf: 0, json: 0 };
    const entry = byPath[name][signal];
    entry.requests++;
    entry.bytes += bytes;
    entry[json ? 'json' : 'protobuf']++;
    if (isMetrics && json) {
      metricExports++;
      try {
        let body = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        readMetrics(body.toString('utf8'));
      } catch (error) {
        process.stderr.write(`otlp-sink: unreadable metrics export: ${error.message}\n`);
      }
    }
    const answer = json ? '{}' : '';
    response.writeHead(200, {
      'content-type': json ? 'application/json' : 'application/x-protobuf',
      'content-length': Buffer.byteLength(answer),
    });
    response.end(answer);
  });
  request.on('error', () => response.destroy());
});

server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`LISTENING ${server.address().port}\n`));
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.close(() => process.exit(0)));
