import type { Context } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { EctSigner } from '../../token/sign.js';
import { incomingFailures, incomingVerdict } from '../propagation/context-keys.js';
import { UnsettledResources } from '../export/unsettled-resources.js';
import { IncomingVerdicts, recordIncomingFailures, type VerdictLookup } from '../propagation/incoming-verdicts.js';
import type { EctReadableSpan, EctWritableSpan } from '../span-types.js';
import { EctStats, guard } from '../stats.js';
import { FrontierTracker } from './frontier-tracker.js';
import { JoinPolicy } from './join-policy.js';
import type { SpanSelector } from './selector.js';
import { SpanClaims, type SpanClaimsOptions } from './span-claims.js';
import { TokenIssuer, type TokenSink } from './token-issuer.js';
import { type TokenLookup, TokenRegistry } from './token-registry.js';

/** Options of {@link EctSpanProcessor}. */
export interface EctSpanProcessorOptions extends SpanClaimsOptions {
  signer: EctSigner;
  /** Issued tokens go here (signed in batches and exported). */
  sink?: TokenSink;
  /** Which spans get tokens. Default all. */
  selector?: SpanSelector;
  /** Most `pred` entries in one token before the frontier is folded into join tokens. Default 100. */
  maxPred?: number;
  /**
   * Live spans tracked at most; past this, new spans get no token and are counted as
   * `spans.untracked` (an application that never ends its spans). Default 65,536.
   */
  maxLiveSpans?: number;
  /**
   * Recent tokens kept by span id (the newest half to all of this many): to resolve span links,
   * and for the span exporter to find each span's token, so it must exceed twice the spans an
   * exporter may hold unexported (the batch processor's `OTEL_BSP_MAX_QUEUE_SIZE`). Default 8,192.
   */
  maxKnownTokens?: number;
  /** Where verdicts on incoming tokens checked off the request path are kept. Default a new one. */
  verdicts?: IncomingVerdicts;
  stats?: EctStats;
}

const LIVE_SPANS_MAX = 65_536;
const KNOWN_TOKENS_MAX = 8192;

/**
 * The OTel `SpanProcessor` that turns spans into a signed DAG (src/otel/DESIGN.md): a thin
 * adapter from the SDK's hooks to the {@link FrontierTracker}, which assigns each span's `jti` at
 * start and fixes its token at `onEnding` (`pred` = the span's causal frontier); the tokens go to
 * the sink to be signed off the request path. Every hook is guarded: nothing is thrown into the
 * application, failures are counted in {@link EctStats}.
 *
 * Register it before the exporting processor (its attributes must be on the span when exported),
 * and give that exporter {@link EctSpanProcessor.tokens} (see `EctSpanExporter`).
 *
 * @example
 * const processor = new EctSpanProcessor({ signer: new EctSigner(key), sink: tokenPipeline });
 * const exporter = new EctSpanExporter(new OTLPTraceExporter(), processor.tokens, { stats: processor.stats });
 * const provider = new NodeTracerProvider({ spanProcessors: [processor, new BatchSpanProcessor(exporter)] });
 */
export class EctSpanProcessor implements SpanProcessor {
  readonly stats: EctStats;
  /** The frontiers of live spans: what the propagator and the HTTP hooks work on. */
  readonly frontiers: FrontierTracker;
  /** The token of each recently ended span, for the span exporter. */
  readonly tokens: TokenLookup;
  /** Verdicts on incoming tokens that arrived after their server span ended, for the exporters. */
  readonly verdicts: VerdictLookup;
  /** Resources of started spans still waiting for asynchronous attributes, for the exporters' shutdown. */
  readonly resources = new UnsettledResources();
  readonly #verdicts: IncomingVerdicts;
  readonly #sink: TokenSink | undefined;

  constructor(options: EctSpanProcessorOptions) {
    this.stats = options.stats ?? new EctStats();
    this.#sink = options.sink;
    const claims = new SpanClaims(options);
    const joins = new JoinPolicy({ maxPred: options.maxPred, ttlSeconds: claims.ttlSeconds });
    const registry = new TokenRegistry(options.maxKnownTokens ?? KNOWN_TOKENS_MAX);
    const issuer = new TokenIssuer({
      signer: options.signer,
      claims,
      joins,
      registry,
      stats: this.stats,
      sink: options.sink,
    });
    this.tokens = registry;
    this.#verdicts = options.verdicts ?? new IncomingVerdicts(options.maxKnownTokens ?? KNOWN_TOKENS_MAX);
    this.verdicts = this.#verdicts;
    this.frontiers = new FrontierTracker({
      issuer,
      joins,
      registry,
      stats: this.stats,
      selector: options.selector,
      maxLiveSpans: options.maxLiveSpans ?? LIVE_SPANS_MAX,
    });
  }

  /** SDK hook: assigns the `jti` and the start predecessors; records refused incoming tokens. */
  onStart(span: EctWritableSpan, parentContext: Context): void {
    guard(this.stats, () => {
      this.resources.note(span.resource);
      this.frontiers.start(span, parentContext);
      if (span.parentSpanContext?.isRemote !== true) return;
      recordIncomingFailures(span, incomingFailures(parentContext));
      const verdict = incomingVerdict(parentContext);
      if (verdict !== undefined) this.#verdicts.track(span, verdict);
    });
  }

  /** SDK hook (sdk-trace ≥ 2.3): issues the token while attributes can still be written. */
  onEnding(span: EctWritableSpan): void {
    guard(this.stats, () => this.frontiers.end(span));
  }

  /** SDK hook: nothing to do, the work happened in `onEnding`. */
  onEnd(_span: EctReadableSpan): void {}

  forceFlush(): Promise<void> {
    return this.#sink?.forceFlush() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.#sink?.shutdown() ?? Promise.resolve();
  }
}
