// Bench-only preload: plain OpenTelemetry that records spans, the fair baseline for the bridge.
//
// `node --import otel-ect/register` with ECT_MODE=off and OTEL_TRACES_EXPORTER=none passes NodeSDK
// an empty `spanProcessors` list, and NodeSDK registers no tracer provider at all then: the
// instrumentations run against the no-op tracer and no span is recorded. The bridge modes do record
// spans (their processor is the one processor). So this preload builds the same NodeSDK as
// src/otel/sdk.ts does (same auto-instrumentations, fs off, same propagators, no exporters) with one
// processor that does nothing, so spans are created, recorded and ended like in the bridge modes.
//
//   node --import ./test/bench/otel-plain-register.mjs test/bench/otel-service.mjs
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const { diag, DiagConsoleLogger, DiagLogLevel } = await import('@opentelemetry/api');
const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = await import('@opentelemetry/core');
const { getNodeAutoInstrumentations } = await import('@opentelemetry/auto-instrumentations-node');
const { NodeSDK } = await import('@opentelemetry/sdk-node');
const { NoopSpanProcessor } = await import('@opentelemetry/sdk-trace-base');

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
const sdk = new NodeSDK({
  spanProcessors: [new NoopSpanProcessor()],
  logRecordProcessors: [],
  textMapPropagator: new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  }),
  instrumentations: [getNodeAutoInstrumentations({ '@opentelemetry/instrumentation-fs': { enabled: false } })],
});
sdk.start();

let stopping;
const shutdown = () => (stopping ??= sdk.shutdown().catch((error) => diag.warn(`shutdown failed: ${String(error)}`)));
for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
]) {
  process.once(signal, () => void shutdown().finally(() => process.exit(code)));
}
