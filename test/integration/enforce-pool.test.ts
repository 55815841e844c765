import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, JwksResolver, verificationKeyOf } from '../../src/keys/index.js';
import { installEnforcement } from '../../src/otel/index.js';
import { EctSigner, newClaims } from '../../src/token/index.js';
import { createOtelFixture, type OtelFixture, propagation } from '../helpers/otel.js';

// Enforce mode with the crypto pool on: a request whose tokens are being checked in the pool's
// worker thread is held (no handler, body unread) while the event loop serves others, then let in
// or refused; never a handler before a valid verdict. In-process, with the real HTTP
// instrumentation installed after the guard (as `startEctNodeSdk` does), real sockets on 127.0.0.1.

const upstream = generateSigningKey('ES256');
const stranger = generateSigningKey('ES256');
let otel: OtelFixture;
let instrumentation: HttpInstrumentation;
let server: http.Server;
let origin: string;
let uninstall: () => void = () => {};
/** Ids of the requests whose handler ran, in the order it ran. */
const ran: string[] = [];
/** Verifications made on the event loop (`verifySync`): none may happen for a request here. */
let inThread = 0;

const traceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
/** A distinct token (its own jti) from a key the service trusts, or from one it does not know. */
const tokenFrom = (key: typeof upstream) =>
  new EctSigner(key).sign(
    newClaims({ iss: 'spiffe://example.org/service/upstream', aud: 'spiffe://example.org', exec_act: 'upstream' }),
  );
/** A genuine token with one signature character changed: only the signature check can tell. */
function tamperedSignature(): string {
  const [header, payload, signature] = tokenFrom(upstream).split('.') as [string, string, string];
  const i = 10;
  const changed = signature[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, i)}${changed}${signature.slice(i + 1)}`;
}

function enforce(maxWaiting?: number): void {
  uninstall();
  uninstall = installEnforcement(otel.bridge.propagator, {
    mode: 'enforce',
    stats: otel.bridge.stats,
    ...(maxWaiting === undefined ? {} : { maxWaiting }),
  });
}

beforeAll(async () => {
  otel = createOtelFixture({
    keys: new JwksResolver([verificationKeyOf(upstream)]),
    cryptoThreads: 1,
    mode: 'enforce',
  });
  const verifySync = otel.bridge.verifier.verifySync.bind(otel.bridge.verifier);
  otel.bridge.verifier.verifySync = (...args) => {
    inThread++;
    return verifySync(...args);
  };
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), otel.bridge.propagator] }),
  );
  enforce();
  instrumentation = new HttpInstrumentation(otel.bridge.httpInstrumentationConfig({}));
  instrumentation.setTracerProvider(otel.provider);
  createRequire(import.meta.url)('node:http');
  server = http.createServer((request, response) => {
    ran.push(String(request.headers['x-request-id']));
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(`handled ${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  uninstall();
  instrumentation.disable();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await otel.close();
});

interface Reply {
  id: string;
  status: number;
  body: string;
  retryAfter: string | null;
}

async function call(id: string, token: string | undefined): Promise<Reply> {
  const response = await fetch(`${origin}/work`, {
    method: 'POST',
    headers: {
      traceparent: traceparent(),
      'x-request-id': id,
      ...(token === undefined ? {} : { 'execution-context': token }),
    },
    body: `body-of-${id}`,
    signal: AbortSignal.timeout(20_000),
  });
  return { id, status: response.status, body: await response.text(), retryAfter: response.headers.get('retry-after') };
}

const jsonOf = (reply: Reply): Record<string, unknown> => JSON.parse(reply.body) as Record<string, unknown>;

describe('enforce mode with the crypto pool: requests wait for the verdict off the event loop', () => {
  it('200 parallel requests, valid and forged tokens mixed with tokenless ones: only valid ones reach the handler, with their body; no verification on the event loop', async () => {
    ran.length = 0;
    inThread = 0;
    const kinds = ['valid', 'valid', 'forged-signature', 'unknown-key', 'none'] as const;
    const requests = Array.from({ length: 200 }, (_, i) => {
      const kind = kinds[i % kinds.length]!;
      const token =
        kind === 'valid'
          ? tokenFrom(upstream)
          : kind === 'forged-signature'
            ? tamperedSignature()
            : kind === 'unknown-key'
              ? tokenFrom(stranger)
              : undefined;
      return { id: `${kind}-${i}`, kind, token };
    });
    const replies = await Promise.all(requests.map(({ id, token }) => call(id, token)));

    const admitted = requests.filter((r) => r.kind === 'valid' || r.kind === 'none').map((r) => r.id);
    expect([...ran].sort()).toEqual([...admitted].sort());
    for (const [i, reply] of replies.entries()) {
      const { kind, id } = requests[i]!;
      if (kind === 'valid' || kind === 'none') {
        expect(reply, id).toMatchObject({ status: 200, body: `handled body-of-${id}` });
      } else {
        expect(reply.status, id).toBe(403);
        expect(jsonOf(reply), id).toMatchObject({
          error: 'execution_context_rejected',
          code: kind === 'forged-signature' ? 'ECT_SIGNATURE_INVALID' : 'ECT_KEY_UNKNOWN',
        });
      }
    }
    expect(inThread).toBe(0);
  });

  it('past maxWaiting a request that would wait is answered 503 ECT_BUSY without its handler; tokenless and already-verified tokens do not wait', async () => {
    ran.length = 0;
    const known = tokenFrom(upstream);
    expect((await call('first-sight', known)).status).toBe(200);
    enforce(0);
    try {
      const [busy, tokenless, again] = await Promise.all([
        call('busy', tokenFrom(upstream)),
        call('tokenless', undefined),
        // Verified before: taken from the cache (another caller span, so no replay), nothing to wait for.
        call('again', known),
      ]);
      expect(busy.status).toBe(503);
      expect(busy.retryAfter).toBe('1');
      expect(jsonOf(busy)).toMatchObject({ error: 'execution_context_busy', code: 'ECT_BUSY' });
      expect(tokenless).toMatchObject({ status: 200, body: 'handled body-of-tokenless' });
      expect(again).toMatchObject({ status: 200, body: 'handled body-of-again' });
      expect(ran.sort()).toEqual(['again', 'first-sight', 'tokenless']);
    } finally {
      enforce();
    }
  });

  it('a burst past a small bound: each request is either let in after a valid verdict or answered 503, never both, and the 503s are counted', async () => {
    ran.length = 0;
    const busyBefore = otel.bridge.stats.get('incoming.busy');
    enforce(4);
    try {
      const replies = await Promise.all(Array.from({ length: 64 }, (_, i) => call(`burst-${i}`, tokenFrom(upstream))));
      const ok = replies.filter((r) => r.status === 200);
      const busy = replies.filter((r) => r.status === 503);
      expect(ok.length + busy.length).toBe(replies.length);
      expect([...ran].sort()).toEqual(ok.map((r) => r.id).sort());
      for (const reply of busy) expect(jsonOf(reply), reply.id).toMatchObject({ code: 'ECT_BUSY' });
      expect(otel.bridge.stats.get('incoming.busy') - busyBefore).toBe(busy.length);
      console.log(`burst of 64 with maxWaiting 4: ${ok.length} let in, ${busy.length} answered 503`);
    } finally {
      enforce();
    }
  });
});
