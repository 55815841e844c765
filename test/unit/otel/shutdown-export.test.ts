// A provider shut down while a span batch is on its way to the exporter: the batch still reaches
// the OTLP JSON file. `BatchSpanProcessor.shutdown` waits only for the spans still in its queue,
// then shuts its exporter down; a batch it already took is either waiting for the resource's
// asynchronous attributes (before the SDK calls `export`) or being tagged by the bridge's exporter
// (its leftover tokens signed, in the crypto pool when there is one). Both windows are opened here
// on purpose, without timing luck: a resource attribute whose promise the test settles, and a
// shutdown started in the same turn as `export`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { readOtlpFiles } from '../../../src/audit/index.js';
import { generateSigningKey } from '../../../src/keys/index.js';
import { createEctBridge, type EctBridge } from '../../../src/otel/index.js';
import { UnsettledResources } from '../../../src/otel/export/unsettled-resources.js';
import { OtlpJsonFileSpanExporter } from '../../../src/otel/sdk.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Setup {
  bridge: EctBridge;
  provider: TracerProvider;
  file: string;
  /** Resolves once the batch processor has called the bridge's exporter. */
  exportCalled: Promise<void>;
}

function setUp(options: { cryptoThreads: number; resource?: ReturnType<typeof resourceFromAttributes> }): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'ect-shutdown-'));
  dirs.push(dir);
  const file = join(dir, 'spans.jsonl');
  const loggerProvider = new LoggerProvider({
    processors: [new SimpleLogRecordProcessor({ exporter: new InMemoryLogRecordExporter() })],
  });
  const bridge = createEctBridge({
    signingKey: generateSigningKey('ES256'),
    loggerProvider,
    cryptoThreads: options.cryptoThreads,
  });
  const exporter = bridge.wrapExporter(new OtlpJsonFileSpanExporter(file));
  let called!: () => void;
  const exportCalled = new Promise<void>((resolve) => {
    called = resolve;
  });
  // The bridge's exporter as the SDK sees it, telling the test when the SDK handed it a batch.
  const observed: SpanExporter = {
    export: (spans, resultCallback) => {
      exporter.export(spans as ReadableSpan[], resultCallback);
      called();
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  const provider = new TracerProvider({
    ...(options.resource === undefined ? {} : { resource: options.resource }),
    // Exported 1 ms after the first span ends: before the token pipeline (100 ms) signed its token.
    spanProcessors: [bridge.processor, new BatchSpanProcessor({ exporter: observed, scheduledDelayMillis: 1 })],
  });
  return { bridge, provider, file, exportCalled };
}

async function exportedNames(file: string): Promise<{ name: string; token: unknown }[]> {
  const { spans } = await readOtlpFiles([file]).catch(() => ({ spans: [] }));
  return spans.map((s) => ({ name: s.name, token: typeof s.attributes['ect.token'] }));
}

describe('shutdown while a span batch is on its way to the OTLP JSON file', () => {
  it.each([0, 1])(
    'a batch being tagged (cryptoThreads %i) when the shutdown starts is written before the file exporter stops',
    async (cryptoThreads) => {
      const { bridge, provider, file, exportCalled } = setUp({ cryptoThreads });
      const tracer = provider.getTracer('test');
      tracer.startActiveSpan('parent', (parent) => {
        tracer.startSpan('child').end();
        parent.end();
      });
      await exportCalled;
      // The same turn as `export`: the bridge's exporter has not tagged the batch yet.
      await provider.shutdown();
      expect(await exportedNames(file)).toEqual([
        { name: 'child', token: 'string' },
        { name: 'parent', token: 'string' },
      ]);
      expect(bridge.stats.get('spans.export_failed')).toBe(0);
    },
  );

  it('a batch waiting for the resource to settle when the shutdown starts is written before the file exporter stops', async () => {
    let settle!: (hostId: string) => void;
    const hostId = new Promise<string>((resolve) => {
      settle = resolve;
    });
    const { bridge, provider, file } = setUp({
      cryptoThreads: 0,
      resource: resourceFromAttributes({ 'service.name': 'shutdown-test', 'host.id': hostId }),
    });
    provider.getTracer('test').startSpan('waiting').end();
    // The batch processor's 1 ms timer fires before this one: its batch now waits for `host.id`.
    await sleep(20);
    const stopping = provider.shutdown();
    setTimeout(() => settle('host-1'), 20);
    await stopping;
    expect(await exportedNames(file)).toEqual([{ name: 'waiting', token: 'string' }]);
    const { spans } = await readOtlpFiles([file]);
    expect(spans[0]?.resource['host.id']).toBe('host-1');
    expect(bridge.stats.get('spans.export_failed')).toBe(0);
  });

  it('a resource detector that never answers holds the wait only up to its bound', async () => {
    const resources = new UnsettledResources();
    const never = resourceFromAttributes({ 'host.id': new Promise<string>(() => {}) });
    resources.note(never);
    // Unbounded, this would never settle (the test would time out).
    await resources.settled(30);
    expect(never.asyncAttributesPending).toBe(true);
  });
});
