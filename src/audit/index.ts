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
