import { randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { generate } from 'selfsigned';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, JwksResolver, verificationKeyOf } from '../../src/keys/index.js';
import { installEnforcement, parseRequirePolicy, REQUIRE_NONE, type RequirePolicy } from '../../src/otel/index.js';
import { EctSigner, newClaims } from '../../src/token/index.js';
import { createOtelFixture, type OtelFixture, propagation } from '../helpers/otel.js';
import { freePorts } from '../helpers/processes.js';
import { exportedSpans, freshHome, startService, type Service } from './fixtures/processes.js';

// Real servers on 127.0.0.1 and real clients, in-process: the bridge with the real HTTP
// instrumentation, installed in the order `startEctNodeSdk` uses (the guard first, then the
// instrumentation wraps `emit` over it), so the `request` door runs inside the server span.

type Door =
  | 'request'
  | 'checkContinue'
  | 'checkExpectation'
  | 'upgrade'
  | 'connect'
  | 'h2-compat'
  | 'h2-stream'
  | 'h2-session'
  | 'h2-http1';
const DOORS: readonly Door[] = [
  'request',
  'checkContinue',
  'checkExpectation',
  'upgrade',
  'connect',
  'h2-compat',
  'h2-stream',
  'h2-session',
  'h2-http1',
];
/** What a handler that ran answers, per door. */
const HANDLER_STATUS: Record<Door, number> = {
  request: 200,
  checkContinue: 200,
  checkExpectation: 200,
  upgrade: 101,
  connect: 200,
  'h2-compat': 200,
  'h2-stream': 200,
  'h2-session': 200,
  'h2-http1': 200,
};

const upstream = generateSigningKey('ES256');
const stranger = generateSigningKey('ES256');
let otel: OtelFixture;
let instrumentation: HttpInstrumentation;
let tls: { key: string; cert: string };
let uninstall: () => void = () => {};

const traceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
const sign = (key: typeof upstream) =>
  new EctSigner(key).sign(
    newClaims({ iss: 'spiffe://example.org/service/upstream', aud: 'spiffe://example.org', exec_act: 'upstream' }),
  );

function enforce(mode: 'enforce' | 'record', require: RequirePolicy = REQUIRE_NONE): void {
  uninstall();
  uninstall = installEnforcement(otel.bridge.propagator, { mode, require, stats: otel.bridge.stats });
}

beforeAll(async () => {
  otel = createOtelFixture({ keys: new JwksResolver([verificationKeyOf(upstream)]), cryptoThreads: 0 });
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), otel.bridge.propagator] }),
  );
  // The guard's wrapper is in place before the instrumentation wraps `emit`, as in `startEctNodeSdk`.
  enforce('enforce');
  instrumentation = new HttpInstrumentation(otel.bridge.httpInstrumentationConfig({}));
  instrumentation.setTracerProvider(otel.provider);
  // The instrumentation patches `node:http`/`node:https` when they are required.
  const require = createRequire(import.meta.url);
  require('node:http');
  require('node:https');
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  tls = { key: pems.private, cert: pems.cert };
});

afterAll(async () => {
  uninstall();
  instrumentation.disable();
  await otel.close();
});

/** A server of the kind a door needs; `ran` turns true when application code sees the request. */
interface Running {
  url: URL;
  ran: () => boolean;
  close: () => Promise<void>;
}

async function serve(door: Door, secure: boolean): Promise<Running> {
  let ran = false;
  const answer = (res: http.ServerResponse | http2.Http2ServerResponse) => {
    ran = true;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('handled');
  };
  let server: http.Server | https.Server | http2.Http2Server | http2.Http2SecureServer;
  const respond = (stream: http2.ServerHttp2Stream) => {
    ran = true;
    stream.respond({ ':status': 200 });
    stream.end('handled');
  };
  if (door === 'h2-http1') {
    // HTTP/1.1 requests to an HTTP/2 server that allows them (over TLS, or plain: it is the same door).
    const h2 = http2.createSecureServer({ ...tls, allowHTTP1: true });
    h2.on('request', (_req, res) => answer(res));
    server = h2;
  } else if (door.startsWith('h2-')) {
    const h2 = secure ? http2.createSecureServer(tls) : http2.createServer();
    if (door === 'h2-compat') h2.on('request', (_req, res) => answer(res));
    else if (door === 'h2-stream') h2.on('stream', respond);
    else h2.on('session', (session) => session.on('stream', respond));
    server = h2;
  } else {
    const h1 = secure ? https.createServer(tls) : http.createServer();
    if (door === 'request') h1.on('request', (_req, res) => answer(res));
    else if (door === 'checkContinue')
      h1.on('checkContinue', (_req, res) => {
        res.writeContinue();
        answer(res);
      });
    else if (door === 'checkExpectation') h1.on('checkExpectation', (_req, res) => answer(res));
    else {
      const reply = door === 'upgrade' ? '101 Switching Protocols\r\nupgrade: x\r\nconnection: Upgrade' : '200 OK';
      h1.on(door, (_req: http.IncomingMessage, socket: Duplex) => {
        ran = true;
        socket.end(`HTTP/1.1 ${reply}\r\n\r\n`);
      });
    }
    server = h1;
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`${secure || door === 'h2-http1' ? 'https' : 'http'}://127.0.0.1:${port}/work`),
    ran: () => ran,
    close: () =>
      new Promise<void>((resolve) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

interface Reply {
  status: number;
  body: string;
}

/** One request through a door; the status and body the client saw (bounded by a timeout). */
function call(door: Door, running: Running, headers: Record<string, string>): Promise<Reply> {
  const reply =
    door.startsWith('h2-') && door !== 'h2-http1' ? callHttp2(running, headers) : callHttp1(door, running, headers);
  return Promise.race([
    reply,
    new Promise<Reply>((_, reject) => setTimeout(() => reject(new Error(`${door}: no answer in 5 s`)), 5000).unref()),
  ]);
}

function callHttp1(door: Door, running: Running, extra: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const secure = running.url.protocol === 'https:';
    const headers: Record<string, string> = { ...extra };
    if (door === 'checkContinue') headers.expect = '100-continue';
    if (door === 'checkExpectation') headers.expect = 'x-custom';
    if (door === 'upgrade') Object.assign(headers, { connection: 'Upgrade', upgrade: 'x' });
    const options: https.RequestOptions = {
      host: '127.0.0.1',
      port: running.url.port,
      method: door === 'connect' ? 'CONNECT' : door === 'checkContinue' ? 'POST' : 'GET',
      path: door === 'connect' ? '127.0.0.1:9' : '/work',
      headers,
      agent: false,
      ...(secure ? { ca: tls.cert } : {}),
    };
    const request = (secure ? https : http).request(options);
    request.on('error', reject);
    const fromSocket = (status: number, socket: Duplex, head: Buffer) => {
      let body = head.toString('utf8');
      socket.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      socket.on('end', () => resolve({ status, body }));
      socket.on('close', () => resolve({ status, body }));
      socket.on('error', () => resolve({ status, body }));
      socket.resume();
    };
    request.on('upgrade', (res, socket, head) => fromSocket(res.statusCode ?? 0, socket, head));
    request.on('connect', (res, socket, head) => fromSocket(res.statusCode ?? 0, socket, head));
    request.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        request.destroy();
      });
    });
    if (door === 'checkContinue') request.on('continue', () => request.end('payload'));
    else request.end();
  });
}

function callHttp2(running: Running, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(running.url.origin, running.url.protocol === 'https:' ? { ca: tls.cert } : {});
    session.on('error', reject);
    const stream = session.request({ ':path': running.url.pathname, ...headers });
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (head) => (status = Number(head[':status'])));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => {
      session.close();
      resolve({ status, body });
    });
    stream.on('error', reject);
    stream.end();
  });
}

const codeOf = (reply: Reply): unknown =>
  (JSON.parse(reply.body.slice(reply.body.indexOf('{'))) as { code: unknown }).code;

const servers: Running[] = [];
async function start(door: Door, secure: boolean): Promise<Running> {
  const running = await serve(door, secure);
  servers.push(running);
  return running;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe.each([false, true])('enforce mode, every door (TLS: %s)', (secure) => {
  it.each(DOORS)('%s: a forged token is refused 403 ECT_KEY_UNKNOWN before the handler runs', async (door) => {
    enforce('enforce');
    const running = await start(door, secure);
    const forged = await sign(stranger);
    const reply = await call(door, running, { 'execution-context': forged, traceparent: traceparent() });
    expect(running.ran(), 'handler ran').toBe(false);
    expect(reply.status).toBe(403);
    expect(codeOf(reply)).toBe('ECT_KEY_UNKNOWN');
  });

  it.each(DOORS)('%s: a valid token passes', async (door) => {
    enforce('enforce');
    const running = await start(door, secure);
    const reply = await call(door, running, { 'execution-context': await sign(upstream), traceparent: traceparent() });
    expect(running.ran(), 'handler ran').toBe(true);
    expect(reply.status).toBe(HANDLER_STATUS[door]);
  });

  it.each(DOORS)('%s: ECT_REQUIRE=all, no token: 401 ECT_MISSING before the handler runs', async (door) => {
    enforce('enforce', parseRequirePolicy('all', undefined));
    const running = await start(door, secure);
    const reply = await call(door, running, { traceparent: traceparent() });
    expect(running.ran(), 'handler ran').toBe(false);
    expect(reply.status).toBe(401);
    expect(codeOf(reply)).toBe('ECT_MISSING');
  });
});

describe('enforce mode: the require policy by path', () => {
  it('requires a token under the prefixes, not on exempt or other paths', async () => {
    enforce('enforce', parseRequirePolicy('/work,/admin', '/work/health'));
    const running = await start('request', false);
    const status = async (path: string) => {
      const url = new URL(path, running.url);
      return (await fetch(url)).status;
    };
    expect(await status('/work')).toBe(401);
    expect(await status('/WORK/x')).toBe(401);
    expect(await status('/%77ork')).toBe(401);
    expect(await status('/work/health')).toBe(200);
    expect(await status('/work/health/../x')).toBe(401);
    expect(await status('/other')).toBe(200);
  });

  it('without a policy a request with no token is served', async () => {
    enforce('enforce');
    const running = await start('request', false);
    expect((await fetch(running.url)).status).toBe(200);
    expect(running.ran()).toBe(true);
  });
});

describe('record mode: every door lets the request through', () => {
  it.each(DOORS)('%s: a forged token is served', async (door) => {
    enforce('record', parseRequirePolicy('all', undefined));
    const running = await start(door, false);
    const reply = await call(door, running, { 'execution-context': await sign(stranger), traceparent: traceparent() });
    expect(running.ran(), 'handler ran').toBe(true);
    expect(reply.status).toBe(HANDLER_STATUS[door]);
  });

  it.each(DOORS)('%s: ECT_REQUIRE=all, no token: served, and counted', async (door) => {
    enforce('record', parseRequirePolicy('all', undefined));
    const running = await start(door, false);
    const before = otel.bridge.stats.snapshot()['incoming.missing'];
    const reply = await call(door, running, { traceparent: traceparent() });
    expect(running.ran(), 'handler ran').toBe(true);
    expect(reply.status).toBe(HANDLER_STATUS[door]);
    expect(otel.bridge.stats.snapshot()['incoming.missing']).toBe(before + 1);
  });

  it('request: the forged token and a missing required token are recorded on the server span', async () => {
    enforce('record', parseRequirePolicy('/work', ''));
    const running = await start('request', false);
    otel.spans.reset();
    await call('request', running, { 'execution-context': await sign(stranger), traceparent: traceparent() });
    await call('request', running, { traceparent: traceparent() });
    const servers = (await otel.finished()).filter((s) => s.kind === SpanKind.SERVER);
    expect(servers).toHaveLength(2);
    const [forged, missing] = servers.map((s) => s.events.map((e) => [e.name, e.attributes?.['ect.error.code']]));
    expect(forged).toContainEqual(['ect.verification_failed', 'ECT_KEY_UNKNOWN']);
    expect(missing).toEqual([['ect.token_missing', 'ECT_MISSING']]);
  });
});

describe('enforce mode: the request door inside the instrumentation', () => {
  it('the server span records the 403, and the handler did not run', async () => {
    enforce('enforce');
    const running = await start('request', false);
    otel.spans.reset();
    await call('request', running, { 'execution-context': await sign(stranger), traceparent: traceparent() });
    const [server] = (await otel.finished()).filter((s) => s.kind === SpanKind.SERVER);
    expect(running.ran()).toBe(false);
    expect(server?.attributes['http.response.status_code']).toBe(403);
  });

  it('a server started inside an active span is guarded all the same', async () => {
    enforce('enforce');
    const running = await otel.tracer.startActiveSpan('startup', async (span) => {
      const started = await start('checkContinue', false);
      span.end();
      return started;
    });
    const reply = await call('checkContinue', running, { 'execution-context': await sign(stranger) });
    expect(running.ran()).toBe(false);
    expect(reply.status).toBe(403);
  });
});

describe('under node --import otel-ect/register (the SDK wiring: config, order of installation)', () => {
  const services: Service[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
  });
  async function launch(env: Record<string, string>) {
    const home = freshHome();
    const [h2Port] = await freePorts(1);
    const service = await startService('doors', home, { ...env, DOORS_H2_PORT: String(h2Port) });
    services.push(service);
    const at = (url: string): Running => ({ url: new URL(url), ran: () => false, close: async () => {} });
    return {
      home,
      service,
      http: at(`${service.url}/work`),
      h2: at(`http://127.0.0.1:${h2Port}/work`),
    };
  }

  it('enforce: a forged token is refused at the request, upgrade and HTTP/2 doors', async () => {
    const { service, http, h2 } = await launch({ ECT_MODE: 'enforce' });
    const forged = { 'execution-context': await sign(stranger), traceparent: traceparent() };
    const replies = [
      await call('request', http, forged),
      await call('upgrade', http, forged),
      await call('h2-compat', h2, forged),
    ];
    expect(replies.map((r) => [r.status, codeOf(r)])).toEqual(Array(3).fill([403, 'ECT_KEY_UNKNOWN']));
    expect(service.output()).not.toContain('handler ran');
  });

  it('enforce, ECT_REQUIRE=/work: no token is 401 ECT_MISSING there, served elsewhere and on probes', async () => {
    const { service, http, h2 } = await launch({ ECT_MODE: 'enforce', ECT_REQUIRE: '/work' });
    const replies = [await call('request', http, {}), await call('upgrade', http, {}), await call('h2-compat', h2, {})];
    expect(replies.map((r) => [r.status, codeOf(r)])).toEqual(Array(3).fill([401, 'ECT_MISSING']));
    expect(service.output()).not.toContain('handler ran');
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/other`)).status).toBe(200);
  });

  it('enforce with a setting that cannot be used: closed, every door answers 503 ECT_NOT_ENFORCING, no handler runs', async () => {
    // `api` is not a path prefix: the bridge does not start.
    const { service, http, h2 } = await launch({ ECT_MODE: 'enforce', ECT_REQUIRE: 'api' });
    const genuine = { 'execution-context': await sign(upstream), traceparent: traceparent() };
    const replies = [
      await call('request', http, genuine),
      await call('request', http, {}),
      await call('upgrade', http, genuine),
      await call('h2-compat', h2, genuine),
    ];
    expect(replies.map((r) => [r.status, codeOf(r)])).toEqual(Array(4).fill([503, 'ECT_NOT_ENFORCING']));
    expect(replies[0]?.body).toContain('execution_context_unavailable');
    // The reason is the operator's, not the caller's.
    expect(replies.some((r) => r.body.includes('ECT_REQUIRE'))).toBe(false);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(503);
    expect(service.output()).not.toContain('handler ran');
  });

  it('record with a setting that cannot be used: the application is served, untraced', async () => {
    const { http, h2 } = await launch({ ECT_REQUIRE: 'api' });
    expect((await call('request', http, {})).status).toBe(200);
    expect((await call('h2-compat', h2, {})).status).toBe(200);
  });

  it('record, ECT_REQUIRE=all: served, and the server span carries ect.token_missing', async () => {
    const { home, service, http } = await launch({ ECT_REQUIRE: 'all' });
    expect((await call('request', http, { traceparent: traceparent() })).status).toBe(200);
    await service.stop();
    const server = (await exportedSpans(home)).find((s) => s.kind === 2);
    expect(server?.events).toContainEqual({
      name: 'ect.token_missing',
      attributes: expect.objectContaining({ 'ect.error.code': 'ECT_MISSING' }),
    });
  });
});
