// The root entry: tokens, keys, DAG rules and audit readers. It loads no OpenTelemetry package, so
// verifying a token does not pull in the SDK; the bridge is `otel-ect/otel`, its NodeSDK wiring
// `otel-ect/sdk`, the zero-code entry `otel-ect/register`.
export * from './audit/index.js';
export * from './dag/index.js';
export * from './keys/index.js';
export * from './token/index.js';
