import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
// `@opentelemetry/sdk-trace` (options-object constructors) exists in both SDK lines, 2.x and 3.x,
// so the same fixture runs the suite against either (see test/compat/).
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { generateSigningKey, JwksResolver, verificationKeyOf, type SigningKey } from '../../src/keys/index.js';
import { createEctBridge, type EctBridge, type EctBridgeOptions } from '../../src/otel/index.js';
import { decodeJsonObject, EctVerifier, type EctClaims } from '../../src/token/index.js';

/** A real SDK (TracerProvider, async-hooks context) with the bridge and in-memory exporters. */
export interface OtelFixture {
  tracer: Tracer;
  bridge: EctBridge;
  key: SigningKey;
  spans: InMemorySpanExporter;
  logs: InMemoryLogRecordExporter;
  provider: TracerProvider;
  /** Flushes the provider (token pipeline and span exports) and returns the exported spans, oldest first. */
  finished(): Promise<ReadableSpan[]>;
  /** Claims of every token the bridge exported as a log record, in export order. */
  tokens(): Promise<EctClaims[]>;
  verifier: EctVerifier;
  close(): Promise<void>;
}

let contextManager: AsyncLocalStorageContextManager | undefined;

/**
 * Builds the fixture. Registers a global context manager once (the SDK needs one for active spans).
 *
 * @example const otel = createOtelFixture(); await otel.tracer.startActiveSpan('x', (s) => s.end());
 */
export function createOtelFixture(options: Partial<EctBridgeOptions> = {}): OtelFixture {
  if (contextManager === undefined) {
    contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
  }
  const key = options.signingKey ?? generateSigningKey('ES256');
  const logs = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logs })] });
  const bridge = createEctBridge({
    signingKey: key,
    issuer: 'spiffe://example.org/service/test',
    loggerProvider,
    ...options,
  });
  const spans = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [bridge.processor, new SimpleSpanProcessor({ exporter: bridge.wrapExporter(spans) })],
  });
  const tracer = provider.getTracer('test');
  const verifier = new EctVerifier({ keys: new JwksResolver([verificationKeyOf(key)]), audit: true });
  return {
    tracer,
    bridge,
    key,
    spans,
    logs,
    provider,
    verifier,
    finished: async () => {
      // The provider flushes its span processors: the bridge's token pipeline, and the exports
      // still under way (tokens not yet signed are signed in the crypto pool first).
      await provider.forceFlush();
      return spans.getFinishedSpans();
    },
    tokens: async () => {
      await bridge.pipeline.forceFlush();
      return logs.getFinishedLogRecords().map((record) => verifier.verifySync(String(record.body)).claims);
    },
    close: async () => {
      await provider.shutdown();
      await loggerProvider.shutdown();
    },
  };
}

/** The claims inside a compact token, unverified (tests only). */
export function claimsOf(token: unknown): EctClaims {
  return decodeJsonObject(String(token).split('.')[1]!, 'payload') as unknown as EctClaims;
}

/** Span by name from an export. */
export function byName(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (span === undefined) throw new Error(`no span named ${name}`);
  return span;
}

/** `pred` of a span's token, as the exporter attached it. */
export function predOf(span: ReadableSpan): string[] {
  return claimsOf(span.attributes['ect.token']).pred;
}

/** The jti of a span. */
export function jtiOf(span: ReadableSpan): string {
  return String(span.attributes['ect.jti']);
}

export { context, propagation, trace };
