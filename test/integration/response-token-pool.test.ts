import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPAN_BINDING_KEY } from '../../src/base/conventions.js';
import { httpResponseHook } from '../../src/otel/index.js';
import { EctSigner } from '../../src/token/index.js';
import { createOtelFixture, type OtelFixture, propagation } from '../helpers/otel.js';

// The response token signed in the crypto pool: the response head is held (the handler's writes
// queued) until a worker signed the server span's token, then written with it, body intact. Every
// way a Node handler writes a head: writeHead with a header object or a raw array, the implicit
// head of `end` and of the first `write`, `flushHeaders`. In-process, the real HTTP
// instrumentation, real sockets on 127.0.0.1.

let otel: OtelFixture;
let instrumentation: HttpInstrumentation;
let server: http.Server;
let origin: string;
/** How long the head waits for the pool (changed per test; read by the hook on each response). */
let waitMs = 10_000;
/** Signatures made on the event loop (`EctSigner.sign`): the pool's workers sign without it. */
let inThread = 0;
const signInThread = EctSigner.prototype.sign;

const HANDLERS: Record<string, { status: number; body: string; handle: (res: http.ServerResponse) => void }> = {
  '/explicit': {
    status: 201,
    body: 'explicit',
    handle: (res) => res.writeHead(201, { 'content-type': 'text/plain', 'x-case': 'explicit' }).end('explicit'),
  },
  '/raw-headers': {
    status: 200,
    body: 'raw',
    handle: (res) => {
      res.writeHead(200, ['content-type', 'text/plain', 'x-case', 'raw-headers']);
      res.end('raw');
    },
  },
  '/implicit': {
    status: 202,
    body: 'implicit',
    handle: (res) => {
      res.statusCode = 202;
      res.setHeader('x-case', 'implicit');
      res.end('implicit');
    },
  },
  '/chunks': {
    status: 200,
    body: 'abc',
    handle: (res) => {
      res.setHeader('x-case', 'chunks');
      expect(res.write('a')).toBe(true);
      res.write('b', () => {});
      res.end('c');
    },
  },
  '/flush': {
    status: 203,
    body: 'flushed',
    handle: (res) => {
      res.statusCode = 203;
      res.setHeader('x-case', 'flush');
      res.flushHeaders();
      setTimeout(() => res.end('flushed'), 5);
    },
  },
};

beforeAll(async () => {
  otel = createOtelFixture({ cryptoThreads: 1 });
  EctSigner.prototype.sign = function sign(this: EctSigner, ...args: Parameters<EctSigner['sign']>) {
    inThread++;
    return signInThread.apply(this, args);
  };
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), otel.bridge.propagator] }),
  );
  const { frontiers, propagator, stats, pool } = otel.bridge;
  const hook = (deps: { responseSignWaitMs: number }) =>
    httpResponseHook({ frontiers, propagator, stats, pool, ...deps });
  instrumentation = new HttpInstrumentation({
    responseHook: (span, response) => hook({ responseSignWaitMs: waitMs })(span, response),
  });
  instrumentation.setTracerProvider(otel.provider);
  createRequire(import.meta.url)('node:http');
  server = http.createServer((request, response) => HANDLERS[request.url ?? '']!.handle(response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  EctSigner.prototype.sign = signInThread;
  instrumentation.disable();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await otel.close();
});

/** Calls every handler `times` times in parallel; checks status, body, headers and the token. */
async function callAll(times: number): Promise<void> {
  const paths = Object.keys(HANDLERS).flatMap((path) => Array.from({ length: times }, () => path));
  const replies = await Promise.all(
    paths.map(async (path) => {
      const response = await fetch(`${origin}${path}`, { signal: AbortSignal.timeout(20_000) });
      return { path, response, body: await response.text() };
    }),
  );
  const jtis = new Set<string>();
  for (const { path, response, body } of replies) {
    const expected = HANDLERS[path]!;
    expect({ path, status: response.status, body }).toEqual({ path, status: expected.status, body: expected.body });
    expect(response.headers.get('x-case'), path).toBe(path.slice(1));
    const token = response.headers.get('execution-context');
    expect(token, path).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const { claims } = otel.verifier.verifySync(token!);
    expect(claims.ect_ext?.[SPAN_BINDING_KEY], path).toMatchObject({ http_status: expected.status, kind: 'SERVER' });
    jtis.add(claims.jti);
  }
  expect(jtis.size).toBe(replies.length);
}

describe('the response token signed in the crypto pool, the head held until then', () => {
  it('every way of writing the head: the response carries the server token, signed in the worker, with status, headers and body intact', async () => {
    waitMs = 10_000;
    const tagged = otel.bridge.stats.get('responses.tagged');
    inThread = 0;
    await callAll(10);
    expect(inThread).toBe(0);
    expect(otel.bridge.stats.get('responses.tagged') - tagged).toBe(50);
  });

  it('a wait of 0 ms (the event loop signs whenever it comes first): still one valid token per response, body intact', async () => {
    waitMs = 0;
    await callAll(4);
  });
});
