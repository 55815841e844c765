// The Jaeger query API v3 reader against a loopback HTTP server that answers the way Jaeger 2.x's
// hand-written v3 gateway and its in-memory store do (read from Jaeger's source): trace by id as
// {"result": TracesData} in OTLP JSON with hex ids, 404 {"error":{"httpCode":404,"message":"No
// traces found"}} for an unknown trace or an empty search, `query.num_traces` as the search depth,
// a trace matched when one of its spans (of the service) starts within [start_time_min,
// start_time_max], traces answered most recently stored first. The same reader against a real
// Jaeger is in test/e2e/jaeger-source.e2e.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EctAuditSourceError } from '../../../src/base/errors.js';
import { jaegerSource } from '../../../src/audit/sources/jaeger.js';
import type { AuditSourceReader, SourceRecord } from '../../../src/audit/sources/types.js';

// ---- a Jaeger-shaped loopback server ----------------------------------------------------------------

interface FakeSpan {
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  /** Nanoseconds since the epoch. */
  start: bigint;
  token?: string;
}

interface FakeTrace {
  traceId: string;
  spans: FakeSpan[];
}

const T0 = 1_764_370_000_000_000_000n; // 2025-11-28T22:46:40Z
const SECOND = 1_000_000_000n;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function otlpResourceSpans(trace: FakeTrace): unknown[] {
  const services = [...new Set(trace.spans.map((s) => s.service))];
  return services.map((service) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [
      {
        scope: { name: 'otel-ect' },
        spans: trace.spans
          .filter((s) => s.service === service)
          .map((s) => ({
            traceId: trace.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: 2,
            startTimeUnixNano: String(s.start),
            endTimeUnixNano: String(s.start + 1_000_000n),
            attributes: [
              { key: 'ect.jti', value: { stringValue: `jti-${s.spanId}` } },
              ...(s.token === undefined ? [] : [{ key: 'ect.token', value: { stringValue: s.token } }]),
            ],
            status: {},
          })),
      },
    ],
  }));
}

interface Recorded {
  url: URL;
  headers: IncomingMessage['headers'];
}

interface FakeJaeger {
  url: string;
  requests: Recorded[];
  /** Overrides the answer to the next requests (status, body), when set. */
  answer?: (req: Recorded, res: ServerResponse) => boolean;
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function jaegerError(res: ServerResponse, status: number, message: string) {
  // Go's http.Error: text/plain, the JSON error body, a trailing newline.
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${JSON.stringify({ error: { httpCode: status, message } })}\n`);
}

async function startJaeger(traces: FakeTrace[]): Promise<FakeJaeger> {
  const fake: FakeJaeger = { url: '', requests: [], close: async () => undefined };
  const byId = new Map(traces.map((t) => [t.traceId, t]));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const recorded = { url, headers: req.headers };
    fake.requests.push(recorded);
    if (fake.answer?.(recorded, res)) return;
    const single = /^\/api\/v3\/traces\/([^/]+)$/.exec(url.pathname);
    if (single !== null) {
      const id = single[1] as string;
      if (!/^[0-9a-f]{1,32}$/.test(id)) return jaegerError(res, 400, `malformed parameter trace_id: ${id}`);
      const trace = byId.get(id.padStart(32, '0'));
      if (trace === undefined) return jaegerError(res, 404, 'No traces found');
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ result: { resourceSpans: otlpResourceSpans(trace) } }));
    }
    if (url.pathname === '/api/v3/traces') {
      const min = url.searchParams.get('query.start_time_min');
      const max = url.searchParams.get('query.start_time_max');
      if (min === null || max === null) {
        return jaegerError(res, 400, 'query.start_time_min and query.start_time_max are required');
      }
      const depth = Number(url.searchParams.get('query.num_traces') ?? 0);
      if (!(depth > 0)) return jaegerError(res, 500, 'search depth must be greater than 0');
      const lo = nanosOfIso(min);
      const hi = nanosOfIso(max);
      const service = url.searchParams.get('query.service_name') ?? '';
      const found: FakeTrace[] = [];
      // The memory store walks its ring from the most recently stored trace.
      for (const trace of [...traces].reverse()) {
        if (found.length === depth) break;
        const matches = trace.spans.some(
          (s) => (service === '' || s.service === service) && s.start >= lo && s.start <= hi,
        );
        if (matches) found.push(trace);
      }
      if (found.length === 0) return jaegerError(res, 404, 'No traces found');
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ result: { resourceSpans: found.flatMap(otlpResourceSpans) } }));
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('404 page not found\n');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** RFC 3339 with up to nine fractional digits, as Go's time.RFC3339Nano parses it, to nanoseconds. */
function nanosOfIso(text: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (m === null) throw new Error(`not RFC 3339: ${text}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

async function collect(source: AuditSourceReader, signal?: AbortSignal): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for await (const record of source.records(signal)) records.push(record);
  return records;
}

function workflowTrace(n: number, start: bigint): FakeTrace {
  const traceId = hex(0xabc00000 + n, 32);
  return {
    traceId,
    spans: [
      { spanId: hex(n * 16 + 1, 16), name: 'POST /run', service: 'orchestrator', start, token: `tok.${n}.root` },
      {
        spanId: hex(n * 16 + 2, 16),
        parentSpanId: hex(n * 16 + 1, 16),
        name: 'POST /plan',
        service: 'agent-plan',
        start: start + 5_000_000n,
        token: `tok.${n}.plan`,
      },
      // A span the bridge tracked without a token (e.g. one that passes its frontier through).
      {
        spanId: hex(n * 16 + 3, 16),
        parentSpanId: hex(n * 16 + 1, 16),
        name: 'internal',
        service: 'orchestrator',
        start: start + 9_000_000n,
      },
    ],
  };
}

const traceIdsOf = (records: SourceRecord[]) => [
  ...new Set(records.flatMap((r) => (r.kind === 'span' ? [r.span.traceId] : []))),
];

// ---- tests --------------------------------------------------------------------------------------

describe('jaegerSource: traces by id', () => {
  it('yields every span of each trace, each followed by the token of its ect.token attribute, bound to it', async () => {
    const traces = [workflowTrace(1, T0), workflowTrace(2, T0 + SECOND)];
    const jaeger = await startJaeger(traces);
    const source = jaegerSource({
      url: jaeger.url,
      traceIds: [traces[1]?.traceId as string, traces[0]?.traceId as string],
    });
    expect(source.kind).toBe('jaeger');
    expect(source.location).toBe(jaeger.url);
    const records = await collect(source);
    expect(records.map((r) => (r.kind === 'span' ? `span ${r.span.name}` : `token ${r.token}`))).toEqual([
      'span POST /run',
      'token tok.2.root',
      'span internal',
      'span POST /plan',
      'token tok.2.plan',
      'span POST /run',
      'token tok.1.root',
      'span internal',
      'span POST /plan',
      'token tok.1.plan',
    ]);
    const token = records.find((r) => r.kind === 'token' && r.token === 'tok.2.plan');
    expect(token).toMatchObject({ traceId: traces[1]?.traceId, spanId: hex(2 * 16 + 2, 16) });
    expect(token?.at).toBe(`jaeger:trace ${traces[1]?.traceId} span ${hex(2 * 16 + 2, 16)}`);
    const span = records.find((r) => r.kind === 'span' && r.span.name === 'POST /plan');
    expect(span?.kind === 'span' && span.span).toMatchObject({
      service: 'agent-plan',
      parentSpanId: hex(2 * 16 + 1, 16),
      kind: 'SERVER',
      startTimeUnixNano: T0 + SECOND + 5_000_000n,
      attributes: { 'ect.jti': `jti-${hex(2 * 16 + 2, 16)}` },
    });
    // Raw traces: Jaeger's clock-skew adjustment would move the times the tokens bind.
    expect(jaeger.requests.map((r) => `${r.url.pathname}?${r.url.searchParams}`)).toEqual([
      `/api/v3/traces/${traces[1]?.traceId}?raw_traces=true`,
      `/api/v3/traces/${traces[0]?.traceId}?raw_traces=true`,
    ]);
  });

  it('reads ids in any case, short ids padded, each trace once', async () => {
    const trace = workflowTrace(3, T0);
    const jaeger = await startJaeger([trace]);
    const short = trace.traceId.replace(/^0+/, '').toUpperCase();
    const records = await collect(jaegerSource({ url: jaeger.url, traceIds: [short, trace.traceId] }));
    expect(traceIdsOf(records)).toEqual([trace.traceId]);
    expect(jaeger.requests).toHaveLength(1);
  });

  it('refuses a malformed trace id before any request', () => {
    expect(() => jaegerSource({ url: 'http://127.0.0.1:1', traceIds: ['not-hex'] })).toThrow(
      expect.objectContaining({ code: 'ECT_AUDIT_SOURCE_SPEC_INVALID' }),
    );
  });

  it('says which trace Jaeger does not have (ECT_AUDIT_TRACE_NOT_FOUND), after the traces it has', async () => {
    const trace = workflowTrace(4, T0);
    const jaeger = await startJaeger([trace]);
    const missing = hex(0xdead, 32);
    const seen: SourceRecord[] = [];
    const error = await (async () => {
      for await (const r of jaegerSource({ url: jaeger.url, traceIds: [trace.traceId, missing] }).records())
        seen.push(r);
    })().catch((e: unknown) => e);
    expect(seen.filter((r) => r.kind === 'span')).toHaveLength(3);
    expect(error).toBeInstanceOf(EctAuditSourceError);
    expect(error).toMatchObject({ code: 'ECT_AUDIT_TRACE_NOT_FOUND', httpStatus: 404 });
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain(jaeger.url);
  });

  it('reads an answer streamed as several {"result": …} objects (gRPC-gateway releases)', async () => {
    const trace = workflowTrace(5, T0);
    const jaeger = await startJaeger([]);
    const [first, second] = otlpResourceSpans(trace);
    jaeger.answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        `${JSON.stringify({ result: { resourceSpans: [first] } })}\n${JSON.stringify({ result: { resourceSpans: [second] } })}\n`,
      );
      return true;
    };
    const records = await collect(jaegerSource({ url: jaeger.url, traceIds: [trace.traceId] }));
    expect(records.filter((r) => r.kind === 'span').map((r) => r.kind === 'span' && r.span.name)).toEqual([
      'POST /run',
      'internal',
      'POST /plan',
    ]);
  });
});

describe('jaegerSource: search, paged over the time range', () => {
  it('reads every trace of the range exactly once through small pages, oldest windows first', async () => {
    // 60 traces, one every 10 s, the window 10 minutes: with pages of 7 the walk must split.
    const traces = Array.from({ length: 60 }, (_, i) => workflowTrace(100 + i, T0 + BigInt(i) * 10n * SECOND));
    const jaeger = await startJaeger(traces);
    const source = jaegerSource({ url: jaeger.url, start: T0, end: T0 + 600n * SECOND, pageSize: 7 });
    const records = await collect(source);
    const ids = traceIdsOf(records);
    expect(ids.sort()).toEqual(traces.map((t) => t.traceId).sort());
    expect(records.filter((r) => r.kind === 'span')).toHaveLength(60 * 3);
    expect(records.filter((r) => r.kind === 'token')).toHaveLength(60 * 2);
    // Each trace's records are contiguous (yielded trace by trace).
    const order = records.flatMap((r) => (r.kind === 'span' ? [r.span.traceId] : []));
    expect(order.filter((id, i) => i === 0 || order[i - 1] !== id)).toHaveLength(60);
    // Bounded: a binary split of 60 traces over pages of 7 takes well under 60 requests.
    const searches = jaeger.requests.filter((r) => r.url.pathname === '/api/v3/traces');
    expect(searches.length).toBeLessThan(40);
    for (const r of searches) {
      // One more than a page, to tell a window holding exactly a page from one holding more.
      expect(r.url.searchParams.get('query.num_traces')).toBe('8');
      expect(r.url.searchParams.get('query.raw_traces')).toBe('true');
      expect(r.url.searchParams.get('query.start_time_min')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    }
  });

  it('yields a trace whose spans fall into several windows once, and only traces of the service', async () => {
    const long: FakeTrace = {
      traceId: hex(0x10ee, 32),
      spans: Array.from({ length: 12 }, (_, i) => ({
        spanId: hex(0x500 + i, 16),
        name: `step ${i}`,
        service: 'orders',
        start: T0 + BigInt(i) * 50n * SECOND,
        token: `tok.long.${i}`,
      })),
    };
    const others = Array.from({ length: 30 }, (_, i) => workflowTrace(200 + i, T0 + BigInt(i) * 20n * SECOND));
    const mine = Array.from({ length: 20 }, (_, i) => ({
      ...workflowTrace(300 + i, T0 + BigInt(i) * 30n * SECOND),
      spans: workflowTrace(300 + i, T0 + BigInt(i) * 30n * SECOND).spans.map((s) => ({ ...s, service: 'orders' })),
    }));
    const jaeger = await startJaeger([long, ...others, ...mine]);
    const records = await collect(
      jaegerSource({ url: jaeger.url, service: 'orders', start: T0, end: T0 + 700n * SECOND, pageSize: 4 }),
    );
    const ids = traceIdsOf(records);
    expect(ids.sort()).toEqual([long, ...mine].map((t) => t.traceId).sort());
    expect(records.filter((r) => r.kind === 'token' && r.token.startsWith('tok.long.'))).toHaveLength(12);
    for (const r of jaeger.requests) expect(r.url.searchParams.get('query.service_name')).toBe('orders');
  });

  it('asks again with a larger page where traces are too dense to split, and stops at the bound', async () => {
    const dense = Array.from({ length: 9 }, (_, i) => workflowTrace(400 + i, T0));
    const jaeger = await startJaeger(dense);
    const records = await collect(
      jaegerSource({ url: jaeger.url, start: T0, end: T0 + SECOND, pageSize: 2, maxPageSize: 16 }),
    );
    expect(traceIdsOf(records)).toHaveLength(9);
    const error = await collect(
      jaegerSource({ url: jaeger.url, start: T0, end: T0 + SECOND, pageSize: 2, maxPageSize: 8 }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECT_AUDIT_SOURCE_LIMIT' });
    const tooMany = await collect(
      jaegerSource({ url: jaeger.url, start: T0, end: T0 + SECOND, pageSize: 2, maxPageSize: 16, maxRequests: 5 }),
    ).catch((e: unknown) => e);
    expect(tooMany).toMatchObject({ code: 'ECT_AUDIT_SOURCE_LIMIT' });
    expect((tooMany as Error).message).toContain('more than 5 requests');
  });

  it('takes Jaeger 2.x\'s 404 "No traces found" for an empty range, and defaults to the last hour', async () => {
    const jaeger = await startJaeger([workflowTrace(500, T0)]);
    const now = new Date(Number((T0 + 7200n * SECOND) / 1_000_000n));
    expect(await collect(jaegerSource({ url: jaeger.url, now: () => now }))).toEqual([]);
    const [request] = jaeger.requests;
    expect(request?.url.searchParams.get('query.start_time_min')).toBe(
      new Date(now.getTime() - 3_600_000).toISOString().replace('Z', '000000Z'),
    );
    expect(request?.url.searchParams.get('query.start_time_max')).toBe(now.toISOString().replace('Z', '000000Z'));
  });

  it('searches when given an empty list of trace ids, over whole microseconds', async () => {
    const jaeger = await startJaeger([workflowTrace(501, T0)]);
    const records = await collect(
      jaegerSource({ url: jaeger.url, traceIds: [], start: T0 + 1n, end: T0 + SECOND - 1n }),
    );
    expect(records.filter((r) => r.kind === 'span')).toHaveLength(3);
    expect(jaeger.requests[0]?.url.searchParams.get('query.start_time_min')).toBe('2025-11-28T22:46:40.000000000Z');
    expect(jaeger.requests[0]?.url.searchParams.get('query.start_time_max')).toBe('2025-11-28T22:46:41.000000000Z');
  });
});

describe('jaegerSource: failures', () => {
  it('an unreachable backend: ECT_AUDIT_SOURCE_UNREACHABLE naming the URL without its credentials', async () => {
    const closed = await startJaeger([]);
    const port = new URL(closed.url).port;
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    const error = await collect(
      jaegerSource({ url: `http://auditor:s3cret@127.0.0.1:${port}`, traceIds: ['ab'] }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECT_AUDIT_SOURCE_UNREACHABLE' });
    expect((error as Error).message).toContain(`http://127.0.0.1:${port}/api/v3/traces/`);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('sends URL credentials as Basic authentication, never in the location', async () => {
    const trace = workflowTrace(600, T0);
    const jaeger = await startJaeger([trace]);
    const source = jaegerSource({
      url: jaeger.url.replace('http://', 'http://auditor:s3cr%40t@'),
      traceIds: [trace.traceId],
    });
    expect(source.location).toBe(jaeger.url);
    await collect(source);
    expect(jaeger.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('auditor:s3cr@t').toString('base64')}`);
  });

  it("a 5xx answer: ECT_AUDIT_SOURCE_HTTP with Jaeger's own message and the status", async () => {
    const jaeger = await startJaeger([]);
    jaeger.answer = (_req, res) => {
      jaegerError(res, 500, 'storage backend unavailable');
      return true;
    };
    const error = await collect(jaegerSource({ url: jaeger.url, start: T0, end: T0 + SECOND })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ECT_AUDIT_SOURCE_HTTP', httpStatus: 500 });
    expect((error as Error).message).toContain('answered HTTP 500: storage backend unavailable');
    expect((error as Error).message).toContain(`${jaeger.url}/api/v3/traces?`);
  });

  it("a 404 that is not Jaeger's (wrong base path): an HTTP error with a hint, never an empty result", async () => {
    const jaeger = await startJaeger([]);
    const error = await collect(jaegerSource({ url: `${jaeger.url}/not-jaeger`, start: T0, end: T0 + SECOND })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ECT_AUDIT_SOURCE_HTTP', httpStatus: 404 });
    expect((error as Error).message).toContain('/not-jaeger/api/v3/traces');
    expect((error as Error).message).toContain('404 page not found');
    expect((error as Error).message).toContain('serves /api/v3');
  });

  it('a body that is not JSON, or JSON that is not traces: ECT_AUDIT_SOURCE_INVALID', async () => {
    const jaeger = await startJaeger([]);
    jaeger.answer = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(req.url.pathname.endsWith('1') ? '<html>login</html>' : '{"services":["a"]}');
      return true;
    };
    const html = await collect(jaegerSource({ url: jaeger.url, traceIds: ['1'] })).catch((e: unknown) => e);
    expect(html).toMatchObject({ code: 'ECT_AUDIT_SOURCE_INVALID' });
    expect((html as Error).message).toContain('not JSON: <html>login</html>');
    const other = await collect(jaegerSource({ url: jaeger.url, traceIds: ['2'] })).catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'ECT_AUDIT_SOURCE_INVALID' });
    expect((other as Error).message).toContain('did not answer Jaeger api_v3 traces');
  });

  it('an oversized answer: ECT_AUDIT_SOURCE_TOO_LARGE, declared or streamed', async () => {
    const jaeger = await startJaeger([]);
    jaeger.answer = (req, res) => {
      const body = JSON.stringify({ result: { resourceSpans: [], padding: 'x'.repeat(10_000) } });
      if (req.url.pathname.endsWith('1')) res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      else res.writeHead(200); // chunked: no length declared
      res.end(body);
      return true;
    };
    for (const id of ['1', '2']) {
      const error = await collect(jaegerSource({ url: jaeger.url, traceIds: [id], maxAnswerBytes: 4096 })).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'ECT_AUDIT_SOURCE_TOO_LARGE' });
      expect((error as Error).message).toContain('4096-byte bound');
    }
  });

  it('a backend that does not answer in time: ECT_AUDIT_SOURCE_TIMEOUT', async () => {
    const jaeger = await startJaeger([]);
    jaeger.answer = () => true; // never answers
    const error = await collect(jaegerSource({ url: jaeger.url, traceIds: ['1'], timeoutMs: 150 })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ECT_AUDIT_SOURCE_TIMEOUT' });
    expect((error as Error).message).toContain('within 150 ms');
  });

  it("honours an AbortSignal: a pending request rejects with the signal's reason", async () => {
    const jaeger = await startJaeger([]);
    jaeger.answer = () => true;
    const controller = new AbortController();
    const pending = collect(jaegerSource({ url: jaeger.url, traceIds: ['1'] }), controller.signal).catch(
      (e: unknown) => e,
    );
    setTimeout(() => controller.abort(new Error('audit cancelled')), 50);
    expect(await pending).toMatchObject({ message: 'audit cancelled' });
    // And a signal given to the factory.
    const early = new AbortController();
    early.abort();
    const error = await collect(jaegerSource({ url: jaeger.url, traceIds: ['1'], signal: early.signal })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'AbortError' });
  });

  it('refuses what is not an http(s) URL, and bad bounds, when the reader is made', () => {
    expect(() => jaegerSource({ url: 'file:///etc/passwd' })).toThrow(
      expect.objectContaining({ code: 'ECT_AUDIT_SOURCE_SPEC_INVALID' }),
    );
    expect(() => jaegerSource({ url: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'ECT_AUDIT_SOURCE_SPEC_INVALID' }),
    );
    expect(() => jaegerSource({ url: 'http://127.0.0.1:1', pageSize: 0 })).toThrow(/pageSize/);
    expect(() => jaegerSource({ url: 'http://127.0.0.1:1', start: T0, end: T0 })).toThrow(/end after it starts/);
  });
});
