/**
 * The names this package writes on the wire and into telemetry, declared once. The bridge writes
 * them (`src/otel/`) and the auditor reads them back (`src/audit/`), so both import them from here;
 * a rename on one side only would silently break every audit.
 */

/** The HTTP field that carries tokens, lower-cased as Node presents it. */
export const EXECUTION_CONTEXT_HEADER = 'execution-context';

/** Span attributes the bridge writes on every span it tracks, and that an application may set. */
export const ATTR = {
  /** The span's token id, written when the span starts. */
  jti: 'ect.jti',
  /** The token's predecessors, written when the token is issued. */
  pred: 'ect.pred',
  /** The compact token, added by the span exporter. */
  token: 'ect.token',
  /** An explicit `inp_hash` (set by the application). */
  inpHash: 'ect.inp_hash',
  /** An explicit `out_hash` (set by the application). */
  outHash: 'ect.out_hash',
  /** An explicit `exec_act` (set by the application). */
  execAct: 'ect.exec_act',
  /** Marks a span link as a predecessor edge (value {@link EDGE_PREDECESSOR}). */
  edge: 'ect.edge',
  /** How many incoming tokens this span's service refused (their edges were not recorded). */
  incomingRejected: 'ect.incoming.rejected',
  /** Attributes of the verification-failure events. */
  errorCode: 'ect.error.code',
  errorMessage: 'ect.error.message',
} as const;

/** The value of {@link ATTR.edge} on a predecessor-edge span link. */
export const EDGE_PREDECESSOR = 'predecessor';

/** Span events the bridge adds. */
export const EVENT = {
  /** An incoming request token failed verification. */
  verificationFailed: 'ect.verification_failed',
  /** A token on a response failed verification. */
  responseVerificationFailed: 'ect.response_verification_failed',
  /**
   * A request reached a route that requires a token (`ECT_REQUIRE`) without one, in record mode
   * (enforce mode answers `401 ECT_MISSING` instead). Carries {@link ATTR.errorCode} `ECT_MISSING`.
   */
  tokenMissing: 'ect.token_missing',
} as const;

/** The `eventName` of the OTLP log record that carries each token. */
export const TOKEN_LOG_EVENT = 'ect.token';

/** Instrumentation scope of the bridge's logger and meter. */
export const INSTRUMENTATION_SCOPE = 'otel-ect';

/** The `ect_ext` key under which a token names its span. */
export const SPAN_BINDING_KEY = 'io.opentelemetry.span';

/** `exec_act` of a join token, which folds a wide or stale frontier. */
export const JOIN_EXEC_ACT = 'ect.join';

/**
 * Span kind names as a token's binding records them, indexed by the OTel API's `SpanKind`
 * (0 internal … 4 consumer). OTLP numbers kinds one higher (1 internal … 5 consumer).
 */
export const SPAN_KIND_NAMES = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;

/** Span status names as a token's binding records them, indexed by `SpanStatusCode`. */
export const SPAN_STATUS_NAMES = ['UNSET', 'OK', 'ERROR'] as const;

/** GenAI semantic-convention attributes whose content is hashed into `inp_hash`, first found wins. */
export const GEN_AI_INPUT_KEYS = ['gen_ai.tool.call.arguments', 'gen_ai.input.messages'] as const;
/** GenAI semantic-convention attributes whose content is hashed into `out_hash`, first found wins. */
export const GEN_AI_OUTPUT_KEYS = ['gen_ai.tool.call.result', 'gen_ai.output.messages'] as const;
/** Every GenAI content attribute (left out of exported spans on request). */
export const GEN_AI_CONTENT_KEYS = [...GEN_AI_INPUT_KEYS, ...GEN_AI_OUTPUT_KEYS] as const;
/** The GenAI operation attribute (`execute_tool`, `invoke_agent`, `chat`, …). */
export const GEN_AI_OPERATION = 'gen_ai.operation.name';
