export * from '../base/errors.js';
export { SUPPORTED_ALGORITHMS, TYP_00, TYP_01, type DraftVersion, type EctAlgorithm } from '../base/algorithms.js';
export { LIMITS } from '../base/limits.js';
export { EXECUTION_CONTEXT_HEADER } from '../base/conventions.js';
export type { JsonValue, JsonObject, EctClaims, EctHeader, VerifiedEct } from './claims.js';
export { isUuid, isHashValue, jsonDepth } from './formats.js';
export { base64url, isCanonicalBase64url } from './base64url.js';
export { parseCompact, decodeJsonObject, HeaderMemo, type ParsedCompact, type ParseOptions } from './parse.js';
export { EctSigner, PendingEct, newClaims, type SignerOptions, type NewClaimsInput } from './sign.js';
export { EctVerifier, verifyEct, verifyEctSync } from './verify.js';
export { checkClaims, checkTimes, readClaims } from './check-claims.js';
export { resolveVerifyOptions, type VerifyOptions, type ResolvedVerifyOptions } from './options.js';
export { MemoryReplayCache, type ReplayStore, type MemoryReplayCacheOptions } from './replay.js';
export { hashOctets, hashStream, type HashMode } from './hash.js';
export {
  parseExecutionContext,
  formatExecutionContext,
  formatExecutionContextLines,
  fitsExecutionContext,
  type HeaderLimits,
} from './header.js';
export { decodeUnverified } from './decode.js';
export {
  CryptoPool,
  type CryptoPoolOptions,
  defaultCryptoThreads,
  type Signable,
  type SignatureCheck,
  verifySignatureNow,
} from './crypto-pool.js';
