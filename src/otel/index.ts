export {
  ATTR,
  EVENT,
  EDGE_PREDECESSOR,
  SPAN_BINDING_KEY,
  JOIN_EXEC_ACT,
  TOKEN_LOG_EVENT,
} from '../base/conventions.js';
export { EctSpanProcessor, type EctSpanProcessorOptions, type IssuedToken, type TokenSink } from './processor.js';
export { EctPropagator, type EctPropagatorOptions, type EctMode } from './propagator.js';
export { EctSpanExporter, type EctSpanExporterOptions, type SpanExporterLike } from './export/span-exporter.js';
export {
  TokenPipeline,
  type TokenPipelineOptions,
  type SignedToken,
  type EctLogger,
  type EctLoggerProvider,
  type EctLogRecord,
} from './export/token-pipeline.js';
export { CountingLogExporter, type LogRecordExporterLike } from './export/counting-log-exporter.js';
export { OtlpJsonFileSpanExporter, OtlpJsonFileLogExporter } from './export/otlp-json-file.js';
export {
  httpResponseHook,
  undiciResponseHook,
  tagServerResponse,
  readResponseToken,
  type HookDeps,
} from './http/response-hooks.js';
export { installEnforcement } from './http/enforcement.js';
export { createEctBridge, createEctBridgeFromConfig, type EctBridge, type EctBridgeOptions } from './bridge.js';
export { configFromEnv, EctConfigError, type BatchSpanProcessorSettings, type EctEnvConfig } from './config.js';
export { startEctNodeSdk, type EctNodeSdk } from './sdk.js';
export { setInputHash, setOutputHash, setStreamHash, setExecAct, withWorkflow } from './api.js';
export { deriveExecAct } from './exec-act.js';
export { spanBinding, boundSpanContext, traceIdToUuid, type SpanBinding } from './binding.js';
export { parseSelector, ALL_SPANS, type SpanSelector } from './selector.js';
export { EctStats, type EctCounter } from './stats.js';
export type { TokenRef } from './token-ref.js';
export type { EctReadableSpan, EctWritableSpan } from './span-types.js';
