// The OTLP JSON reader of src/audit against what the SDK's own JSON serializers (the ones the
// bridge's file exporter uses) write for real spans and token log records, and against the forms
// other writers use (enum names, Jaeger's wrapper, int64 beyond 2^53, bytes, key-value lists).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { JsonLogsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { otlpRecordsInJson, readOtlpFiles, readTokenFiles, tokensInOtlpJson } from '../../../src/audit/index.js';
import { createOtelFixture, type OtelFixture } from '../../helpers/otel.js';

const dir = mkdtempSync(join(tmpdir(), 'ect-read-otlp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let otel: OtelFixture | undefined;
afterEach(async () => {
  await otel?.close();
  otel = undefined;
});

const nanosOf = (nanos: [number, number]) => BigInt(nanos[0]) * 1_000_000_000n + BigInt(nanos[1]);

describe('readOtlpFiles', () => {
  it('reads back spans and token log records exactly as the SDK serializer wrote them', async () => {
    otel = createOtelFixture();
    const fixture = otel;
    await fixture.tracer.startActiveSpan('parent', { kind: SpanKind.SERVER }, async (parent) => {
      await fixture.tracer.startActiveSpan(
        'child',
        { attributes: { 'a.int': 42, 'a.double': 1.5, 'a.bool': true, 'a.list': ['x', 'y'] } },
        async (child) => {
          child.addEvent('something', { 'e.count': 3 });
          child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
          child.end();
        },
      );
      parent.end();
    });
    const finished = await fixture.finished();
    await fixture.tokens();
    const records = fixture.logs.getFinishedLogRecords();
    const spansFile = join(dir, 'spans.jsonl');
    const logsFile = join(dir, 'tokens.jsonl');
    writeFileSync(spansFile, `${Buffer.from(JsonTraceSerializer.serializeRequest([...finished])!).toString('utf8')}\n`);
    writeFileSync(logsFile, `${Buffer.from(JsonLogsSerializer.serializeRequest([...records])!).toString('utf8')}\n`);

    const { spans, logRecords } = await readOtlpFiles([spansFile, logsFile]);
    expect(spans).toHaveLength(2);
    for (const written of finished) {
      const read = spans.find((s) => s.spanId === written.spanContext().spanId)!;
      expect(read.source).toEqual({ file: spansFile, line: 1 });
      expect(read).toMatchObject({
        traceId: written.spanContext().traceId,
        parentSpanId: written.parentSpanContext?.spanId,
        name: written.name,
        kind: ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'][written.kind],
        scope: 'test',
        startTimeUnixNano: nanosOf(written.startTime),
        endTimeUnixNano: nanosOf(written.endTime),
      });
      expect(read.attributes).toEqual(written.attributes);
      expect(read.links).toEqual(
        written.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: l.attributes })),
      );
    }
    const child = spans.find((s) => s.name === 'child')!;
    expect(child.attributes).toMatchObject({ 'a.int': 42, 'a.double': 1.5, 'a.bool': true, 'a.list': ['x', 'y'] });
    expect(child.status).toEqual({ code: 'ERROR', message: 'boom' });
    expect(child.events).toEqual([
      { name: 'something', timeUnixNano: expect.any(BigInt), attributes: { 'e.count': 3 } },
    ]);
    expect(typeof child.attributes['ect.token']).toBe('string');
    expect(spans.find((s) => s.name === 'parent')!.parentSpanId).toBeUndefined();

    expect(logRecords).toHaveLength(2);
    for (const record of logRecords) {
      const span = spans.find((s) => s.spanId === record.spanId)!;
      expect(record.source).toEqual({ file: logsFile, line: 1 });
      expect(record.eventName).toBe('ect.token');
      expect(record.traceId).toBe(span.traceId);
      expect(record.body).toBe(span.attributes['ect.token']);
      expect(record.attributes['ect.jti']).toBe(span.attributes['ect.jti']);
    }
    // The token reader built on it finds the same tokens, each with its span.
    const found = await readTokenFiles([spansFile, logsFile]);
    expect(found.map((f) => f.token).sort()).toEqual(spans.map((s) => s.attributes['ect.token']).sort());
    for (const f of found) expect(f.spans).toHaveLength(1);
  });

  it('skips blank, comment and plain-token lines; a broken JSON line throws a SyntaxError naming file and line', async () => {
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, '\n# a comment\neyJhbGciOiJFUzI1NiJ9.e30.c2ln\n{"resourceSpans":[]}\n{"resourceLogs": [\n');
    await expect(readOtlpFiles([file])).rejects.toThrow(SyntaxError);
    await expect(readOtlpFiles([file])).rejects.toThrow(`${file}:5: not JSON`);
    writeFileSync(file, '\n# a comment\neyJhbGciOiJFUzI1NiJ9.e30.c2ln\n{"resourceSpans":[]}\n');
    expect(await readOtlpFiles([file])).toEqual({ spans: [], logRecords: [] });
  });
});

describe('otlpRecordsInJson', () => {
  const span = (fields: Record<string, unknown>) => ({
    result: {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeSpans: [{ scope: { name: 's' }, spans: [{ traceId: 'ab', spanId: 'cd', name: 'n', ...fields }] }],
        },
      ],
    },
  });

  it("reads Jaeger's {result} wrapper, enum names for kind and status, and a missing parent as undefined", () => {
    const { spans } = otlpRecordsInJson(
      span({ kind: 'SPAN_KIND_CLIENT', parentSpanId: '', status: { code: 'STATUS_CODE_OK' } }),
    );
    expect(spans).toEqual([
      expect.objectContaining({
        service: 'api',
        scope: 's',
        traceId: 'ab',
        spanId: 'cd',
        parentSpanId: undefined,
        kind: 'CLIENT',
        status: { code: 'OK', message: undefined },
      }),
    ]);
    expect(otlpRecordsInJson(span({ kind: 9 })).spans[0]!.kind).toBe('UNSPECIFIED');
    expect(otlpRecordsInJson(span({})).spans[0]!.status.code).toBe('UNSET');
  });

  it('decodes every AnyValue form: int64 beyond 2^53 as bigint, bytes as octets, lists, key-value lists', () => {
    const attributes = [
      { key: 'small', value: { intValue: '7' } },
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: 'nan', value: { doubleValue: 'NaN' } },
      { key: 'bytes', value: { bytesValue: 'AQID' } },
      { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 1 }] } } },
      { key: 'kv', value: { kvlistValue: { values: [{ key: '__proto__', value: { boolValue: false } }] } } },
      { key: 'empty', value: {} },
    ];
    const read = otlpRecordsInJson(span({ attributes })).spans[0]!.attributes;
    expect(read.small).toBe(7);
    expect(read.big).toBe(9007199254740993n);
    expect(read.nan).toBeNaN();
    expect(read.bytes).toEqual(new Uint8Array([1, 2, 3]));
    expect(read.list).toEqual(['a', 1]);
    expect(Object.getPrototypeOf(read.kv)).toBe(Object.prototype);
    expect(Object.entries(read.kv as object)).toEqual([['__proto__', false]]);
    expect(read.empty).toBeUndefined();
  });

  it('is lenient with missing lists and ids, and agrees with tokensInOtlpJson on what a span carried', () => {
    expect(otlpRecordsInJson(null)).toEqual({ spans: [], logRecords: [] });
    expect(otlpRecordsInJson({ resourceSpans: 'x', resourceLogs: [{ scopeLogs: [{}] }] })).toEqual({
      spans: [],
      logRecords: [],
    });
    const doc = span({
      kind: 2,
      attributes: [
        { key: 'ect.token', value: { stringValue: 'h.p.s' } },
        { key: 'ect.jti', value: { stringValue: 'j' } },
        { key: 'ect.pred', value: { stringValue: '["a"]' } },
        { key: 'ect.incoming.rejected', value: { intValue: '2' } },
      ],
    });
    expect(tokensInOtlpJson(doc)).toEqual([
      {
        token: 'h.p.s',
        kind: 'span',
        span: {
          traceId: 'ab',
          spanId: 'cd',
          parentSpanId: undefined,
          name: 'n',
          kind: 2,
          jti: 'j',
          pred: '["a"]',
          rejectedIncoming: 2,
        },
      },
    ]);
  });
});
