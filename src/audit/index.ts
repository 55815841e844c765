export {
  readTokenFiles,
  tokensInOtlpJson,
  type FoundToken,
  type OtlpToken,
  type SpanRecord,
  type TokenSource,
} from './read-tokens.js';
export {
  otlpRecordsInJson,
  readOtlpFiles,
  type OtlpAttributes,
  type OtlpLogRecord,
  type OtlpRecords,
  type OtlpSource,
  type OtlpSpan,
  type OtlpSpanKind,
  type OtlpValue,
} from '../base/otlp-json.js';
export { spanMismatches } from './span-check.js';
export {
  auditTokenFiles,
  auditTokens,
  type ExportAudit,
  type ExportAuditOptions,
  type RefusedIncoming,
  type TokenFailure,
} from './verify-export.js';
export { runAudit, type AuditOptions, type AuditProgress } from './engine/audit.js';
export { SignatureStage, type VerifyOutcome } from './engine/signature-stage.js';
export { StreamingTree } from './engine/ledger-stage.js';
export { AUDIT_CODE, type AuditCode } from './codes.js';
export { impactOf, traceOf, subReport, type ImpactReport, type TraceReport, type RelatedTask } from './impact.js';
export { parseRevocationList, readRevocationList, revocationOf, type RevokedKey } from './revocation.js';
export { renderText, describe as describeFinding } from './report/text.js';
export * from './report/index.js';
export type { AuditSourceReader, SourceRecord } from './sources/types.js';
export { OtlpFileSource } from './sources/otlp-file.js';
export { openLedgerReader, type LedgerReader } from './sources/ledger.js';
export { FileLedgerReader } from './sources/ledger-file.js';
export { PgLedgerReader } from './sources/ledger-pg.js';
export { HttpLedgerReader } from './sources/ledger-http.js';
export { reportJsonChunks } from './report/json.js';
export {
  jaegerSource,
  type JaegerSourceOptions,
} from './sources/jaeger.js';
export { tempoSource, type TempoSourceOptions } from './sources/tempo.js';
export {
  parseTraceSourceSpec,
  traceSourceFromSpec,
  TRACE_SOURCE_SPEC_HELP,
  type TraceSourceSpec,
} from './sources/backend-spec.js';
