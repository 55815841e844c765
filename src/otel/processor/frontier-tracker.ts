import { randomUUID } from 'node:crypto';
import { type Context, trace } from '@opentelemetry/api';
import { ATTR } from '../../base/conventions.js';
import { incomingTokens, WORKFLOW_ID } from '../propagation/context-keys.js';
import type { EctWritableSpan } from '../span-types.js';
import type { EctStats } from '../stats.js';
import type { SpanBinding } from './binding.js';
import { coveredSet, Frontier } from './frontier.js';
import type { JoinPolicy } from './join-policy.js';
import { LiveSpans, type SpanLike } from './live-spans.js';
import { ALL_SPANS, type SpanSelector } from './selector.js';
import type { TokenIssuer } from './token-issuer.js';
import type { TokenRef } from './token-ref.js';
import type { TokenRegistry } from './token-registry.js';
import { traceIdToUuid } from './binding.js';

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
  // Children still running, for issuing early (see FrontierTracker.issueNow): an intrusive
  // doubly linked list, so starting and ending a child allocates nothing.
  firstLive: SpanState | undefined;
  prevLive: SpanState | undefined;
  nextLive: SpanState | undefined;
}

/** What a {@link FrontierTracker} works with. */
export interface FrontierTrackerParts {
  issuer: TokenIssuer;
  joins: JoinPolicy;
  registry: TokenRegistry;
  stats: EctStats;
  /** Which spans get tokens; the others pass their frontier through. Default all. */
  selector?: SpanSelector | undefined;
  /** Live spans tracked at most (see {@link LiveSpans}). */
  maxLiveSpans: number;
}

const NO_TOKENS: readonly TokenRef[] = Object.freeze([]);
const NO_JTIS: readonly string[] = Object.freeze([]);

/**
 * The causal frontier of every live span (src/otel/DESIGN.md §2): a span's `jti` and start
 * predecessors when it starts (its parent's frontier, the verified tokens of a remote parent,
 * linked spans' tokens), its token's `pred` when it ends, and the replacement of everything that
 * token covers in the frontier of its nearest running ancestor. Also what crosses a process
 * boundary: the tokens a request carries, a server token issued early for the response head, a
 * callee's token read from a response.
 *
 * @example
 * tracker.start(span, parentContext); // in SpanProcessor.onStart
 * tracker.end(span);                  // in SpanProcessor.onEnding
 */
export class FrontierTracker {
  readonly #issuer: TokenIssuer;
  readonly #joins: JoinPolicy;
  readonly #registry: TokenRegistry;
  readonly #stats: EctStats;
  readonly #selector: SpanSelector;
  readonly #states: LiveSpans<SpanState>;

  constructor(parts: FrontierTrackerParts) {
    this.#issuer = parts.issuer;
    this.#joins = parts.joins;
    this.#registry = parts.registry;
    this.#stats = parts.stats;
    this.#selector = parts.selector ?? ALL_SPANS;
    this.#states = new LiveSpans(parts.maxLiveSpans);
  }

  /** Assigns the span's `jti` (written as `ect.jti` at once) and its start predecessors. */
  start(span: EctWritableSpan, parentContext: Context): void {
    if (this.#states.full) {
      this.#stats.fail(
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
      for (const token of remote) this.#registry.remember(token);
      unique = false;
    }
    for (const link of span.links) {
      const linked = this.#registry.tokenFor(link.context);
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

  /**
   * Issues the span's token (unless it was issued early, or the selector passes the span over)
   * and replaces what it covers in the frontier of its nearest running ancestor.
   */
  end(span: EctWritableSpan): void {
    const state = this.#states.get(span);
    if (state === undefined) return;
    this.#states.delete(state);
    // Links added after start may name spans whose tokens we know.
    for (const link of span.links) {
      const linked = this.#registry.tokenFor(link.context);
      if (linked !== undefined && link.attributes?.[ATTR.edge] === undefined) state.frontier.add(linked);
    }
    if (state.issued === undefined && this.#selector(span)) this.#issue(state, state.frontier.entries, undefined);
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

  /** The `jti` assigned to a live span. */
  jtiOf(span: SpanLike): string | undefined {
    return this.#states.get(span)?.jti;
  }

  /**
   * The tokens a request made under `span` must carry: its start predecessors, folded into one
   * join token when they would not fit in one message or a receiver would find one too old.
   *
   * @example setter.set(carrier, EXECUTION_CONTEXT_HEADER, formatExecutionContext(tracker.tokensToInject(span).map((t) => t.compact())));
   */
  tokensToInject(span: SpanLike): TokenRef[] {
    const state = this.#states.get(span);
    if (state === undefined || state.startPreds.length === 0) return [];
    if (this.#joins.sendableAsIs(state.startPreds, Math.floor(Date.now() / 1000))) return state.startPreds;
    const join = this.#issuer.join(state.span, state.wid, state.startPreds);
    const covered = coveredSet(state.startPreds.map((t) => t.jti));
    state.startPreds.splice(0, state.startPreds.length, join);
    state.frontier.replace(covered, [join]);
    return [join];
  }

  /**
   * Issues a live span's token now (a server span when its response head is written), so it can
   * travel back to the caller; the span's later end does not issue a second one.
   *
   * @example const token = tracker.issueNow(serverSpan, { http_status: 200 });
   */
  issueNow(span: EctWritableSpan, extra: Partial<SpanBinding> = {}): TokenRef | undefined {
    const state = this.#states.get(span);
    if (state === undefined) return undefined;
    if (state.issued === undefined) {
      this.#issue(state, deepFrontier(state), extra);
      state.early = true;
    }
    return state.issued;
  }

  /**
   * Adds tokens to a live span's frontier: a callee's token from a response, or predecessors named
   * by the application. Entries the new tokens already name (`covers`) leave the frontier.
   *
   * @example tracker.addToFrontier(clientSpan, [calleeToken], calleeToken.pred);
   */
  addToFrontier(span: SpanLike, tokens: readonly TokenRef[], covers: readonly string[] = []): void {
    const state = this.#states.get(span);
    if (state === undefined) return;
    state.frontier.replace(coveredSet(covers), tokens);
    for (const token of tokens) this.#registry.remember(token);
  }

  #issue(state: SpanState, frontier: readonly TokenRef[], extra: Partial<SpanBinding> | undefined): void {
    const token = this.#issuer.issue(state.span, state.jti, state.wid, frontier, extra);
    state.issued = token;
    state.named = token.pred;
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

function sharedWorkflow(tokens: readonly TokenRef[]): string | undefined {
  const wid = tokens[0]?.wid;
  return wid !== undefined && tokens.every((t) => t.wid === wid) ? wid : undefined;
}
