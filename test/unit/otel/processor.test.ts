import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { jwtVerify, createLocalJWKSet } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { validateDag } from '../../../src/dag/index.js';
import { publicJwkOf } from '../../../src/keys/index.js';
import { SPAN_BINDING_KEY } from '../../../src/otel/index.js';
import { byName, claimsOf, createOtelFixture, jtiOf, predOf, type OtelFixture } from '../../helpers/otel.js';

const trace_set = (span: Span) => trace.setSpan(ROOT_CONTEXT, span);
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
let otel: OtelFixture;
afterEach(async () => otel?.close());

describe('EctSpanProcessor: causal frontiers (src/otel/DESIGN.md §2)', () => {
  it('sequential siblings: B names A; the parent names its last child', async () => {
    otel = createOtelFixture();
    otel.tracer.startActiveSpan('root', (root) => {
      otel.tracer.startSpan('A').end();
      otel.tracer.startSpan('B').end();
      root.end();
    });
    const spans = await otel.finished();
    expect(predOf(byName(spans, 'A'))).toEqual([]);
    expect(predOf(byName(spans, 'B'))).toEqual([jtiOf(byName(spans, 'A'))]);
    expect(predOf(byName(spans, 'root'))).toEqual([jtiOf(byName(spans, 'B'))]);
  });

  it('parallel siblings after A both name A; D after both names B and C (fan-in without app code)', async () => {
    otel = createOtelFixture();
    await otel.tracer.startActiveSpan('root', async (root) => {
      otel.tracer.startSpan('A').end();
      const b = otel.tracer.startSpan('B');
      const c = otel.tracer.startSpan('C');
      await tick();
      c.end();
      b.end();
      otel.tracer.startSpan('D').end();
      root.end();
    });
    const spans = await otel.finished();
    const [a, b, c, d] = ['A', 'B', 'C', 'D'].map((n) => byName(spans, n));
    expect(predOf(b!)).toEqual([jtiOf(a!)]);
    expect(predOf(c!)).toEqual([jtiOf(a!)]);
    expect(new Set(predOf(d!))).toEqual(new Set([jtiOf(b!), jtiOf(c!)]));
  });

  it('a child named by its own children; nested scopes replace what they cover', async () => {
    otel = createOtelFixture();
    otel.tracer.startActiveSpan('root', (root) => {
      otel.tracer.startSpan('first').end();
      otel.tracer.startActiveSpan('mid', (mid) => {
        otel.tracer.startSpan('inner').end();
        mid.end();
      });
      root.end();
    });
    const spans = await otel.finished();
    expect(predOf(byName(spans, 'inner'))).toEqual([jtiOf(byName(spans, 'first'))]);
    expect(predOf(byName(spans, 'mid'))).toEqual([jtiOf(byName(spans, 'inner'))]);
    expect(predOf(byName(spans, 'root'))).toEqual([jtiOf(byName(spans, 'mid'))]);
  });

  it('the exported set is a valid DAG: no edge points to a later token', async () => {
    otel = createOtelFixture();
    await otel.tracer.startActiveSpan('root', async (root) => {
      for (let i = 0; i < 5; i++) {
        const parallel = [0, 1, 2].map((j) => otel.tracer.startSpan(`p${i}.${j}`));
        await tick();
        for (const s of parallel) s.end();
      }
      root.end();
    });
    expect(validateDag(await otel.tokens())).toMatchObject({ verdict: 'valid', nodes: 16 });
  });

  it('span links bring the linked span token in, and predecessor edges become span links', async () => {
    otel = createOtelFixture();
    const producer = otel.tracer.startSpan('produce', {}, ROOT_CONTEXT);
    producer.end();
    const consumer = otel.tracer.startSpan('consume', { links: [{ context: producer.spanContext() }] }, ROOT_CONTEXT);
    consumer.end();
    const spans = await otel.finished();
    const consume = byName(spans, 'consume');
    expect(predOf(consume)).toEqual([jtiOf(byName(spans, 'produce'))]);
    expect(
      consume.links.filter((l) => l.attributes?.['ect.edge'] === 'predecessor').map((l) => l.context.spanId),
    ).toEqual([producer.spanContext().spanId]);
  });

  it('a link added after start (before end) is read at onEnding', async () => {
    otel = createOtelFixture();
    const earlier = otel.tracer.startSpan('earlier', {}, ROOT_CONTEXT);
    earlier.end();
    const later = otel.tracer.startSpan('later', {}, ROOT_CONTEXT);
    later.addLink({ context: earlier.spanContext() });
    later.end();
    expect(predOf(byName(await otel.finished(), 'later'))).toEqual([jtiOf(byName(await otel.finished(), 'earlier'))]);
  });

  it('wide fan-in folds into join tokens instead of dropping edges', async () => {
    otel = createOtelFixture();
    const processor = new (
      otel.bridge.processor.constructor as typeof import('../../../src/otel/index.js').EctSpanProcessor
    )({
      signer: new (await import('../../../src/token/index.js')).EctSigner(otel.key),
      maxPred: 3,
      sink: otel.bridge.pipeline,
    });
    const { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace');
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({
      spanProcessors: [
        processor,
        new SimpleSpanProcessor({
          exporter: new (await import('../../../src/otel/index.js')).EctSpanExporter(memory, processor.tokens, {
            stats: processor.stats,
          }),
        }),
      ],
    });
    const tracer = provider.getTracer('wide');
    await tracer.startActiveSpan('root', async (root) => {
      const children = Array.from({ length: 7 }, (_, i) => tracer.startSpan(`c${i}`));
      await tick();
      for (const c of children) c.end();
      root.end();
    });
    const tokens = await otel.tokens();
    const joins = tokens.filter((t) => t.exec_act === 'ect.join');
    const root = tokens.find((t) => t.exec_act === 'root')!;
    expect(joins).toHaveLength(3);
    expect(root.pred.sort()).toEqual(joins.map((j) => j.jti).sort());
    expect(joins.flatMap((j) => j.pred)).toHaveLength(7);
    expect(validateDag(tokens).verdict).toBe('valid');
    await provider.shutdown();
  });

  it('spans the selector leaves out pass their frontier through', async () => {
    const { parseSelector } = await import('../../../src/otel/index.js');
    otel = createOtelFixture({ selector: parseSelector('server,client') });
    otel.tracer.startActiveSpan('server', { kind: SpanKind.SERVER }, (server) => {
      otel.tracer.startActiveSpan('internal', (internal) => {
        otel.tracer.startSpan('call', { kind: SpanKind.CLIENT }).end();
        internal.end();
      });
      server.end();
    });
    const spans = await otel.finished();
    expect(byName(spans, 'internal').attributes['ect.token']).toBeUndefined();
    expect(predOf(byName(spans, 'server'))).toEqual([jtiOf(byName(spans, 'call'))]);
  });
});

describe('EctSpanProcessor: claims and binding', () => {
  it('exec_act from GenAI, HTTP and explicit attributes; GenAI content hashed', async () => {
    otel = createOtelFixture();
    const args = '{"city":"Paris"}';
    otel.tracer
      .startSpan('tool', {
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'get_weather',
          'gen_ai.tool.call.arguments': args,
          'gen_ai.tool.call.result': 'sunny',
        },
      })
      .end();
    otel.tracer
      .startSpan('GET', {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'GET', 'http.route': '/users/:id' },
      })
      .end();
    otel.tracer.startSpan('custom', { attributes: { 'ect.exec_act': 'execute_trade' } }).end();
    const tokens = await otel.tokens();
    expect(tokens.map((t) => t.exec_act)).toEqual(['execute_tool:get_weather', 'GET /users/:id', 'execute_trade']);
    const { hashOctets } = await import('../../../src/token/index.js');
    expect(tokens[0]).toMatchObject({ inp_hash: hashOctets(args), out_hash: hashOctets('sunny') });
  });

  it('binds the token to its span (trace, span, parent, name, kind, status) and wid = trace id', async () => {
    otel = createOtelFixture();
    otel.tracer.startActiveSpan('parent', (parent) => {
      const child = otel.tracer.startSpan('child', { kind: SpanKind.CLIENT, attributes: { 'error.type': 'timeout' } });
      child.setStatus({ code: SpanStatusCode.ERROR });
      child.end();
      parent.end();
    });
    const spans = await otel.finished();
    const child = byName(spans, 'child');
    const claims = claimsOf(child.attributes['ect.token']);
    const ctx = child.spanContext();
    expect(claims.ect_ext?.[SPAN_BINDING_KEY]).toEqual({
      trace_id: ctx.traceId,
      span_id: ctx.spanId,
      parent_span_id: byName(spans, 'parent').spanContext().spanId,
      name: 'child',
      kind: 'CLIENT',
      status: 'ERROR',
      error_type: 'timeout',
    });
    expect(claims.wid!.replaceAll('-', '')).toBe(ctx.traceId);
    expect(claims.jti).toBe(child.attributes['ect.jti']);
    expect(child.attributes['ect.pred']).toEqual(claims.pred);
  });

  it('every exported token verifies with jose alone', async () => {
    otel = createOtelFixture();
    otel.tracer.startActiveSpan('r', (r) => {
      otel.tracer.startSpan('x').end();
      r.end();
    });
    const jwks = createLocalJWKSet({ keys: [publicJwkOf(otel.key)] });
    for (const span of await otel.finished()) {
      const { payload, protectedHeader } = await jwtVerify(String(span.attributes['ect.token']), jwks, {
        typ: 'exec+jwt',
        algorithms: ['ES256'],
      });
      expect(payload.jti).toBe(span.attributes['ect.jti']);
      expect(protectedHeader.kid).toBe(otel.key.kid);
    }
  });

  it('token log records follow issue order and carry the span trace and span ids', async () => {
    otel = createOtelFixture();
    otel.tracer.startActiveSpan('r', (r) => {
      otel.tracer.startSpan('one').end();
      otel.tracer.startSpan('two').end();
      r.end();
    });
    const spans = await otel.finished();
    const records = otel.logs.getFinishedLogRecords();
    expect(records.map((r) => claimsOf(r.body).exec_act)).toEqual(['one', 'two', 'r']);
    for (const record of records) {
      const span = spans.find((s) => s.attributes['ect.jti'] === record.attributes['ect.jti'])!;
      expect(record.spanContext?.spanId).toBe(span.spanContext().spanId);
      expect(record.spanContext?.traceId).toBe(span.spanContext().traceId);
    }
  });
});

describe('EctSpanProcessor: never throws into the application', () => {
  it('a signer that fails leaves spans working and counts the drops', async () => {
    const { generateSigningKey } = await import('../../../src/keys/index.js');
    const ed = generateSigningKey('EdDSA');
    // A key object that cannot sign ES256: every signature fails.
    otel = createOtelFixture({ signingKey: { ...ed, alg: 'ES256' } });
    expect(() =>
      otel.tracer.startActiveSpan('r', (r) => {
        otel.tracer.startSpan('x').end();
        r.end();
      }),
    ).not.toThrow();
    const spans = await otel.finished();
    expect(spans).toHaveLength(2);
    expect(spans.every((s) => s.attributes['ect.token'] === undefined)).toBe(true);
    expect(otel.bridge.stats.get('tokens.sign_failed')).toBeGreaterThanOrEqual(2);
  });

  it('a throwing exporter is a counted drop, not an exception', async () => {
    otel = createOtelFixture();
    otel.tracer.startSpan('x').end();
    const [span] = await otel.finished();
    const exporter = otel.bridge.wrapExporter({
      export: () => {
        throw new Error('backend down');
      },
      shutdown: async () => {},
    });
    const result = await new Promise<number>((resolve) => {
      expect(() => exporter.export([span!], (r) => resolve(r.code))).not.toThrow();
    });
    expect(result).toBe(1);
    expect(otel.bridge.stats.get('tokens.export_dropped')).toBe(1);
  });

  it('past maxLiveSpans (spans that never end), new spans get no token and are counted', async () => {
    otel = createOtelFixture({ maxLiveSpans: 2 });
    const leaked = [otel.tracer.startSpan('leaked-1'), otel.tracer.startSpan('leaked-2')];
    expect(() => otel.tracer.startSpan('refused').end()).not.toThrow();
    expect(otel.bridge.stats.get('spans.untracked')).toBe(1);
    for (const span of leaked) span.end();
    otel.tracer.startSpan('after').end();
    const spans = await otel.finished();
    expect(byName(spans, 'refused').attributes['ect.jti']).toBeUndefined();
    expect(byName(spans, 'refused').attributes['ect.token']).toBeUndefined();
    for (const name of ['leaked-1', 'leaked-2', 'after'])
      expect(byName(spans, name).attributes['ect.token']).toBeTypeOf('string');
  });

  it('two live spans with the same span id (a custom id generator) keep their own state', async () => {
    const { TracerProvider } = await import('@opentelemetry/sdk-trace');
    otel = createOtelFixture();
    let trace = 0;
    const provider = new TracerProvider({
      spanProcessors: [otel.bridge.processor],
      // Every trace gets its own trace id, every span the same span id.
      idGenerator: {
        generateTraceId: () => (++trace).toString(16).padStart(32, '0'),
        generateSpanId: () => '00000000000000aa',
      },
    });
    const tracer = provider.getTracer('same-id');
    const first = tracer.startSpan('first-root');
    const second = tracer.startSpan('second-root');
    tracer.startSpan('first-child', {}, trace_set(first)).end();
    tracer.startSpan('second-child', {}, trace_set(second)).end();
    second.end();
    first.end();
    await otel.bridge.pipeline.forceFlush();
    const claims = await otel.tokens();
    const byAct = (act: string) => claims.find((c) => c.exec_act === act)!;
    expect(byAct('first-root').pred).toEqual([byAct('first-child').jti]);
    expect(byAct('second-root').pred).toEqual([byAct('second-child').jti]);
    expect(otel.bridge.processor.tokens.tokenFor(first.spanContext())?.jti).toBe(byAct('first-root').jti);
    expect(otel.bridge.processor.tokens.tokenFor(second.spanContext())?.jti).toBe(byAct('second-root').jti);
  });

  it('a span exported after its token left the recent tokens is counted, not silently untagged', async () => {
    otel = createOtelFixture({ maxKnownTokens: 4 });
    otel.tracer.startSpan('early').end();
    const [early] = await otel.finished();
    for (let i = 0; i < 8; i++) otel.tracer.startSpan(`later-${i}`).end();
    await otel.finished();
    const before = otel.bridge.stats.get('tokens.export_dropped');
    const late = otel.bridge.wrapExporter({ export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} });
    await new Promise<void>((resolve) => late.export([early!], () => resolve()));
    expect(otel.bridge.stats.get('tokens.export_dropped')).toBe(before + 1);
  });

  it('releases per-span state: 300k sequential spans under one live root keep the heap flat', async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    const { LoggerProvider } = await import('@opentelemetry/sdk-logs');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // No exporter and a log pipeline without processors: only the bridge's own memory is measured.
    otel = createOtelFixture({ loggerProvider: new LoggerProvider() });
    const processor = otel.bridge.processor;
    const provider = new (await import('@opentelemetry/sdk-trace')).TracerProvider({ spanProcessors: [processor] });
    const leakTracer = provider.getTracer('leak');
    const root = leakTracer.startSpan('root');
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    const run = (n: number) => {
      for (let i = 0; i < n; i++) leakTracer.startSpan('s', {}, ctx).end();
    };
    run(20_000);
    await otel.bridge.pipeline.forceFlush();
    gc();
    const before = process.memoryUsage().heapUsed;
    run(300_000);
    await otel.bridge.pipeline.forceFlush();
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // What stays is bounded: up to 8k recent tokens kept for span links and the exporter (their
    // generations rotate, so up to ~4k × ~1.5 KB may differ between two measurements). A leak of even 100 bytes per
    // span would show as 30 MB.
    expect(grown).toBeLessThan(12 * 2 ** 20);
    root.end();
    await provider.shutdown();
  }, 240_000);
});

describe('EctSpanProcessor: tokens issued early (response head)', () => {
  it('work finishing after the early token passes through to the parent, so it stays connected', async () => {
    otel = createOtelFixture();
    otel.tracer.startActiveSpan('root', (root) => {
      otel.tracer.startActiveSpan('server', (server) => {
        otel.tracer.startSpan('before-response').end();
        otel.bridge.frontiers.issueNow(server as never, { http_status: 200 });
        otel.tracer.startSpan('after-response').end();
        server.end();
      });
      otel.tracer.startSpan('next').end();
      root.end();
    });
    const tokens = await otel.tokens();
    const byAct = (act: string) => tokens.find((t) => t.exec_act === act)!;
    expect(byAct('server').pred).toEqual([byAct('before-response').jti]);
    expect(new Set(byAct('next').pred)).toEqual(new Set([byAct('server').jti, byAct('after-response').jti]));
  });
});

describe('EctSpanExporter', () => {
  it('with dropHashedContent, GenAI content leaves the exported span while its hashes stay in the token', async () => {
    otel = createOtelFixture();
    const { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } = await import('@opentelemetry/sdk-trace');
    const { hashOctets } = await import('../../../src/token/index.js');
    const memory = new InMemorySpanExporter();
    const exporting = new SimpleSpanProcessor({
      exporter: otel.bridge.wrapExporter(memory, { dropHashedContent: true }),
    });
    const provider = new TracerProvider({ spanProcessors: [otel.bridge.processor, exporting] });
    provider
      .getTracer('genai')
      .startSpan('tool', {
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 't',
          'gen_ai.tool.call.arguments': 'secret prompt',
        },
      })
      .end();
    await provider.forceFlush();
    const [exported] = memory.getFinishedSpans();
    expect(exported!.attributes['gen_ai.tool.call.arguments']).toBeUndefined();
    expect(exported!.attributes['gen_ai.tool.name']).toBe('t');
    expect(claimsOf(exported!.attributes['ect.token']).inp_hash).toBe(hashOctets('secret prompt'));
  });
});

describe('EctBridge.addPredecessors: tokens received out of band', () => {
  it('verifies them and adds them to the live span frontier; a bad one is returned, not added', async () => {
    otel = createOtelFixture();
    otel.tracer.startSpan('producer').end();
    const produced = String((await otel.finished()).find((s) => s.name === 'producer')!.attributes['ect.token']);
    const forged = `${produced.slice(0, -4)}AAAA`;
    otel.tracer.startActiveSpan('consumer', (consumer) => {
      const refused = otel.bridge.addPredecessors([produced, forged]);
      expect(refused.map((e) => e.code)).toEqual(['ECT_SIGNATURE_INVALID']);
      otel.tracer.startSpan('handle').end();
      consumer.end();
    });
    const tokens = await otel.tokens();
    const handle = tokens.find((t) => t.exec_act === 'handle')!;
    expect(handle.pred).toEqual([claimsOf(produced).jti]);
  });

  it('without a live span, does nothing and throws nothing', () => {
    otel = createOtelFixture();
    expect(otel.bridge.addPredecessors('garbage')).toEqual([]);
  });
});
