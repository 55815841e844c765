import { defaultTextMapGetter, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { claimsOf, createOtelFixture, type OtelFixture } from '../../helpers/otel.js';

// Record mode with a crypto pool (the default where a worker thread can be had): incoming
// signatures are checked in the pool, off the request path (src/otel/DESIGN.md §3).
let otel: OtelFixture;
afterEach(async () => otel?.close());

const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '1'.repeat(32),
  spanId: '2'.repeat(16),
  traceFlags: 1,
  isRemote: true,
});

/** A token of this fixture's key with its signature broken: well-formed, so only the pool can refuse it. */
async function forgedToken(): Promise<string> {
  otel.tracer.startSpan('upstream').end();
  const upstream = String((await otel.finished())[0]!.attributes['ect.token']);
  const [header, payload, signature] = upstream.split('.');
  const flipped = signature![0] === 'A' ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
  return `${header}.${payload}.${flipped}`;
}

describe('record mode: incoming tokens verified in the crypto pool', () => {
  it('a verdict that comes after the server span ended is added to the exported span and its token log record', async () => {
    otel = createOtelFixture({ cryptoThreads: 1 });
    const forged = await forgedToken();
    const extracted = otel.bridge.propagator.extract(
      remoteParent,
      { 'execution-context': forged },
      defaultTextMapGetter,
    );
    // Ended at once, in the same turn: the pool has not answered yet.
    otel.tracer.startSpan('server', { kind: SpanKind.SERVER }, extracted).end();
    const server = (await otel.finished()).find((s) => s.name === 'server')!;
    expect(server.attributes['ect.incoming.rejected']).toBe(1);
    expect(server.events.map((e) => [e.name, e.attributes?.['ect.error.code']])).toEqual([
      ['ect.verification_failed', 'ECT_SIGNATURE_INVALID'],
    ]);
    // The token was taken as received: the edge is recorded, and the verdict beside it.
    expect(claimsOf(server.attributes['ect.token']).pred).toEqual([claimsOf(forged).jti]);
    const log = otel.logs.getFinishedLogRecords().find((r) => r.attributes['ect.jti'] === server.attributes['ect.jti']);
    expect(log?.attributes['ect.incoming.rejected']).toBe(1);
    expect(otel.bridge.stats.get('incoming.rejected')).toBe(1);
  });

  it('a verdict that comes while the server span runs is recorded on the span itself', async () => {
    otel = createOtelFixture({ cryptoThreads: 1 });
    const forged = await forgedToken();
    const extracted = otel.bridge.propagator.extract(
      remoteParent,
      { 'execution-context': forged },
      defaultTextMapGetter,
    );
    const span = otel.tracer.startSpan('server', { kind: SpanKind.SERVER }, extracted);
    for (let i = 0; i < 200 && otel.bridge.stats.get('incoming.rejected') === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    span.end();
    const server = (await otel.finished()).find((s) => s.name === 'server')!;
    expect(server.attributes['ect.incoming.rejected']).toBe(1);
    expect(server.events.filter((e) => e.name === 'ect.verification_failed')).toHaveLength(1);
  });

  it('valid tokens verify in the pool and are counted; the same token again is served from the cache', async () => {
    otel = createOtelFixture({ cryptoThreads: 1 });
    otel.tracer.startSpan('upstream').end();
    const upstream = String((await otel.finished())[0]!.attributes['ect.token']);
    const extracted = otel.bridge.propagator.extract(
      remoteParent,
      { 'execution-context': upstream },
      defaultTextMapGetter,
    );
    otel.tracer.startSpan('server', { kind: SpanKind.SERVER }, extracted).end();
    const server = (await otel.finished()).find((s) => s.name === 'server')!;
    expect(server.attributes['ect.incoming.rejected']).toBeUndefined();
    expect(otel.bridge.stats.get('incoming.verified')).toBe(1);
    expect(otel.bridge.stats.get('incoming.rejected')).toBe(0);
  });
});
