import { join } from 'node:path';
import { diag, metrics } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
// `sdk-trace` (not the 2.x-only `sdk-trace-base` shim) exists in both SDK lines.
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import { createEctBridgeFromConfig, type EctBridge } from './bridge.js';
import { configFromEnv, type EctEnvConfig, fileSafe } from './config.js';
import { CountingLogExporter } from './export/counting-log-exporter.js';
import { otlpLogExporter, otlpSpanExporter } from './export/otlp-exporters.js';
import { OtlpJsonFileLogExporter, OtlpJsonFileSpanExporter } from './export/otlp-json-file.js';
import { installEnforcement } from './http/enforcement.js';

// The OTLP JSON file exporters need @opentelemetry/otlp-transformer, an optional peer: exported
// here, with the rest of the SDK wiring, so `otel-ect/otel` does not load it.
export { OtlpJsonFileLogExporter, OtlpJsonFileSpanExporter } from './export/otlp-json-file.js';

/** A started SDK with the bridge in it. */
export interface EctNodeSdk {
  sdk: NodeSDK;
  /** Undefined when `ECT_MODE=off`. */
  bridge: EctBridge | undefined;
  shutdown(): Promise<void>;
}

/**
 * Starts `NodeSDK` with auto-instrumentations, the ECT processor and propagator (composite with
 * W3C trace context and baggage), OTLP trace and log exporters (`OTEL_TRACES_EXPORTER`,
 * `OTEL_LOGS_EXPORTER`: `otlp` or `none`; `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` by default as the specification says, `http/json` or `grpc`), optional OTLP JSON files (`ECT_FILE_EXPORT_DIR`), all from
 * the environment. What `node --import otel-ect/register` runs; call it yourself to add options.
 *
 * @example const { shutdown } = await startEctNodeSdk();
 */
export async function startEctNodeSdk(config: EctEnvConfig = configFromEnv()): Promise<EctNodeSdk> {
  const bridge = config.mode === 'off' ? undefined : await createEctBridgeFromConfig(config);
  if (bridge !== undefined)
    installEnforcement(bridge.propagator, {
      mode: bridge.mode,
      require: config.require,
      stats: bridge.stats,
      ...(config.enforceMaxWaiting === undefined ? {} : { maxWaiting: config.enforceMaxWaiting }),
    });

  const spanExporters: SpanExporter[] = [];
  const logExporters: LogRecordExporter[] = [];
  if (config.tracesExporter === 'otlp') spanExporters.push(await otlpSpanExporter(config.tracesProtocol));
  if (config.logsExporter === 'otlp') logExporters.push(await otlpLogExporter(config.logsProtocol));
  if (config.fileExportDir !== undefined) {
    const base = `${fileSafe(config.serviceName)}-${process.pid}`;
    spanExporters.push(new OtlpJsonFileSpanExporter(join(config.fileExportDir, `spans-${base}.jsonl`)));
    logExporters.push(new OtlpJsonFileLogExporter(join(config.fileExportDir, `tokens-${base}.jsonl`)));
  }
  const exporting = spanExporters.map(
    (exporter) =>
      new BatchSpanProcessor({
        exporter:
          bridge === undefined
            ? exporter
            : bridge.wrapExporter(exporter, { dropHashedContent: config.dropGenAiContent }),
        ...config.batchSpanProcessor,
      }),
  );
  const sdk = new NodeSDK({
    spanProcessors: bridge === undefined ? exporting : [bridge.processor, ...exporting],
    logRecordProcessors: logExporters.map(
      (exporter) =>
        new BatchLogRecordProcessor({
          exporter: bridge === undefined ? exporter : new CountingLogExporter(exporter, bridge.stats),
        }),
    ),
    textMapPropagator: new CompositePropagator({
      propagators: [
        new W3CTraceContextPropagator(),
        new W3CBaggagePropagator(),
        ...(bridge === undefined ? [] : [bridge.propagator]),
      ],
    }),
    instrumentations: [
      getNodeAutoInstrumentations({
        // File-system spans would drown the DAG in noise; enable them explicitly if wanted.
        '@opentelemetry/instrumentation-fs': { enabled: false },
        ...(bridge === undefined
          ? {}
          : {
              '@opentelemetry/instrumentation-http': bridge.httpInstrumentationConfig(httpIgnoreOwnEndpoints()),
              '@opentelemetry/instrumentation-undici': bridge.undiciInstrumentationConfig({}),
            }),
      }),
    ],
  });
  sdk.start();
  bridge?.stats.bindMeter(metrics.getMeter('otel-ect'));
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= sdk.shutdown().catch((error: unknown) => diag.warn(`otel-ect: shutdown failed: ${String(error)}`)));
  return { sdk, bridge, shutdown };
}

/**
 * Requests to the SDK's own Prometheus endpoint are not the application's work: untraced, so they
 * get no token (else every scrape would add a signed record to the audit trail).
 */
function httpIgnoreOwnEndpoints(env: NodeJS.ProcessEnv = process.env): {
  ignoreIncomingRequestHook?: (request: { url?: string; socket?: { localPort?: number } }) => boolean;
} {
  if (!(env.OTEL_METRICS_EXPORTER ?? '').split(',').some((e) => e.trim() === 'prometheus')) return {};
  const port = Number(env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464);
  return { ignoreIncomingRequestHook: (request) => request.socket?.localPort === port };
}
