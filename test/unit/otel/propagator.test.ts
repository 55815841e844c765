import { context, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseExecutionContext } from '../../../src/token/index.js';
import { claimsOf, createOtelFixture, type OtelFixture } from '../../helpers/otel.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
let otel: OtelFixture;
afterEach(async () => otel?.close());

function inject(ctx = context.active()): Record<string, string | string[]> {
  const carrier: Record<string, string | string[]> = {};
  otel.bridge.propagator.inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}

describe('EctPropagator', () => {
  it('fields() names exactly the header it reads and writes', () => {
    otel = createOtelFixture();
    expect(otel.bridge.propagator.fields()).toEqual(['execution-context']);
  });

  it('injects the client span start predecessors, signed, one token per field line into a header record', async () => {
    otel = createOtelFixture();
    await otel.tracer.startActiveSpan('root', async (root) => {
      const a = otel.tracer.startSpan('a');
      const b = otel.tracer.startSpan('b');
      a.end();
      b.end();
      await otel.tracer.startActiveSpan('call', { kind: SpanKind.CLIENT }, async (call) => {
        const lines = inject()['execution-context'];
        expect(Array.isArray(lines)).toBe(true);
        expect((lines as string[]).map((t) => claimsOf(t).exec_act)).toEqual(['a', 'b']);
        call.end();
      });
      root.end();
    });
  });

  it('writes one comma list where the carrier or setter can hold one value, or the span is not an HTTP client', async () => {
    otel = createOtelFixture();
    await otel.tracer.startActiveSpan('root', async (root) => {
      const a = otel.tracer.startSpan('a');
      const b = otel.tracer.startSpan('b');
      a.end();
      b.end();
      const expectList = (value: unknown, names = ['a', 'b']) => {
        expect(typeof value).toBe('string');
        expect(parseExecutionContext(value as string).map((t) => claimsOf(t).exec_act)).toEqual(names);
      };
      await otel.tracer.startActiveSpan('call', { kind: SpanKind.CLIENT }, async (call) => {
        // A Headers object: its setter replaces the field, so the list is the only lossless form.
        const headers = new Headers();
        otel.bridge.propagator.inject(context.active(), headers, { set: (c, k, v) => c.set(k, v) });
        expectList(headers.get('execution-context'));
        // A setter that does not store our string verbatim (here: it renames the key).
        const renamed: Record<string, string> = {};
        otel.bridge.propagator.inject(context.active(), renamed, { set: (c, k, v) => (c[k.toUpperCase()] = v) });
        expectList(renamed['EXECUTION-CONTEXT']);
        call.end();
      });
      const c = otel.tracer.startSpan('c');
      const d = otel.tracer.startSpan('d');
      c.end();
      d.end();
      await otel.tracer.startActiveSpan('publish', { kind: SpanKind.PRODUCER }, async (publish) => {
        // A message's plain header table keeps the single string its consumers expect.
        expectList(inject()['execution-context'], ['c', 'd']);
        publish.end();
      });
      root.end();
    });
  });

  it('folds a frontier too wide for one message into a join token, which the client token then names', async () => {
    otel = createOtelFixture();
    let joinJti = '';
    await otel.tracer.startActiveSpan('root', async (root) => {
      const parallel = Array.from({ length: 12 }, (_, i) => otel.tracer.startSpan(`p${i}`));
      await tick();
      for (const s of parallel) s.end();
      await otel.tracer.startActiveSpan('call', { kind: SpanKind.CLIENT }, async (call) => {
        const tokens = parseExecutionContext(inject()['execution-context']);
        expect(tokens).toHaveLength(1);
        const join = claimsOf(tokens[0]);
        expect(join.exec_act).toBe('ect.join');
        expect(join.pred).toHaveLength(12);
        joinJti = join.jti;
        call.end();
      });
      root.end();
    });
    const tokens = await otel.tokens();
    expect(tokens.find((t) => t.exec_act === 'call')!.pred).toEqual([joinJti]);
    expect(tokens.some((t) => t.jti === joinJti)).toBe(true);
  });

  it('folds predecessors a receiver would find too close to expiry into a fresh join token', async () => {
    otel = createOtelFixture();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      otel.tracer.startActiveSpan('long-workflow', (root) => {
        otel.tracer.startSpan('early-step').end();
        // Ten minutes later (the default token lifetime), the workflow calls out.
        vi.setSystemTime(Date.now() + 600_000);
        otel.tracer.startActiveSpan('call', { kind: SpanKind.CLIENT }, (call) => {
          const tokens = parseExecutionContext(inject()['execution-context']);
          expect(tokens).toHaveLength(1);
          const join = claimsOf(tokens[0]);
          expect(join.exec_act).toBe('ect.join');
          expect(join.pred).toHaveLength(1);
          expect(join.iat).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
          call.end();
        });
        root.end();
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not inject when tracing is suppressed (the SDK exporting its own data)', () => {
    otel = createOtelFixture();
    otel.tracer.startActiveSpan('root', (root) => {
      otel.tracer.startSpan('a').end();
      otel.tracer.startActiveSpan('call', (call) => {
        expect(inject(suppressTracing(context.active()))).toEqual({});
        expect(inject()).toHaveProperty('execution-context');
        call.end();
      });
      root.end();
    });
  });

  it('extract never throws on garbage and records it as a failure', () => {
    otel = createOtelFixture();
    for (const value of ['', 'a.b.c', '...', 'x'.repeat(20_000), ',,,', Array(20).fill('eyJ.e.e').join(',')]) {
      expect(() =>
        otel.bridge.propagator.extract(ROOT_CONTEXT, { 'execution-context': value }, defaultTextMapGetter),
      ).not.toThrow();
    }
    expect(otel.bridge.stats.get('incoming.rejected')).toBeGreaterThan(0);
  });

  it('a token extracted from a request becomes the next server span start predecessor', async () => {
    otel = createOtelFixture();
    let upstream = '';
    otel.tracer.startActiveSpan('upstream', (s) => {
      s.end();
    });
    upstream = String((await otel.finished())[0]!.attributes['ect.token']);
    const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '1'.repeat(32),
      spanId: '2'.repeat(16),
      traceFlags: 1,
      isRemote: true,
    });
    const extracted = otel.bridge.propagator.extract(
      remoteParent,
      { 'execution-context': upstream },
      defaultTextMapGetter,
    );
    otel.tracer.startSpan('server', { kind: SpanKind.SERVER }, extracted).end();
    const server = (await otel.tokens()).find((t) => t.exec_act === 'server')!;
    expect(server.pred).toEqual([claimsOf(upstream).jti]);
  });
});
