export {
  readTokenFiles,
  tokensInOtlpJson,
  type FoundToken,
  type OtlpToken,
  type SpanRecord,
  type TokenSource,
} from './read-tokens.js';
export { spanMismatches } from './span-check.js';
