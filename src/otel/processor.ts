import { randomUUID } from 'node:crypto';
import { trace, type Attributes, type Context, type SpanContext } from '@opentelemetry/api';
import {
  ATTR,
  EDGE_PREDECESSOR,
  EVENT,
  GEN_AI_INPUT_KEYS,
  GEN_AI_OUTPUT_KEYS,
  JOIN_EXEC_ACT,
  SPAN_BINDING_KEY,
} from '../base/conventions.js';
import { LIMITS } from '../base/limits.js';
import type { EctClaims, JsonObject } from '../token/claims.js';
import { BoundedMap } from '../base/bounded-map.js';
import { hashOctets } from '../token/hash.js';
import { fitsExecutionContext } from '../token/header.js';
import { newClaims, type EctSigner, type PendingEct } from '../token/sign.js';
import { spanBinding, traceIdToUuid, type SpanBinding } from './binding.js';
import { incomingFailures, incomingTokens, WORKFLOW_ID } from './context-keys.js';
import { deriveExecAct } from './exec-act.js';
import { coveredSet, Frontier } from './frontier.js';
import { LiveSpans, type SpanLike } from './live-spans.js';
import { ALL_SPANS, type SpanSelector } from './selector.js';
import type { EctReadableSpan, EctWritableSpan } from './span-types.js';
import { EctStats, guard } from './stats.js';
import { LocalToken, type SpanClaimsBuilder, type TokenRef } from './token-ref.js';

/** A token the processor issued, handed to the export pipeline in issue order. */
export interface IssuedToken {
  readonly pending: PendingEct;
  /** The span the token describes (a join token: the span it was folded in). */
  readonly spanContext: SpanContext | undefined;
}

/** Where issued tokens go: the batch signer and log-record exporter. */
export interface TokenSink {
  push(token: IssuedToken): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Options of {@link EctSpanProcessor}. */
export interface EctSpanProcessorOptions {
  signer: EctSigner;
  /** Issued tokens go here (signed in batches and exported). */
  sink?: TokenSink;
  /** `iss` of every token. Default `spiffe://{trustDomain}/service/{service.name}`. */
  issuer?: string;
  /** Default `example.org`. */
  trustDomain?: string;
  /** `aud` of every token. Default `spiffe://{trustDomain}`. */
  audience?: string | readonly string[];
  /** Token lifetime, seconds. Default 600. */
  ttlSeconds?: number;
  /** Which spans get tokens. Default all. */
  selector?: SpanSelector;
  /** Hash GenAI content attributes into `inp_hash`/`out_hash`. Default true. */
  hashGenAiContent?: boolean;
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
  stats?: EctStats;
}

interface SpanState {
  readonly span: EctWritableSpan;
  readonly jti: string;
  readonly wid: string;
  readonly parent: SpanState | undefined;
  readonly startPreds: TokenRef[];
  readonly frontier: Frontier;
  issued: TokenRef | undefined;
  /** Predecessors named by the issued token (to replace in the parent frontier). */
  named: readonly string[];
  /** The token was issued before the span ended (for a response header). */
  early: boolean;
  ended: boolean;
  // Children still running, for issuing early (see EctSpanProcessor.issueNow): an intrusive
  // doubly linked list, so starting and ending a child allocates nothing.
  firstLive: SpanState | undefined;
  prevLive: SpanState | undefined;
  nextLive: SpanState | undefined;
}

const NO_TOKENS: readonly TokenRef[] = Object.freeze([]);
const NO_JTIS: readonly string[] = Object.freeze([]);
const LIVE_SPANS_MAX = 65_536;
const KNOWN_TOKENS_MAX = 8192;

/**
 * The OTel span processor that turns spans into a signed DAG (design.md): assigns each span's `jti`
 * at start (`ect.jti`), tracks frontiers, and at `onEnding` fixes the token's claims (`pred` = the
 * span's frontier), writes `ect.pred`, adds span links for predecessor edges, and hands the token to
 * the sink to be signed off the request path. Every hook is guarded: nothing is thrown into the
 * application, failures are counted in {@link EctStats}.
 *
 * Register it before the exporting processor (its attributes must be on the span when exported).
 *
 * @example
 * const processor = new EctSpanProcessor({ signer: new EctSigner(key), sink: tokenPipeline });
 * const provider = new NodeTracerProvider({ spanProcessors: [processor, new BatchSpanProcessor(exporter)] });
 */
export class EctSpanProcessor {
  readonly stats: EctStats;
  readonly #signer: EctSigner;
  readonly #sink: TokenSink | undefined;
  readonly #issuer: string | undefined;
  readonly #trustDomain: string;
  readonly #audience: string | string[];
  readonly #ttl: number;
  readonly #selector: SpanSelector;
  readonly #hashGenAi: boolean;
  readonly #maxPred: number;
  readonly #states: LiveSpans<SpanState>;
  // Recent tokens by span id (bounded, oldest out first): span links and the exporter resolve here.
  readonly #bySpanId: BoundedMap<string, TokenRef>;
  readonly #buildClaims: SpanClaimsBuilder = (span, jti, pred, iat, wid) =>
    this.#claimsFor(span, jti, pred, iat, wid, undefined);
  #issuerCache: { resource: object; issuer: string } | undefined;

  constructor(options: EctSpanProcessorOptions) {
    this.#signer = options.signer;
    this.#sink = options.sink;
    this.#issuer = options.issuer;
    this.#trustDomain = options.trustDomain ?? 'example.org';
    const audience = options.audience ?? `spiffe://${this.#trustDomain}`;
    this.#audience = typeof audience === 'string' ? audience : [...audience];
    this.#ttl = options.ttlSeconds ?? LIMITS.defaultTtlSeconds;
    this.#selector = options.selector ?? ALL_SPANS;
    this.#hashGenAi = options.hashGenAiContent ?? true;
    this.#maxPred = options.maxPred ?? LIMITS.maxPred;
    this.#states = new LiveSpans(options.maxLiveSpans ?? LIVE_SPANS_MAX);
    this.#bySpanId = new BoundedMap(options.maxKnownTokens ?? KNOWN_TOKENS_MAX);
    this.stats = options.stats ?? new EctStats();
  }

  /** SDK hook: assigns the `jti` and the start predecessors. */
  onStart(span: EctWritableSpan, parentContext: Context): void {
    guard(this.stats, () => this.#start(span, parentContext));
  }

  /** SDK hook (sdk-trace ≥ 2.3): issues the token while attributes can still be written. */
  onEnding(span: EctWritableSpan): void {
    guard(this.stats, () => this.#ending(span));
  }

  /** SDK hook: nothing to do, the work happened in `onEnding`. */
  onEnd(): void {}

  forceFlush(): Promise<void> {
    return this.#sink?.forceFlush() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.#sink?.shutdown() ?? Promise.resolve();
  }

  /**
   * The token issued for a span (the exporter attaches its compact form); `undefined` for a span
   * without one, or one whose token has left the recent tokens ({@link EctSpanProcessorOptions.maxKnownTokens}).
   */
  tokenOf(span: SpanLike): TokenRef | undefined {
    return this.#known(span.spanContext());
  }

  /** The `jti` assigned to a live span. */
  jtiOf(span: SpanLike): string | undefined {
    return this.#states.get(span)?.jti;
  }

  /**
   * The tokens a request made under `span` must carry: its start predecessors, folded into one
   * join token when they would not fit in one message or a receiver would find one too old.
   */
  tokensToInject(span: SpanLike): TokenRef[] {
    const state = this.#states.get(span);
    if (state === undefined || state.startPreds.length === 0) return [];
    const nowSeconds = Math.floor(Date.now() / 1000);
    const stale = state.startPreds.some((t) => nowSeconds - t.iat > this.#ttl - 60);
    // Signing is what costs here: only sign the predecessors themselves when they may be sent as
    // they are (a stale or too numerous set goes out as one join token either way).
    if (
      !stale &&
      state.startPreds.length <= LIMITS.maxHeaderTokens &&
      fitsExecutionContext(state.startPreds.map((t) => t.compact()))
    ) {
      return state.startPreds;
    }
    const join = this.#issueJoin(state.span, state, state.startPreds);
    const covered = coveredSet(state.startPreds.map((t) => t.jti));
    state.startPreds.splice(0, state.startPreds.length, join);
    state.frontier.replace(covered, [join]);
    return [join];
  }

  /**
   * Issues a live span's token now (a server span when its response head is written), so it can
   * travel back to the caller; the span's later end does not issue a second one.
   */
  issueNow(span: EctWritableSpan, extra: Partial<SpanBinding> = {}): TokenRef | undefined {
    return guard(this.stats, () => {
      const state = this.#states.get(span);
      if (state === undefined) return undefined;
      if (state.issued === undefined) {
        this.#issue(span, state, extra, deepFrontier(state));
        state.early = true;
      }
      return state.issued;
    });
  }

  /**
   * Adds tokens to a live span's frontier: a callee's token from a response, or predecessors named
   * by the application. Entries the new tokens already name (`covers`) leave the frontier.
   */
  addToFrontier(span: SpanLike, tokens: readonly TokenRef[], covers: readonly string[] = []): void {
    const state = this.#states.get(span);
    if (state === undefined) return;
    state.frontier.replace(coveredSet(covers), tokens);
    for (const token of tokens) this.#remember(token);
  }

  #start(span: EctWritableSpan, parentContext: Context): void {
    if (this.#states.full) {
      this.stats.fail(
        'spans.untracked',
        new Error(`more than ${this.#states.capacity} live spans (spans that never end?): new spans get no token`),
      );
      return;
    }
    const jti = randomUUID();
    span.setAttribute(ATTR.jti, jti);
    const parentSpan = trace.getSpan(parentContext);
    const parent = parentSpan === undefined ? undefined : this.#states.get(parentSpan);
    // Copied only when there is something to copy: most first children start with nothing.
    let startPreds =
      parent === undefined || parent.frontier.size === 0 ? (NO_TOKENS as TokenRef[]) : parent.frontier.toArray();
    let unique = true;
    let remote: readonly TokenRef[] = NO_TOKENS;
    if (span.parentSpanContext?.isRemote === true) {
      remote = incomingTokens(parentContext);
      if (remote.length > 0) startPreds = [...startPreds, ...remote];
      for (const token of remote) this.#remember(token);
      unique = false;
      const failures = incomingFailures(parentContext);
      if (failures.length > 0) {
        span.setAttribute(ATTR.incomingRejected, failures.length);
        for (const failure of failures)
          span.addEvent(EVENT.verificationFailed, {
            [ATTR.errorCode]: failure.code,
            [ATTR.errorMessage]: failure.message,
          });
      }
    }
    for (const link of span.links) {
      const linked = this.#known(link.context);
      if (linked !== undefined && !startPreds.includes(linked)) {
        startPreds = [...startPreds, linked];
        unique = false;
      }
    }
    const wid =
      (parentContext.getValue(WORKFLOW_ID) as string | undefined) ??
      parent?.wid ??
      sharedWorkflow(remote) ??
      traceIdToUuid(span.spanContext().traceId);
    const frontier =
      startPreds.length === 0
        ? new Frontier()
        : unique
          ? Frontier.ofUnique(startPreds.slice())
          : new Frontier(startPreds);
    const state: SpanState = {
      span,
      jti,
      wid,
      parent,
      startPreds,
      frontier,
      issued: undefined,
      named: NO_JTIS,
      early: false,
      ended: false,
      firstLive: undefined,
      prevLive: undefined,
      nextLive: parent?.firstLive,
    };
    this.#states.add(state);
    if (parent !== undefined) {
      if (parent.firstLive !== undefined) parent.firstLive.prevLive = state;
      parent.firstLive = state;
    }
  }

  #ending(span: EctWritableSpan): void {
    const state = this.#states.get(span);
    if (state === undefined) return;
    this.#states.delete(state);
    // Links added after start may name spans whose tokens we know.
    for (const link of span.links) {
      const linked = this.#known(link.context);
      if (linked !== undefined && link.attributes?.[ATTR.edge] === undefined) state.frontier.add(linked);
    }
    if (state.issued === undefined && this.#selector(span)) this.#issue(span, state, undefined);
    state.ended = true;
    const parent = state.parent;
    if (parent !== undefined) {
      if (state.prevLive !== undefined) state.prevLive.nextLive = state.nextLive;
      else if (parent.firstLive === state) parent.firstLive = state.nextLive;
      if (state.nextLive !== undefined) state.nextLive.prevLive = state.prevLive;
    }
    // OTel parents may end before their children (an async handler returns, its span ends, the work
    // it started goes on): the outcome then flows to the nearest ancestor still running.
    let scope = parent;
    while (scope?.ended === true) scope = scope.parent;
    if (scope === undefined) return;
    // The token replaces, in the scope's frontier, everything it covers; a span without a token
    // passes its own frontier through, so the DAG stays connected.
    const covered = [...state.named];
    for (const t of state.startPreds) covered.push(t.jti);
    const own = state.frontier.entries;
    const replacements = state.issued === undefined ? own.slice() : [state.issued];
    // Work that completed after an early token was issued is named by no token of this span: it
    // passes through, like the frontier of a span without a token.
    if (state.early) for (const t of own) if (!covered.includes(t.jti)) replacements.push(t);
    for (const t of own) covered.push(t.jti);
    scope.frontier.replace(coveredSet(covered), replacements);
  }

  #issue(
    span: EctWritableSpan,
    state: SpanState,
    extra: Partial<SpanBinding> | undefined,
    frontier: readonly TokenRef[] = state.frontier.entries,
  ): void {
    let preds = frontier;
    while (preds.length > this.#maxPred) preds = this.#fold(span, state, preds);
    const pred = new Array<string>(preds.length);
    for (let i = 0; i < preds.length; i++) pred[i] = preds[i]!.jti;
    const iat = Math.floor(Date.now() / 1000);
    const { jti, wid } = state;
    // At span end only the jti, predecessors and time are fixed here; the claims are built from the
    // ended (immutable) span when the batch is signed, off the request path. A token issued early
    // for a response header is signed at once, from the span as it is now.
    const ref =
      extra === undefined
        ? LocalToken.ofSpan(this.#signer, span, jti, pred, iat, wid, this.#buildClaims)
        : LocalToken.ofClaims(this.#signer, this.#claimsFor(span, jti, pred, iat, wid, extra), span.spanContext());
    state.issued = ref;
    state.named = pred;
    span.setAttribute(ATTR.pred, pred);
    for (const p of preds) {
      if (p.spanContext !== undefined) span.addLink({ context: p.spanContext, attributes: edgeAttributes(p.jti) });
    }
    this.#remember(ref);
    this.stats.add('tokens.issued');
    this.#sink?.push(ref);
  }

  #claimsFor(
    span: EctReadableSpan,
    jti: string,
    pred: readonly string[],
    iat: number,
    wid: string,
    extra: Partial<SpanBinding> | undefined,
  ): EctClaims {
    const attributes = span.attributes;
    const claims = newClaims({
      iss: this.#issuerFor(span),
      aud: this.#audience,
      exec_act: deriveExecAct(span.name, attributes),
      pred,
      jti,
      wid,
      iat,
      ttlSeconds: this.#ttl,
      ect_ext: { [SPAN_BINDING_KEY]: spanBinding(span, extra) as unknown as JsonObject },
    });
    const inpHash = this.#hashOf(attributes, ATTR.inpHash, GEN_AI_INPUT_KEYS);
    const outHash = this.#hashOf(attributes, ATTR.outHash, GEN_AI_OUTPUT_KEYS);
    if (inpHash !== undefined) claims.inp_hash = inpHash;
    if (outHash !== undefined) claims.out_hash = outHash;
    return claims;
  }

  /** Folds `preds` into join tokens of at most `maxPred` entries each. */
  #fold(span: EctWritableSpan, state: SpanState, preds: readonly TokenRef[]): TokenRef[] {
    const joins: TokenRef[] = [];
    for (let i = 0; i < preds.length; i += this.#maxPred)
      joins.push(this.#issueJoin(span, state, preds.slice(i, i + this.#maxPred)));
    return joins;
  }

  #issueJoin(span: EctWritableSpan, state: SpanState, preds: readonly TokenRef[]): TokenRef {
    const claims = newClaims({
      iss: this.#issuerFor(span),
      aud: this.#audience,
      exec_act: JOIN_EXEC_ACT,
      pred: preds.map((t) => t.jti),
      wid: state.wid,
      ttlSeconds: this.#ttl,
      ect_ext: { [SPAN_BINDING_KEY]: { ...spanBinding(span), status: 'UNSET', join: true } as unknown as JsonObject },
    });
    // No span of its own, so no span link ever points at it; its log record sits in the folding span.
    const ref = LocalToken.ofClaims(this.#signer, claims, undefined);
    this.stats.add('tokens.joined');
    this.#sink?.push({ pending: ref, spanContext: span.spanContext() });
    return ref;
  }

  #hashOf(attributes: Attributes, explicit: string, genAiKeys: readonly string[]): string | undefined {
    const given = attributes[explicit];
    if (typeof given === 'string') return given;
    if (!this.#hashGenAi) return undefined;
    for (const key of genAiKeys) {
      const value = attributes[key];
      if (value !== undefined) return hashOctets(typeof value === 'string' ? value : JSON.stringify(value));
    }
    return undefined;
  }

  #issuerFor(span: EctReadableSpan): string {
    if (this.#issuer !== undefined) return this.#issuer;
    const resource = span.resource;
    if (this.#issuerCache?.resource !== resource) {
      const service = resource.attributes['service.name'];
      const name = typeof service === 'string' && service !== '' ? service : 'unknown_service';
      this.#issuerCache = { resource, issuer: `spiffe://${this.#trustDomain}/service/${encodeURIComponent(name)}` };
    }
    return this.#issuerCache.issuer;
  }

  // Keyed by span id alone (no string built per span); a token whose span id is already held for
  // another trace (a custom id generator) goes under trace id + span id instead.
  #remember(token: TokenRef): void {
    const context = token.spanContext;
    if (context === undefined) return;
    const held = this.#bySpanId.get(context.spanId);
    if (held === undefined || held.spanContext?.traceId === context.traceId) this.#bySpanId.set(context.spanId, token);
    else this.#bySpanId.set(context.traceId + context.spanId, token);
  }

  #known(context: SpanContext): TokenRef | undefined {
    const token = this.#bySpanId.get(context.spanId);
    if (token === undefined || token.spanContext?.traceId === context.traceId) return token;
    return this.#bySpanId.get(context.traceId + context.spanId);
  }
}

/**
 * A span's frontier as if every descendant still running ended now without a token: what a token
 * issued early (at the response head) must name. Frameworks often keep handler spans open until
 * after the response is written (Express 5 ends them when the handler's promise settles), so the
 * completed work sits in those spans' frontiers, not yet in the server span's.
 */
function deepFrontier(state: SpanState): TokenRef[] {
  if (state.firstLive === undefined) return state.frontier.toArray();
  const frontier = new Frontier(state.frontier.toArray());
  for (let child: SpanState | undefined = state.firstLive; child !== undefined; child = child.nextLive) {
    frontier.replace(coveredSet(child.startPreds.map((t) => t.jti)), deepFrontier(child));
  }
  return frontier.toArray();
}

/** Attributes of a predecessor-edge span link. Literal keys: a literal with computed keys is built slower, once per edge. */
function edgeAttributes(jti: string): Attributes {
  return { 'ect.edge': EDGE_PREDECESSOR, 'ect.jti': jti } satisfies Record<(typeof ATTR)['edge' | 'jti'], string>;
}

function sharedWorkflow(tokens: readonly TokenRef[]): string | undefined {
  const wid = tokens[0]?.wid;
  return wid !== undefined && tokens.every((t) => t.wid === wid) ? wid : undefined;
}
