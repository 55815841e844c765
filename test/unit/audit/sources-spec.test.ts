// The command-line form of the tracing-backend sources (`jaeger:URL?…`, `tempo:URL?…`), and the
// pieces the readers share: the time-window walk that pages a cursor-less search (a property test
// against a simulated backend whose answers to a full window are an arbitrary subset), and the
// answer helpers (several JSON texts in one body, base64 ids).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTraceSourceSpec, traceSourceFromSpec } from '../../../src/audit/sources/backend-spec.js';
import { backendEndpoint, jsonValues } from '../../../src/audit/sources/http-json.js';
import { hexId } from '../../../src/audit/sources/otlp-shape.js';
import { rfc3339Nano, walkTimeWindows } from '../../../src/audit/sources/time-windows.js';

const NOW = new Date('2026-11-29T02:00:00.000Z');
const now = () => NOW;

describe('parseTraceSourceSpec', () => {
  it('reads a Jaeger search: service and a relative range, the options taken off the URL', () => {
    const spec = parseTraceSourceSpec(
      'jaeger:http://127.0.0.1:16686/jaeger?service=orders&since=2h&page=50&timeout=10s',
      { now },
    );
    expect(spec.kind).toBe('jaeger');
    expect(spec.options).toMatchObject({
      url: 'http://127.0.0.1:16686/jaeger',
      service: 'orders',
      start: new Date('2026-11-29T00:00:00.000Z'),
      pageSize: 50,
      timeoutMs: 10_000,
    });
    expect(spec.options.end).toBeUndefined();
    expect(spec.options.traceIds).toBeUndefined();
  });

  it('reads trace ids (repeated or comma-separated) and an explicit range', () => {
    const spec = parseTraceSourceSpec(
      'JAEGER:https://jaeger.example/?trace=4bf92f3577b34da6a3ce929d0e0e4736,abc&trace=def&from=2026-11-28T00:00:00Z&to=2026-11-28T06:00:00Z',
    );
    expect(spec.options.traceIds).toEqual(['4bf92f3577b34da6a3ce929d0e0e4736', 'abc', 'def']);
    expect(spec.options.start).toEqual(new Date('2026-11-28T00:00:00Z'));
    expect(spec.options.end).toEqual(new Date('2026-11-28T06:00:00Z'));
  });

  it('reads the Tempo options (TraceQL, tags, api, tenant) and `since` counted back from `to`', () => {
    const spec = parseTraceSourceSpec(
      `tempo:http://127.0.0.1:3200?q=${encodeURIComponent('{ span.ect.jti != nil }')}&api=v1&tenant=acme&since=30m&to=2026-11-28T12:00:00Z`,
    );
    expect(spec).toMatchObject({
      kind: 'tempo',
      options: {
        url: 'http://127.0.0.1:3200/',
        query: '{ span.ect.jti != nil }',
        api: 'v1',
        tenant: 'acme',
        start: new Date('2026-11-28T11:30:00Z'),
        end: new Date('2026-11-28T12:00:00Z'),
      },
    });
    expect(parseTraceSourceSpec('tempo:http://h:3200?tags=service.name%3Dorders').options).toMatchObject({
      tags: 'service.name=orders',
    });
  });

  it.each([
    ['zipkin:http://127.0.0.1:9411', /jaeger:URL or tempo:URL/],
    ['jaeger:not a url', /not a URL/],
    ['jaeger:http://127.0.0.1:16686?servce=orders', /unknown option "servce"/],
    ['jaeger:http://127.0.0.1:16686?q={}', /unknown option "q"/], // TraceQL is Tempo's
    ['jaeger:http://127.0.0.1:16686?service=a&service=b', /service given twice/],
    ['jaeger:http://127.0.0.1:16686?since=2hours', /since must be a duration/],
    ['jaeger:http://127.0.0.1:16686?since=1h&from=2026-11-28T00:00:00Z', /since or from, not both/],
    ['jaeger:http://127.0.0.1:16686?from=1764370000', /RFC 3339/],
    ['jaeger:http://127.0.0.1:16686?page=0', /page must be a positive integer/],
    ['tempo:http://127.0.0.1:3200?api=v3', /api is v1 or v2/],
  ])('refuses %s', (text, message) => {
    expect(() => parseTraceSourceSpec(text)).toThrow(
      expect.objectContaining({ code: 'ECT_AUDIT_SOURCE_SPEC_INVALID' }),
    );
    expect(() => parseTraceSourceSpec(text)).toThrow(message);
  });

  it('never repeats credentials in its messages', () => {
    for (const text of [
      'jaeger:http://user:s3cret@127.0.0.1:16686?nope=1',
      'jager:http://user:s3cret@h',
      'tempo:http://user:s3cret@h?api=x',
    ]) {
      expect(() => parseTraceSourceSpec(text)).toThrow(
        expect.not.objectContaining({ message: expect.stringContaining('s3cret') }),
      );
    }
  });
});

describe('traceSourceFromSpec', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('makes the reader the specification names, credentials moved into a header', async () => {
    const seen: { path: string; authorization: string | undefined }[] = [];
    const server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"metrics":{}}');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const source = traceSourceFromSpec(`tempo:http://u:p@127.0.0.1:${port}/tempo?service=orders&since=5m`, { now });
    expect(source).toMatchObject({ kind: 'tempo', location: `http://127.0.0.1:${port}/tempo` });
    for await (const _ of source.records()) throw new Error('no traces expected');
    expect(seen[0]?.path).toMatch(/^\/tempo\/api\/search\?q=/);
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(traceSourceFromSpec('jaeger:http://127.0.0.1:16686?trace=ab', { tenant: 'ignored' })).toMatchObject({
      kind: 'jaeger',
      location: 'http://127.0.0.1:16686',
    });
  });
});

describe('walkTimeWindows', () => {
  /** A simulated search backend: traces as [start, end] intervals; a full window answers any `limit` of its matches. */
  const walkAll = async (
    traces: { id: number; start: bigint; end: bigint }[],
    range: { start: bigint; end: bigint },
    pageSize: number,
    pick: (matches: number, limit: number, salt: number) => number[],
  ) => {
    const yielded: number[] = [];
    let salt = 0;
    const search = async (window: { start: bigint; end: bigint }, limit: number) => {
      // Tempo-like: a trace matches a window it overlaps (both ends inclusive, like the real ones).
      const matches = traces.filter((t) => t.start <= window.end && t.end >= window.start);
      const chosen =
        matches.length > limit
          ? pick(matches.length, limit, salt++).map((i) => matches[i] as (typeof matches)[number])
          : matches;
      return chosen;
    };
    const walk = walkTimeWindows(
      range,
      { pageSize, maxPageSize: 4096, minWidth: 1n, maxRequests: 100_000, where: 'sim' },
      search,
      (t) => t.start,
    );
    for await (const hit of walk) yielded.push(hit.id);
    return yielded;
  };

  it('yields every trace that starts in the range or overlaps its start, exactly once, whatever subset full answers hold', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 2000n }), fc.bigInt({ min: 0n, max: 300n })), { maxLength: 120 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer(),
        async (intervals, pageSize, seed) => {
          const traces = intervals.map(([start, length], id) => ({ id, start, end: start + length }));
          const range = { start: 500n, end: 1500n };
          const pick = (matches: number, limit: number, salt: number) => {
            // A deterministic pseudo-random subset of `limit` indexes.
            const order = Array.from({ length: matches }, (_, i) => i);
            let x = (seed ^ (salt * 2654435761)) >>> 0;
            for (let i = order.length - 1; i > 0; i--) {
              x = (x * 1103515245 + 12345) >>> 0;
              const j = x % (i + 1);
              [order[i], order[j]] = [order[j] as number, order[i] as number];
            }
            return order.slice(0, limit);
          };
          const yielded = await walkAll(traces, range, pageSize, pick);
          const expected = traces
            .filter((t) => t.end >= range.start && t.start < range.end)
            .map((t) => t.id)
            .sort((a, b) => a - b);
          expect([...yielded].sort((a, b) => a - b)).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('writes RFC 3339 with nanoseconds', () => {
    expect(rfc3339Nano(1_764_370_000_123_456_789n)).toBe('2025-11-28T22:46:40.123456789Z');
    expect(rfc3339Nano(0n)).toBe('1970-01-01T00:00:00.000000000Z');
  });
});

describe('answer helpers', () => {
  const url = new URL('http://127.0.0.1:16686/api/v3/traces');

  it('jsonValues reads one JSON text, or several in a row (newline-delimited, concatenated, RFC 7464)', () => {
    expect(jsonValues('{"result":{}}', url)).toEqual([{ result: {} }]);
    expect(jsonValues('{"a":"}{"}\n{"b":[1,{"c":"\\"]"}]}\n', url)).toEqual([{ a: '}{' }, { b: [1, { c: '"]' }] }]);
    expect(jsonValues('{"a":1}{"b":2}', url)).toEqual([{ a: 1 }, { b: 2 }]);
    expect(jsonValues('\u001e{"a":1}\n\u001e{"b":2}\n', url)).toEqual([{ a: 1 }, { b: 2 }]);
    for (const bad of ['', 'null x', '{"a":1', '{"a":1} 2', '<html>']) {
      expect(() => jsonValues(bad, url)).toThrow(expect.objectContaining({ code: 'ECT_AUDIT_SOURCE_INVALID' }));
    }
  });

  it('hexId turns protobuf-JSON base64 ids into hex and leaves hex (and anything else) alone', () => {
    expect(hexId('W47/95gDgQPSabYzgT/HAA==', 16)).toBe('5b8efff798038103d269b633813fc700');
    expect(hexId('7uGbfsPBsQA=', 8)).toBe('eee19b7ec3c1b100');
    expect(hexId('5B8EFFF798038103D269B633813FC700', 16)).toBe('5b8efff798038103d269b633813fc700');
    expect(hexId('eee19b7ec3c1b100', 8)).toBe('eee19b7ec3c1b100');
    expect(hexId('', 8)).toBe('');
    expect(hexId('not an id', 8)).toBe('not an id');
    expect(hexId(undefined, 8)).toBeUndefined();
  });

  it('backendEndpoint keeps the base path, drops credentials from the location', () => {
    const endpoint = backendEndpoint('https://a%40b:p%3Ass@tempo.example/prefix/?x=1#f', { 'x-scope-orgid': 't' });
    expect(endpoint.location).toBe('https://tempo.example/prefix');
    expect(endpoint.basePath).toBe('/prefix');
    expect(endpoint.headers).toEqual({
      'x-scope-orgid': 't',
      authorization: `Basic ${Buffer.from('a@b:p:ss').toString('base64')}`,
    });
  });
});
