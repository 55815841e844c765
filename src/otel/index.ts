export {
  ATTR,
  EDGE_PREDECESSOR,
  EVENT,
  JOIN_EXEC_ACT,
  SPAN_BINDING_KEY,
  TOKEN_LOG_EVENT,
} from '../base/conventions.js';
export { setExecAct, setInputHash, setOutputHash, setStreamHash, withWorkflow } from './api.js';
export { createEctBridge, createEctBridgeFromConfig, type EctBridge, type EctBridgeOptions } from './bridge.js';
export {
  type BatchSpanProcessorSettings,
  configFromEnv,
  EctConfigError,
  type EctEnvConfig,
  type EctMode,
  type LedgerSetting,
} from './config.js';
export { CountingLogExporter, type LogRecordExporterLike } from './export/counting-log-exporter.js';
export { EctSpanExporter, type EctSpanExporterOptions, type SpanExporterLike } from './export/span-exporter.js';
export { LedgerSink, type LedgerSinkOptions } from './export/ledger-sink.js';
export {
  type EctLogger,
  type EctLoggerProvider,
  type EctLogRecord,
  type SignedToken,
  type SignedTokenConsumer,
  TokenPipeline,
  type TokenPipelineOptions,
} from './export/token-pipeline.js';
export { type EnforcementOptions, installEnforcement } from './http/enforcement.js';
export {
  DEFAULT_REQUIRE_EXEMPT,
  EctRequirePolicyError,
  parseRequirePolicy,
  REQUIRE_NONE,
  type RequirePolicy,
  requirePolicyFromEnv,
  tokenRequired,
} from './http/require-policy.js';
export {
  type HookDeps,
  httpResponseHook,
  type ResponseTokenPolicy,
  readResponseToken,
  tagServerResponse,
  undiciResponseHook,
  wantsResponseToken,
} from './http/response-hooks.js';
export { boundSpanContext, type SpanBinding, spanBinding, traceIdToUuid } from './processor/binding.js';
export { deriveExecAct } from './processor/exec-act.js';
export { FrontierTracker } from './processor/frontier-tracker.js';
export { JoinPolicy, type JoinPolicyOptions } from './processor/join-policy.js';
export { ALL_SPANS, parseSelector, type SpanSelector } from './processor/selector.js';
export { defaultIssuer, SpanClaims, type SpanClaimsOptions } from './processor/span-claims.js';
export { EctSpanProcessor, type EctSpanProcessorOptions } from './processor/span-processor.js';
export { type IssuedToken, TokenIssuer, type TokenSink } from './processor/token-issuer.js';
export type { TokenRef } from './processor/token-ref.js';
export { type TokenLookup, TokenRegistry } from './processor/token-registry.js';
export {
  IncomingVerdicts,
  recordIncomingFailures,
  type VerdictLookup,
} from './propagation/incoming-verdicts.js';
export { EctPropagator, type EctPropagatorOptions, type InjectionSource } from './propagation/propagator.js';
export type { EctReadableSpan, EctWritableSpan } from './span-types.js';
export { type EctCounter, EctStats } from './stats.js';
