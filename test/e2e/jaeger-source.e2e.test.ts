// The Jaeger audit source against a real Jaeger v2 (in-memory storage, test/e2e/jaeger-config.yaml):
// spans carrying `ect.*` attributes and signed tokens are sent to Jaeger's own OTLP/HTTP receiver,
// then read back through the query API v3 by trace id and by a paged search, and compared with what
// was sent (ids, times to the nanosecond, attributes, tokens). Also Jaeger's real answers to an
// unknown trace and to an empty search.
//
// The binary comes from test/e2e/build-tools.sh (built from the Go module proxy into
// ~/.cache/ect-otel-tools/<key>; JAEGER_BIN overrides it), started here on free loopback ports with
// nothing else (no Collector). Every wait is bounded; afterAll stops Jaeger even when a test failed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerSource } from '../../src/audit/sources/jaeger.js';
import type { SourceRecord } from '../../src/audit/sources/types.js';
import { makeIssuer, validClaims } from '../helpers/ect.js';
import { freePorts, REPO_ROOT } from '../helpers/processes.js';

/** A cold build of the Go binaries on a 2-core machine; warm, build-tools.sh returns at once. */
const BUILD_TIMEOUT_MS = 40 * 60_000;
const READY_TIMEOUT_MS = 60_000;
const ARRIVAL_TIMEOUT_MS = 30_000;

let jaeger: ChildProcess | undefined;
let jaegerLog = '';
let queryUrl = '';
let otlpUrl = '';

function jaegerBinary(): string {
  if (process.env.JAEGER_BIN) return process.env.JAEGER_BIN;
  const envFile = execFileSync('bash', [join(REPO_ROOT, 'test/e2e/build-tools.sh'), '--env-file'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: BUILD_TIMEOUT_MS,
  }).trim();
  const line = readFileSync(envFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('JAEGER_BIN='));
  if (line === undefined) throw new Error(`no JAEGER_BIN in ${envFile}`);
  return line.slice('JAEGER_BIN='.length);
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (jaeger?.exitCode !== null && jaeger?.exitCode !== undefined) {
      throw new Error(`jaeger exited (${jaeger.exitCode}) while waiting for ${what}\n${jaegerLog.slice(-3000)}`);
    }
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${jaegerLog.slice(-3000)}`);
    await sleep(200);
  }
}

beforeAll(async () => {
  const binary = jaegerBinary();
  const [otlpGrpc, otlpHttp, queryHttp, queryGrpc] = await freePorts(4);
  queryUrl = `http://127.0.0.1:${queryHttp}`;
  otlpUrl = `http://127.0.0.1:${otlpHttp}/v1/traces`;
  jaeger = spawn(binary, ['--config', join(REPO_ROOT, 'test/e2e/jaeger-config.yaml')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ECT_JAEGER_OTLP_GRPC_ENDPOINT: `127.0.0.1:${otlpGrpc}`,
      ECT_JAEGER_OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpHttp}`,
      ECT_JAEGER_QUERY_HTTP_ENDPOINT: `127.0.0.1:${queryHttp}`,
      ECT_JAEGER_QUERY_GRPC_ENDPOINT: `127.0.0.1:${queryGrpc}`,
      ECT_JAEGER_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  jaeger.stdout?.setEncoding('utf8').on('data', (t: string) => (jaegerLog += t));
  jaeger.stderr?.setEncoding('utf8').on('data', (t: string) => (jaegerLog += t));
  await waitFor('the Jaeger query API', READY_TIMEOUT_MS, async () =>
    (await fetch(`${queryUrl}/api/v3/services`)).ok ? true : undefined,
  );
}, BUILD_TIMEOUT_MS + READY_TIMEOUT_MS);

afterAll(async () => {
  if (jaeger === undefined || jaeger.exitCode !== null) return;
  const exited = new Promise((ok) => jaeger?.once('exit', ok));
  jaeger.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (jaeger.exitCode === null) jaeger.kill('SIGKILL');
});

// ---- what is sent ---------------------------------------------------------------------------------

interface SentSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  start: bigint;
  end: bigint;
  jti: string;
  token?: string;
}

const issuer = makeIssuer('ES256');
const randomHex = (octets: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(octets))).toString('hex');
/** Start times a few seconds ago, with nanoseconds that a microsecond store would round (Jaeger keeps them). */
const BASE = BigInt(Date.now() - 5_000) * 1_000_000n + 123_457n;

function workflow(offsetMs: number): SentSpan[] {
  const traceId = randomHex(16);
  const start = BASE + BigInt(offsetMs) * 1_000_000n;
  const root = { spanId: randomHex(8), jti: crypto.randomUUID() };
  const child = { spanId: randomHex(8), jti: crypto.randomUUID() };
  const token = (jti: string, act: string, pred: string[]) =>
    issuer.signer.sign(validClaims({ jti, exec_act: act, pred, iat: Math.floor(Date.now() / 1000) }));
  return [
    {
      traceId,
      ...root,
      name: 'POST /run',
      service: 'orders',
      start,
      end: start + 9_000_001n,
      token: token(root.jti, 'run', []),
    },
    {
      traceId,
      ...child,
      parentSpanId: root.spanId,
      name: 'POST /plan',
      service: 'agent-plan',
      start: start + 1_000_003n,
      end: start + 4_000_005n,
      token: token(child.jti, 'plan', [root.jti]),
    },
    // Tracked by the bridge without a token of its own.
    {
      traceId,
      spanId: randomHex(8),
      parentSpanId: root.spanId,
      name: 'internal',
      service: 'orders',
      start: start + 5_000_007n,
      end: start + 6_000_000n,
      jti: crypto.randomUUID(),
    },
  ];
}

function otlpRequest(spans: SentSpan[]) {
  const services = [...new Set(spans.map((s) => s.service))];
  return {
    resourceSpans: services.map((service) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          scope: { name: 'otel-ect' },
          spans: spans
            .filter((s) => s.service === service)
            .map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: 2,
              startTimeUnixNano: String(s.start),
              endTimeUnixNano: String(s.end),
              attributes: [
                { key: 'ect.jti', value: { stringValue: s.jti } },
                ...(s.token === undefined ? [] : [{ key: 'ect.token', value: { stringValue: s.token } }]),
              ],
              status: { code: 1 },
            })),
        },
      ],
    })),
  };
}

async function send(spans: SentSpan[]): Promise<void> {
  const response = await fetch(otlpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(otlpRequest(spans)),
  });
  expect(response.status, await response.text()).toBe(200);
}

async function collect(iterable: AsyncIterable<SourceRecord>): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for await (const record of iterable) records.push(record);
  return records;
}

// ---- tests --------------------------------------------------------------------------------------

describe('jaegerSource against a real Jaeger v2', () => {
  const traces = [workflow(0), workflow(700), workflow(1400)];
  const all = traces.flat();

  beforeAll(
    async () => {
      for (const trace of traces) await send(trace);
      // Until Jaeger's batch processor has stored the last span of every trace.
      for (const trace of traces) {
        await waitFor(`trace ${trace[0]?.traceId} in Jaeger`, ARRIVAL_TIMEOUT_MS, async () => {
          const records = await collect(
            jaegerSource({ url: queryUrl, traceIds: [trace[0]?.traceId as string] }).records(),
          );
          return records.filter((r) => r.kind === 'span').length === trace.length ? true : undefined;
        });
      }
    },
    ARRIVAL_TIMEOUT_MS * 3 + 10_000,
  );

  it('reads a trace by id exactly as sent: ids, times to the nanosecond, ect.* attributes, tokens bound to their spans', async () => {
    const trace = traces[0] as SentSpan[];
    const records = await collect(jaegerSource({ url: queryUrl, traceIds: [trace[0]?.traceId as string] }).records());
    const spans = records.flatMap((r) => (r.kind === 'span' ? [r.span] : []));
    expect(spans).toHaveLength(3);
    for (const sent of trace) {
      const span = spans.find((s) => s.spanId === sent.spanId);
      expect(span, sent.name).toMatchObject({
        traceId: sent.traceId,
        parentSpanId: sent.parentSpanId,
        name: sent.name,
        service: sent.service,
        kind: 'SERVER',
        status: { code: 'OK' },
        startTimeUnixNano: sent.start,
        endTimeUnixNano: sent.end,
      });
      expect(span?.attributes['ect.jti']).toBe(sent.jti);
    }
    const tokens = records.flatMap((r) => (r.kind === 'token' ? [r] : []));
    expect(tokens.map((t) => [t.token, t.traceId, t.spanId]).sort()).toEqual(
      trace.flatMap((s) => (s.token === undefined ? [] : [[s.token, s.traceId, s.spanId]])).sort(),
    );
  });

  it('finds every trace of a service by a search paged one trace at a time', async () => {
    const requested: string[] = [];
    const source = jaegerSource({
      url: queryUrl,
      service: 'orders',
      start: BASE - 1_000_000_000n,
      end: BASE + 10_000_000_000n,
      pageSize: 1,
      fetch: (input, init) => {
        requested.push(String(input));
        return fetch(input, init);
      },
    });
    const records = await collect(source.records());
    const spanIds = records.flatMap((r) => (r.kind === 'span' ? [r.span.spanId] : []));
    expect(spanIds.sort()).toEqual(all.map((s) => s.spanId).sort());
    expect(records.filter((r) => r.kind === 'token')).toHaveLength(all.filter((s) => s.token !== undefined).length);
    // Pages of one trace: the range had to be split.
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.every((u) => u.includes('query.num_traces=2'))).toBe(true);
  });

  it("reports Jaeger's answer to an unknown trace as ECT_AUDIT_TRACE_NOT_FOUND, and an empty range as no records", async () => {
    const missing = randomHex(16);
    const error = await collect(jaegerSource({ url: queryUrl, traceIds: [missing] }).records()).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ECT_AUDIT_TRACE_NOT_FOUND', httpStatus: 404 });
    expect((error as Error).message).toContain(missing);
    const empty = jaegerSource({
      url: queryUrl,
      service: 'orders',
      start: new Date('2020-01-01T00:00:00Z'),
      end: new Date('2020-01-02T00:00:00Z'),
    });
    expect(await collect(empty.records())).toEqual([]);
  });
});
