/** Limits from the profile; all can be tightened by configuration. */
export const LIMITS = {
  /** Whole compact token, checked before any decoding. */
  maxTokenBytes: 4096,
  /** Serialized `ect_ext`. */
  maxExtBytes: 4096,
  /** Nesting depth of `ect_ext` (the object itself is depth 1). */
  maxExtDepth: 5,
  /** Entries in `pred`. */
  maxPred: 100,
  /** Clock skew tolerated on `iat` and in the DAG temporal rule, seconds. */
  clockSkewSeconds: 30,
  /** Maximum token age for live traffic, seconds. */
  maxAgeSeconds: 900,
  /** Default lifetime, seconds. */
  defaultTtlSeconds: 600,
  /** Tokens per `Execution-Context` message. */
  maxHeaderTokens: 8,
  /** Bytes of all `Execution-Context` values of one message. */
  maxHeaderBytes: 8192,
  /** Ancestors visited at most when checking one token's DAG rules against a store. */
  maxAncestors: 10_000,
} as const;
