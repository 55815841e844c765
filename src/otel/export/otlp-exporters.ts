import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

/** The OTLP transports of the specification (`OTEL_EXPORTER_OTLP_PROTOCOL`). */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

/**
 * Reads an OTLP protocol setting: the signal's own variable first, then the general one, else the
 * specification's default `http/protobuf` (the official zero-code path's too). `undefined` for a
 * value that is not one of the three, for the caller to refuse.
 *
 * @example parseOtlpProtocol(process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, process.env.OTEL_EXPORTER_OTLP_PROTOCOL)
 */
export function parseOtlpProtocol(
  signalValue: string | undefined,
  generalValue: string | undefined,
): OtlpProtocol | undefined {
  const value = (signalValue ?? generalValue ?? 'http/protobuf').trim().toLowerCase();
  return PROTOCOLS.find((protocol) => protocol === value);
}

/**
 * The OTLP span exporter for a protocol, configured from `OTEL_EXPORTER_OTLP_*` by the exporter
 * itself. Loaded on demand, so only the chosen exporter package (an optional peer) must be installed.
 *
 * @example const exporter = await otlpSpanExporter('http/protobuf');
 */
export async function otlpSpanExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  }
}

/**
 * The OTLP log record exporter for a protocol (see {@link otlpSpanExporter}).
 *
 * @example const exporter = await otlpLogExporter('http/protobuf');
 */
export async function otlpLogExporter(protocol: OtlpProtocol): Promise<LogRecordExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-logs-otlp-proto')).OTLPLogExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-logs-otlp-http')).OTLPLogExporter();
    case 'grpc':
      return new (await import('@opentelemetry/exporter-logs-otlp-grpc')).OTLPLogExporter();
  }
}
