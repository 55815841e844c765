// The Tempo reader against a loopback HTTP server answering documents shaped as Tempo's HTTP API
// documentation shows them. Tempo itself cannot be installed on the machine these tests were written
// on (its licence keeps it out of the package registries there), so this reader has NOT been run
// against a live Tempo. The shapes, from the documentation:
//   GET /api/v2/traces/<id>  {"trace": {"resourceSpans": [...]}} (+ "status": "PARTIAL", "message")
//                            with trace and span ids in base64 (protobuf JSON), kinds as enum names;
//   GET /api/traces/<id>     {"batches": [...]} (Tempo 1.x: "instrumentationLibrarySpans");
//   GET /api/search?q=|tags=&start=&end=&limit=  {"traces": [{"traceID", "rootServiceName",
//                            "rootTraceName", "startTimeUnixNano", "durationMs"}], "metrics": {...}},
//                            trace ids without leading zeros, the list left out when empty; a trace
//                            found when it overlaps [start, end] (seconds), the first `limit` found
//                            in no particular order.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tempoSource } from '../../../src/audit/sources/tempo.js';
import type { AuditSourceReader, SourceRecord } from '../../../src/audit/sources/types.js';

interface FakeSpan {
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  start: bigint;
  end: bigint;
  token?: string;
}

interface FakeTrace {
  traceId: string;
  spans: FakeSpan[];
}

const T0 = 1_764_370_000_000_000_000n; // a whole second
const SECOND = 1_000_000_000n;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const b64 = (hexId: string) => Buffer.from(hexId, 'hex').toString('base64');

/** Tempo's protobuf JSON of a trace's resource spans: base64 ids, enum names, int64 as strings. */
function tempoBatches(trace: FakeTrace, legacy = false): unknown[] {
  const services = [...new Set(trace.spans.map((s) => s.service))];
  return services.map((service) => {
    const spans = trace.spans
      .filter((s) => s.service === service)
      .map((s) => ({
        traceId: b64(trace.traceId),
        spanId: b64(s.spanId),
        ...(s.parentSpanId === undefined ? {} : { parentSpanId: b64(s.parentSpanId) }),
        name: s.name,
        kind: 'SPAN_KIND_SERVER',
        startTimeUnixNano: String(s.start),
        endTimeUnixNano: String(s.end),
        attributes: [
          { key: 'http.status_code', value: { intValue: '200' } },
          ...(s.token === undefined ? [] : [{ key: 'ect.token', value: { stringValue: s.token } }]),
        ],
        status: {},
      }));
    const resource = { attributes: [{ key: 'service.name', value: { stringValue: service } }] };
    return legacy
      ? {
          resource,
          instrumentationLibrarySpans: [{ instrumentationLibrary: { name: 'otel-ect', version: '0.1.0' }, spans }],
        }
      : { resource, scopeSpans: [{ scope: { name: 'otel-ect', version: '0.1.0' }, spans }] };
  });
}

interface Recorded {
  url: URL;
  headers: IncomingMessage['headers'];
}

interface FakeTempo {
  url: string;
  requests: Recorded[];
  partial?: Set<string>;
  answer?: (req: Recorded, res: ServerResponse) => boolean;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const metrics = { inspectedBytes: '292781', completedJobs: 1, totalJobs: 1 };

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function firstStart(t: FakeTrace): bigint {
  let first = t.spans[0]?.start ?? 0n;
  for (const s of t.spans) if (s.start < first) first = s.start;
  return first;
}

function lastEnd(t: FakeTrace): bigint {
  let last = 0n;
  for (const s of t.spans) if (s.end > last) last = s.end;
  return last;
}

async function startTempo(traces: FakeTrace[]): Promise<FakeTempo> {
  const fake: FakeTempo = { url: '', requests: [] };
  const byId = new Map(traces.map((t) => [t.traceId, t]));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const recorded = { url, headers: req.headers };
    fake.requests.push(recorded);
    if (fake.answer?.(recorded, res)) return;
    const byIdPath = /^\/api\/(v2\/)?traces\/([0-9a-fA-F]+)$/.exec(url.pathname);
    if (byIdPath !== null) {
      const trace = byId.get((byIdPath[2] as string).toLowerCase().padStart(32, '0'));
      if (trace === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('trace not found');
      }
      if (byIdPath[1] === undefined)
        return json(res, 200, { batches: tempoBatches(trace, trace.traceId.endsWith('1')) });
      const partial = fake.partial?.has(trace.traceId);
      return json(res, 200, {
        trace: { resourceSpans: tempoBatches(trace) },
        ...(partial ? { status: 'PARTIAL', message: 'trace exceeds max size (max bytes: 5000000)' } : {}),
      });
    }
    if (url.pathname === '/api/search') {
      const start = BigInt(url.searchParams.get('start') ?? '0') * SECOND;
      const end = BigInt(url.searchParams.get('end') ?? '0') * SECOND;
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const q = url.searchParams.get('q');
      const tags = url.searchParams.get('tags');
      let service: string | undefined;
      if (q !== null) {
        const m = /^\{ resource\.service\.name = "([^"]*)" \}$/.exec(q);
        if (m === null && q !== '{}') return json(res, 400, { error: `unsupported query in this fake: ${q}` });
        service = m?.[1];
      } else if (tags !== null) {
        service = /service\.name=(\S+)/.exec(tags)?.[1];
      }
      const found = traces.filter((t) => {
        const first = firstStart(t);
        const last = lastEnd(t);
        const matches = t.spans.some(
          (s) => service === undefined || s.service.toLowerCase().includes(service.toLowerCase()),
        );
        return matches && first <= end && last >= start;
      });
      // "takes the first N results": here the newest first, so a window's hits are not its oldest.
      const hits = found.reverse().slice(0, limit);
      if (hits.length === 0) return json(res, 200, { metrics });
      return json(res, 200, {
        traces: hits.map((t) => {
          const first = firstStart(t);
          const root = t.spans.find((s) => s.parentSpanId === undefined);
          return {
            traceID: t.traceId.replace(/^0+/, ''),
            rootServiceName: root?.service ?? '<root span not yet received>',
            rootTraceName: root?.name,
            startTimeUnixNano: String(first),
            durationMs: 10,
          };
        }),
        metrics,
      });
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found\n');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

async function collect(source: AuditSourceReader): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for await (const record of source.records()) records.push(record);
  return records;
}

function trace(n: number, start: bigint, service = 'orders', length = 2n * SECOND): FakeTrace {
  const traceId = hex(0x7e000000 + n * 16, 32).replace(/0$/, String(n % 2)); // odd n ends in 1
  const root = hex(n * 16 + 1, 16);
  return {
    traceId,
    spans: [
      { spanId: root, name: 'POST /run', service, start, end: start + length, token: `tok.${n}.root` },
      {
        spanId: hex(n * 16 + 2, 16),
        parentSpanId: root,
        name: 'POST /plan',
        service: 'agent-plan',
        start: start + 1000n,
        end: start + length / 2n,
        token: `tok.${n}.plan`,
      },
    ],
  };
}

const spanTraceIds = (records: SourceRecord[]) => records.flatMap((r) => (r.kind === 'span' ? [r.span.traceId] : []));

describe('tempoSource: traces by id', () => {
  it('reads /api/v2/traces/{id}: base64 ids as hex, enum kinds, every span and each ect.token bound to its span', async () => {
    const t = trace(2, T0);
    const tempo = await startTempo([t]);
    const source = tempoSource({ url: `${tempo.url}/`, traceIds: [t.traceId], tenant: 'acme' });
    expect(source.kind).toBe('tempo');
    expect(source.location).toBe(tempo.url);
    const records = await collect(source);
    expect(records.map((r) => (r.kind === 'span' ? `span ${r.span.name}` : `token ${r.token}`))).toEqual([
      'span POST /run',
      'token tok.2.root',
      'span POST /plan',
      'token tok.2.plan',
    ]);
    const plan = records.find((r) => r.kind === 'span' && r.span.name === 'POST /plan');
    expect(plan?.kind === 'span' && plan.span).toMatchObject({
      traceId: t.traceId,
      spanId: t.spans[1]?.spanId,
      parentSpanId: t.spans[0]?.spanId,
      service: 'agent-plan',
      scope: 'otel-ect',
      kind: 'SERVER',
      status: { code: 'UNSET' },
      startTimeUnixNano: T0 + 1000n,
      attributes: { 'http.status_code': 200 },
    });
    expect(records[3]).toEqual({
      kind: 'token',
      token: 'tok.2.plan',
      at: `tempo:trace ${t.traceId} span ${t.spans[1]?.spanId}`,
      traceId: t.traceId,
      spanId: t.spans[1]?.spanId,
    });
    expect(tempo.requests.map((r) => r.url.pathname)).toEqual([`/api/v2/traces/${t.traceId}`]);
    expect(tempo.requests[0]?.headers['x-scope-orgid']).toBe('acme');
  });

  it('reads /api/traces/{id} (v1): "batches", with Tempo 1.x\'s instrumentationLibrarySpans too', async () => {
    const legacy = trace(1, T0); // its id ends in 1: the fake answers it the Tempo 1.x way
    const current = trace(4, T0);
    const tempo = await startTempo([legacy, current]);
    const records = await collect(
      tempoSource({ url: tempo.url, traceIds: [legacy.traceId, current.traceId], api: 'v1' }),
    );
    expect(records.filter((r) => r.kind === 'span')).toHaveLength(4);
    expect(records.filter((r) => r.kind === 'token').map((r) => r.kind === 'token' && r.token)).toEqual([
      'tok.1.root',
      'tok.1.plan',
      'tok.4.root',
      'tok.4.plan',
    ]);
    const first = records[0];
    expect(first?.kind === 'span' && first.span).toMatchObject({ traceId: legacy.traceId, scope: 'otel-ect' });
    expect(tempo.requests.map((r) => r.url.pathname)).toEqual([
      `/api/traces/${legacy.traceId}`,
      `/api/traces/${current.traceId}`,
    ]);
  });

  it('an unknown trace: ECT_AUDIT_TRACE_NOT_FOUND naming it, with the v1 hint on v2', async () => {
    const tempo = await startTempo([]);
    const error = await collect(tempoSource({ url: tempo.url, traceIds: ['abc'] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECT_AUDIT_TRACE_NOT_FOUND', httpStatus: 404 });
    expect((error as Error).message).toContain(`Tempo at ${tempo.url} has no trace ${'abc'.padStart(32, '0')}`);
    expect((error as Error).message).toContain('try the v1 API');
  });

  it('a trace Tempo returns only in part: ECT_AUDIT_TRACE_PARTIAL, or the callback and the spans it has', async () => {
    const t = trace(6, T0);
    const tempo = await startTempo([t]);
    tempo.partial = new Set([t.traceId]);
    const error = await collect(tempoSource({ url: tempo.url, traceIds: [t.traceId] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECT_AUDIT_TRACE_PARTIAL' });
    expect((error as Error).message).toContain('trace exceeds max size');
    const told: string[] = [];
    const records = await collect(
      tempoSource({
        url: tempo.url,
        traceIds: [t.traceId],
        onPartialTrace: (id, message) => told.push(`${id}: ${message}`),
      }),
    );
    expect(told).toEqual([`${t.traceId}: trace exceeds max size (max bytes: 5000000)`]);
    expect(records.filter((r) => r.kind === 'span')).toHaveLength(2);
  });

  it("an error answer: ECT_AUDIT_SOURCE_HTTP with Tempo's plain-text message; a non-trace JSON: ECT_AUDIT_SOURCE_INVALID", async () => {
    const tempo = await startTempo([]);
    tempo.answer = (req, res) => {
      if (req.url.pathname.endsWith('1')) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('rpc error: code = Unavailable desc = no queriers\n');
      } else json(res, 200, { trace: { resourceSpans: 'nope' } });
      return true;
    };
    const failed = await collect(tempoSource({ url: tempo.url, traceIds: ['1'] })).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'ECT_AUDIT_SOURCE_HTTP', httpStatus: 500 });
    expect((failed as Error).message).toBe(
      `${tempo.url}/api/v2/traces/${'1'.padStart(32, '0')} answered HTTP 500: rpc error: code = Unavailable desc = no queriers`,
    );
    const invalid = await collect(tempoSource({ url: tempo.url, traceIds: ['2'] })).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'ECT_AUDIT_SOURCE_INVALID' });
  });
});

describe('tempoSource: search, paged over the time range', () => {
  it('finds every trace of the service once, long traces included, through small pages (TraceQL)', async () => {
    const mine = Array.from({ length: 40 }, (_, i) => trace(10 + i, T0 + BigInt(i) * 15n * SECOND));
    // Traces that last minutes overlap many windows; one began before the range.
    const long = [
      trace(60, T0 + 100n * SECOND, 'orders', 400n * SECOND),
      trace(62, T0 - 30n * SECOND, 'orders', 120n * SECOND),
    ];
    const others = Array.from({ length: 20 }, (_, i) => trace(70 + i, T0 + BigInt(i) * 20n * SECOND, 'billing'));
    const tempo = await startTempo([...mine, ...long, ...others]);
    const records = await collect(
      tempoSource({ url: tempo.url, service: 'orders', start: T0, end: T0 + 600n * SECOND + 1n, pageSize: 6 }),
    );
    const ids = spanTraceIds(records);
    const expected = [...mine, ...long].map((t) => t.traceId);
    expect([...new Set(ids)].sort()).toEqual(expected.sort());
    expect(ids).toHaveLength(expected.length * 2); // each trace read once
    expect(records.filter((r) => r.kind === 'token')).toHaveLength(expected.length * 2);
    const searches = tempo.requests.filter((r) => r.url.pathname === '/api/search');
    expect(searches.length).toBeLessThan(60);
    for (const r of searches) {
      expect(r.url.searchParams.get('q')).toBe('{ resource.service.name = "orders" }');
      expect(r.url.searchParams.get('start')).toMatch(/^\d+$/);
      expect(r.url.searchParams.get('spss')).toBe('1');
    }
    // The range is taken in whole seconds: its end rounded up.
    expect(searches[0]?.url.searchParams.get('end')).toBe(String(T0 / SECOND + 601n));
    // Trace ids come back from search without leading zeros; they are read by their full id.
    const reads = tempo.requests.filter((r) => r.url.pathname.startsWith('/api/v2/traces/'));
    expect(reads).toHaveLength(expected.length);
    for (const r of reads) expect(r.url.pathname).toMatch(/\/[0-9a-f]{32}$/);
  });

  it('uses a tag search (logfmt) when asked, for Tempo releases without TraceQL', async () => {
    const tempo = await startTempo([trace(90, T0)]);
    const records = await collect(
      tempoSource({
        url: tempo.url,
        tags: 'http.method=POST',
        service: 'orders',
        start: T0,
        end: T0 + 60n * SECOND,
        api: 'v1',
      }),
    );
    expect(records.filter((r) => r.kind === 'span')).toHaveLength(2);
    const [search] = tempo.requests;
    expect(search?.url.searchParams.get('tags')).toBe('http.method=POST service.name=orders');
    expect(search?.url.searchParams.has('q')).toBe(false);
  });

  it('an empty answer ({"metrics": …} only) is no trace; a search answer of another shape is refused', async () => {
    const tempo = await startTempo([]);
    expect(await collect(tempoSource({ url: tempo.url, start: T0, end: T0 + SECOND }))).toEqual([]);
    expect(tempo.requests[0]?.url.searchParams.get('q')).toBe('{}');
    tempo.answer = (_req, res) => {
      json(res, 200, { traces: { traceID: 'abc' } });
      return true;
    };
    const error = await collect(tempoSource({ url: tempo.url, start: T0, end: T0 + SECOND })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECT_AUDIT_SOURCE_INVALID' });
    tempo.answer = (_req, res) => {
      json(res, 200, { traces: [{ traceID: 'not-an-id' }] });
      return true;
    };
    const badId = await collect(tempoSource({ url: tempo.url, start: T0, end: T0 + SECOND })).catch((e: unknown) => e);
    expect(badId).toMatchObject({ code: 'ECT_AUDIT_SOURCE_INVALID' });
    expect((badId as Error).message).toContain('"not-an-id"');
  });

  it('refuses an unknown trace API version', () => {
    expect(() => tempoSource({ url: 'http://127.0.0.1:1', api: 'v3' as 'v2' })).toThrow(
      expect.objectContaining({ code: 'ECT_AUDIT_SOURCE_SPEC_INVALID' }),
    );
  });
});
