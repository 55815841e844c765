// Hostile input and failing dependencies, measured (not a timed test: it prints figures and the
// targets they meet or miss). The service is otel-service.mjs under `node --import otel-ect/register`
// (ECT_MODE=record unless BENCH_HOSTILE_MODE says otherwise), loaded by autocannon on 127.0.0.1.
//
//   1. input: requests whose Execution-Context is hostile (a head at Node's 16 KiB limit, thousands
//      of empty comma items, 100 tokens, a deeply nested `ect_ext`, a `pred` of 10,000 entries, …)
//      against a normal request: service CPU per request (target ≤ 2× normal) and whether it keeps
//      answering. The service runs with --max-http-header-size=131072, so the cases larger than
//      Node's default 16 KiB reach the bridge instead of being refused by Node with 431.
//   2. jwks: ECT_JWKS_URL pointing at a server that hangs, or answers 50 MB: how long a fetch may
//      wait, the service's RSS (now and peak), fetches made, failures counted (ect.jwks.fetch_failed).
//   3. otlp: the OTLP endpoint up (a sink that answers 200) and then down (connection refused), each
//      for BENCH_OTLP_SECONDS under load: RSS each second, heap and RSS after a full collection
//      before and after the run (the service runs with --expose-gc; GET /gc), throughput down ÷ up
//      (target ≥ 0.90), export failures and drops as the bridge counts them.
// Counters are read from the service's own Prometheus endpoint (OTEL_METRICS_EXPORTER=prometheus).
//
// npm run build && node test/bench/hostile.bench.mjs [input] [jwks] [otlp]   (default: all three)
// Environment: BENCH_HOSTILE_SECONDS (4: load per input case), BENCH_HOSTILE_CONNECTIONS (10),
// BENCH_JWKS_SECONDS (15), BENCH_JWKS_MB (50), BENCH_OTLP_SECONDS (60), BENCH_OTLP_STATES (up,down),
// BENCH_HOSTILE_MODE (record).
import { sign as cryptoSign, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { generateSigningKey, publicJwkOf } from '../../dist/keys/index.js';
import { EctSigner, newClaims } from '../../dist/token/index.js';
import { cpuSecondsOf, memoryOf, startService, stopService } from './service-process.mjs';

const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const SECONDS = env('BENCH_HOSTILE_SECONDS', 4);
const CONNECTIONS = env('BENCH_HOSTILE_CONNECTIONS', 10);
const MODE = process.env.BENCH_HOSTILE_MODE ?? 'record';
const ISSUER = 'spiffe://example.org/service/bench-client';
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Tokens: the trusted caller's key signs good tokens through EctSigner, and hostile ones by hand
// (EctSigner refuses to make them), so they reach the checks after the signature.

const home = mkdtempSync(join(tmpdir(), 'otel-ect-hostile-'));
mkdirSync(join(home, 'jwks'), { recursive: true });
const clientKey = generateSigningKey('ES256');
writeFileSync(join(home, 'jwks', 'bench-client.json'), JSON.stringify({ keys: [publicJwkOf(clientKey)] }));
const signer = new EctSigner(clientKey);
const goodToken = () =>
  signer.sign(newClaims({ iss: ISSUER, aud: 'spiffe://example.org', exec_act: 'GET /', wid: randomUUID() }));
const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
function signRaw(payload, key = clientKey) {
  const input = `${b64({ alg: 'ES256', typ: 'exec+jwt', kid: key.kid })}.${b64(payload)}`;
  const signature = cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
function claims(extra) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: 'spiffe://example.org',
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    exec_act: 'GET /',
    pred: [],
    wid: randomUUID(),
    ...extra,
  };
}
/** Claims JSON with `ect_ext` = `{"n":{"n":…}}` `depth` levels deep (too deep for JSON.stringify). */
const nestedExt = (depth) =>
  `${JSON.stringify(claims()).slice(0, -1)},"ect_ext":${'{"n":'.repeat(depth)}1${'}'.repeat(depth)}}`;
/** The deepest `ect_ext` whose signed token stays within the 4096-byte token limit. */
function deepestExtToken() {
  let depth = 64;
  while (signRaw(nestedExt(depth * 2)).length <= 4096) depth *= 2;
  let low = depth;
  let high = depth * 2;
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (signRaw(nestedExt(mid)).length <= 4096) low = mid;
    else high = mid;
  }
  return { token: signRaw(nestedExt(low)), depth: low };
}

// Each request its own caller span (W3C parent-id): the same token from the same caller span is a replay.
const tracePrefix = randomBytes(8).toString('hex');
let sequence = 0;
const traceparent = () => {
  const id = (++sequence).toString(16).padStart(16, '0');
  return `00-${tracePrefix}${id}-${id}-01`;
};

// ---------------------------------------------------------------------------------------------
// Load and observation

/** autocannon against `GET /` for `seconds`, with `headers()` set on every request. */
function load(port, seconds, headers) {
  return new Promise((resolveRun, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/`,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: 'GET',
            path: '/',
            setupRequest: (req) => {
              Object.assign(req.headers, headers(), { traceparent: traceparent() });
              return req;
            },
          },
        ],
      },
      (error, result) => {
        clearTimeout(watchdog);
        if (error) reject(error);
        else resolveRun(result);
      },
    );
    const watchdog = setTimeout(() => instance.stop(), (seconds + 30) * 1000);
  });
}

/** Loads the service and reads its CPU over the run: µs of service CPU per request. */
async function measured(service, seconds, headers) {
  const cpu0 = cpuSecondsOf(service.child.pid);
  const result = await load(service.port, seconds, headers);
  const cpu = cpuSecondsOf(service.child.pid) - cpu0;
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p99: result.latency.p99,
    cpuPerReq: (cpu * 1e6) / Math.max(1, result.requests.total),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** `GET /check` with `headers`: status, and how many incoming tokens the server span rejected. */
async function check(service, headers = {}) {
  try {
    const response = await fetch(`http://127.0.0.1:${service.port}/check`, {
      headers: { traceparent: traceparent(), ...headers },
      signal: AbortSignal.timeout(5000),
    });
    const body = await response.json();
    return { status: response.status, rejected: body.rejected ?? 0, code: body.code };
  } catch (error) {
    return { status: 0, rejected: Number.NaN, code: error.name };
  }
}

/** Heap used and RSS after a full collection in the service (GET /gc, --expose-gc), MiB. */
async function collected(service) {
  const body = await (
    await fetch(`http://127.0.0.1:${service.port}/gc`, { signal: AbortSignal.timeout(10_000) })
  ).json();
  if (!body.collected) throw new Error('the service was not started with --expose-gc');
  const mib = (bytes) => bytes / 2 ** 20;
  return { heap: mib(body.heapUsed), heapTotal: mib(body.heapTotal), rss: mib(body.rss), external: mib(body.external) };
}

/** The service's `ect.*` counters from its Prometheus endpoint (name without `ect_` and `_total`). */
async function counters(service) {
  const text = await (await fetch(`http://127.0.0.1:${service.promPort}/metrics`)).text();
  const values = {};
  for (const line of text.split('\n')) {
    const match = /^ect_([a-z_]+?)(?:_total)?(?:\{[^}]*\})? ([0-9.e+]+)$/.exec(line);
    if (match) values[match[1]] = Number(match[2]);
  }
  return values;
}

async function freePort() {
  const server = createNetServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function start(id, extraEnv = {}, nodeArgs = []) {
  const promPort = await freePort();
  const service = await startService(
    {
      id,
      name: id,
      preload: 'otel-ect/register',
      env: {
        ECT_MODE: MODE,
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(promPort),
        ...extraEnv,
      },
    },
    home,
    { nodeArgs },
  );
  return { ...service, promPort };
}

// ---------------------------------------------------------------------------------------------
// 1. Hostile input

async function inputBench() {
  const service = await start('hostile-input', {}, ['--max-http-header-size=131072']);
  try {
    const good = goodToken();
    // Tokens never seen before, one per request (more than the 4096 verified tokens the propagator
    // keeps): each costs a verification.
    const fresh = Array.from({ length: 20_000 }, goodToken);
    let next = 0;
    const deep = deepestExtToken();
    const hundred = Array.from({ length: 100 }, goodToken);
    const pred10k = signRaw(claims({ pred: Array.from({ length: 10_000 }, (_, i) => String(i)) }));
    const overDeep = signRaw(nestedExt(10_000));
    // A head just under Node's default 16,384-byte limit: the token plus one filler field.
    const headAt16k = { 'execution-context': good, 'x-filler': 'f'.repeat(16_384 - 600 - good.length) };
    const cases = [
      {
        id: 'normal',
        what: 'one valid token (seen before: verified once, then cached)',
        headers: () => ({ 'execution-context': good }),
      },
      {
        id: 'fresh',
        what: 'one valid token never seen before (a verification each)',
        headers: () => ({ 'execution-context': fresh[next++ % fresh.length] }),
      },
      { id: 'head-16k', what: 'valid token + filler: a head at Node 16 KiB limit', headers: () => headAt16k },
      {
        id: 'ec-16k',
        what: 'Execution-Context of 16,000 bytes of base64url junk',
        headers: () => ({ 'execution-context': 'A'.repeat(16_000) }),
      },
      {
        id: 'commas-7k',
        what: 'valid token + 7,000 empty comma items (under the 8 KiB field limit)',
        headers: () => ({ 'execution-context': `${good}${','.repeat(7000)}` }),
      },
      {
        id: 'commas-60k',
        what: '60,000 empty comma items',
        headers: () => ({ 'execution-context': ','.repeat(60_000) }),
      },
      {
        id: '100-tokens',
        what: '100 valid tokens, one comma list',
        headers: () => ({ 'execution-context': hundred.join(', ') }),
      },
      {
        id: 'deep-ext',
        what: `signed token, ect_ext nested ${deep.depth} deep (the most that fits 4096 bytes)`,
        headers: () => ({ 'execution-context': deep.token }),
      },
      {
        id: 'deep-ext-10k',
        what: 'signed token, ect_ext nested 10,000 deep',
        headers: () => ({ 'execution-context': overDeep }),
      },
      {
        id: 'pred-10k',
        what: 'signed token, pred of 10,000 entries',
        headers: () => ({ 'execution-context': pred10k }),
      },
      {
        id: 'normal-again',
        what: 'one valid token, again (drift check)',
        headers: () => ({ 'execution-context': good }),
      },
    ];
    await load(service.port, 2, cases[0].headers); // warm-up
    const rows = [];
    for (const c of cases) {
      const headers = c.headers();
      const headBytes = Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
      const probe = await check(service, headers);
      await load(service.port, 1, c.headers);
      const m = await measured(service, SECONDS, c.headers);
      const after = await check(service, { 'execution-context': goodToken() });
      rows.push({ ...c, ...m, headBytes, probe, after });
      process.stderr.write(`  ${c.id}: ${int(m.rps)} req/s, ${int(m.cpuPerReq)} µs CPU/req\n`);
    }
    const base = rows.find((r) => r.id === 'normal').cpuPerReq;
    const freshBase = rows.find((r) => r.id === 'fresh').cpuPerReq;
    console.log(
      `\n1. Hostile Execution-Context input: ECT_MODE=${MODE}, node:http service (otel-service.mjs), autocannon ${CONNECTIONS} connections, ${SECONDS} s per case after 1 s warm-up; ${availableParallelism()} cores shared with the load generator.`,
    );
    console.log(
      'CPU = service utime+stime (/proc) ÷ requests. "probe" = GET /check with the case headers: status and ect.incoming.rejected on the server span. "after" = GET /check with a new valid token right after the case.',
    );
    console.log(
      '| case | what | field bytes | req/s | p99 ms | service CPU µs/req | ratio to normal | ≤ 2× | ratio to fresh | non-2xx | errors | probe | after |',
    );
    console.log('|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|');
    for (const r of rows) {
      const ratio = r.cpuPerReq / base;
      console.log(
        `| ${r.id} | ${r.what} | ${int(r.headBytes)} | ${int(r.rps)} | ${r.p99} | ${int(r.cpuPerReq)} | ${fmt(ratio)}× | ${ratio <= 2 ? 'met' : 'MISSED'} | ${fmt(r.cpuPerReq / freshBase)}× | ${r.non2xx} | ${r.errors} | ${r.probe.status}, rejected ${r.probe.rejected} | ${r.after.status}, rejected ${r.after.rejected} |`,
      );
    }
    const c = await counters(service);
    console.log(
      `Counters: incoming.verified ${c.incoming_verified}, incoming.rejected ${c.incoming_rejected}, hooks.failed ${c.hooks_failed}; service alive: ${service.child.exitCode === null ? 'yes' : 'NO'}.`,
    );
  } finally {
    await stopService(service);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. A remote JWK Set that hangs or is huge

async function jwksServer(kind, megabytes) {
  const stats = { fetches: 0, bytesSent: 0, waits: [] };
  const chunk = Buffer.alloc(1 << 20, 'a');
  const server = createHttpServer((request, response) => {
    stats.fetches++;
    const opened = Date.now();
    request.socket.once('close', () => stats.waits.push(Date.now() - opened));
    if (kind === 'hang') return; // never answers
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': megabytes * (1 << 20) + 22 });
    response.write('{"keys":[],"junk":"');
    stats.bytesSent += 19;
    let sent = 0;
    const pump = () => {
      while (sent < megabytes) {
        sent++;
        stats.bytesSent += chunk.length;
        if (!response.write(chunk)) return response.once('drain', pump);
      }
      response.end('"}\n');
    };
    response.on('error', () => {});
    pump();
  });
  server.keepAliveTimeout = 1;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/jwks.json`, stats, server };
}

async function jwksBench() {
  const seconds = env('BENCH_JWKS_SECONDS', 15);
  const megabytes = env('BENCH_JWKS_MB', 50);
  const rows = [];
  for (const kind of ['hang', 'huge']) {
    const remote = await jwksServer(kind, megabytes);
    const service = await start(`jwks-${kind}`, { ECT_JWKS_URL: remote.url });
    try {
      const rss0 = memoryOf(service.child.pid).rss;
      // Tokens from a key the remote set never names: each request asks for an unknown kid.
      const token = goodToken();
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, memoryOf(service.child.pid).rss)), 200);
      const m = await measured(service, seconds, () => ({ 'execution-context': token }));
      clearInterval(sampler);
      await sleep(500);
      const mem = memoryOf(service.child.pid);
      const c = await counters(service);
      const after = await check(service, { 'execution-context': goodToken() });
      rows.push({ kind, m, rss0, mem, peak, c, after, remote: remote.stats });
      process.stderr.write(`  jwks ${kind}: ${int(m.rps)} req/s, ${remote.stats.fetches} fetches\n`);
    } finally {
      await stopService(service);
      remote.server.closeAllConnections();
      remote.server.close();
    }
  }
  console.log(
    `\n2. ECT_JWKS_URL that hangs, or answers ${megabytes} MB: ${seconds} s of load, every request carrying a token whose kid the remote set lacks (each asks for a refresh); RSS in MiB.`,
  );
  console.log(
    '| remote | req/s | p99 ms | service CPU µs/req | non-2xx | errors | fetches started | longest fetch held open, ms | bytes the remote sent | RSS before | RSS peak (sampled) | RSS after | ect.jwks.fetch_failed | after |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    console.log(
      `| ${r.kind} | ${int(r.m.rps)} | ${r.m.p99} | ${int(r.m.cpuPerReq)} | ${r.m.non2xx} | ${r.m.errors} | ${r.remote.fetches} | ${int(Math.max(0, ...r.remote.waits))} | ${int(r.remote.bytesSent)} | ${fmt(r.rss0, 0)} | ${fmt(r.peak, 0)} | ${fmt(r.mem.rss, 0)} | ${r.c.jwks_fetch_failed ?? 'not counted'} | ${r.after.status} |`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// 3. The OTLP endpoint down under load

async function otlpSink() {
  const stats = { requests: 0, bytes: 0 };
  const server = createHttpServer((request, response) => {
    stats.requests++;
    request.on('data', (d) => (stats.bytes += d.length));
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/x-protobuf' });
      response.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stats, server };
}

async function otlpBench() {
  const seconds = env('BENCH_OTLP_SECONDS', 60);
  const sink = await otlpSink();
  const rows = [];
  try {
    for (const state of (process.env.BENCH_OTLP_STATES ?? 'up,down').split(',')) {
      const endpoint = state === 'up' ? sink.url : `http://127.0.0.1:${await freePort()}`;
      const service = await start(
        `otlp-${state}`,
        { OTEL_TRACES_EXPORTER: 'otlp', OTEL_LOGS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
        ['--expose-gc'],
      );
      try {
        const token = goodToken();
        const headers = () => ({ 'execution-context': token });
        await load(service.port, 3, headers); // warm-up
        const collectedBefore = await collected(service);
        const samples = [];
        const sampler = setInterval(() => samples.push(memoryOf(service.child.pid).rss), 1000);
        // Every 30 s, memory after a full collection: levelling off means bounded, rising means a leak.
        const series = [];
        const started = Date.now();
        const gcSampler = setInterval(
          () =>
            void collected(service).then(
              (m) => series.push({ t: Math.round((Date.now() - started) / 1000), ...m }),
              () => {},
            ),
          30_000,
        );
        const sinkBefore = { ...sink.stats };
        const m = await measured(service, seconds, headers);
        clearInterval(sampler);
        clearInterval(gcSampler);
        const collectedAfter = await collected(service);
        const c = await counters(service);
        const after = await check(service, { 'execution-context': goodToken() });
        rows.push({
          state,
          collectedBefore,
          collectedAfter,
          series,
          m,
          samples,
          c,
          after,
          sink: { requests: sink.stats.requests - sinkBefore.requests, bytes: sink.stats.bytes - sinkBefore.bytes },
        });
        process.stderr.write(`  otlp ${state}: ${int(m.rps)} req/s\n`);
      } finally {
        await stopService(service);
      }
    }
  } finally {
    sink.server.close();
  }
  const q = (values, p) =>
    [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];
  console.log(
    `\n3. OTLP endpoint up (a sink answering 200) and down (connection refused), ${seconds} s of load each after 3 s warm-up, traces and token logs over OTLP http/protobuf; RSS sampled each second, MiB.`,
  );
  console.log(
    '| endpoint | req/s | p99 ms | service CPU µs/req | non-2xx | errors | RSS first | RSS median | RSS max | RSS last | last-half slope MiB/min | after a full GC, before → after the run: heap used | external | RSS | spans ended (2 per request) | spans.export_failed | token_logs.export_failed | tokens.export_dropped | tokens.signed | sink requests (MB) | after |',
  );
  console.log(
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  for (const r of rows) {
    const half = r.samples.slice(Math.floor(r.samples.length / 2));
    const slope = half.length > 1 ? ((half.at(-1) - half[0]) / (half.length - 1)) * 60 : Number.NaN;
    console.log(
      `| ${r.state} | ${int(r.m.rps)} | ${r.m.p99} | ${int(r.m.cpuPerReq)} | ${r.m.non2xx} | ${r.m.errors} | ${fmt(r.samples[0], 0)} | ${fmt(q(r.samples, 0.5), 0)} | ${fmt(Math.max(...r.samples), 0)} | ${fmt(r.samples.at(-1), 0)} | ${fmt(slope, 1)} | ${fmt(r.collectedBefore.heap, 0)} → ${fmt(r.collectedAfter.heap, 0)} | ${fmt(r.collectedBefore.external, 0)} → ${fmt(r.collectedAfter.external, 0)} | ${fmt(r.collectedBefore.rss, 0)} → ${fmt(r.collectedAfter.rss, 0)} | ${int(2 * r.m.total)} | ${r.c.spans_export_failed} | ${r.c.token_logs_export_failed} | ${r.c.tokens_export_dropped} | ${r.c.tokens_signed} | ${r.sink.requests} (${fmt(r.sink.bytes / 1e6, 1)}) | ${r.after.status} |`,
    );
  }
  for (const r of rows) {
    const points = r.series.map(
      (p) => `${p.t} s: ${fmt(p.heap, 0)} / ${fmt(p.heapTotal, 0)} / ${fmt(p.external, 0)} / ${fmt(p.rss, 0)}`,
    );
    if (points.length > 0)
      console.log(`${r.state}: after a full GC, heap used / heap total / external / RSS MiB at ${points.join('; ')}`);
  }
  const up = rows.find((r) => r.state === 'up')?.m.rps;
  const down = rows.find((r) => r.state === 'down')?.m.rps;
  if (up !== undefined && down !== undefined)
    console.log(`Target throughput down ≥ 0.90× up: ${fmt(down / up)}× — ${down / up >= 0.9 ? 'met' : 'MISSED'}.`);
  console.log(
    'Counted: export failures (ect.spans.export_failed, ect.token_logs.export_failed, ect.tokens.export_dropped). Not counted by the bridge: spans the SDK BatchSpanProcessor drops when its queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048) is full; the SDK only logs those.',
  );
}

const parts = process.argv.slice(2);
const want = (part) => parts.length === 0 || parts.includes(part);
try {
  if (want('input')) await inputBench();
  if (want('jwks')) await jwksBench();
  if (want('otlp')) await otlpBench();
} finally {
  rmSync(home, { recursive: true, force: true });
}
