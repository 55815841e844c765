import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Span } from '@opentelemetry/api';
import { ATTR, EVENT, EXECUTION_CONTEXT_HEADER } from '../../base/conventions.js';
import type { CryptoPool } from '../../token/crypto-pool.js';
import type { FrontierTracker } from '../processor/frontier-tracker.js';
import type { EctPropagator } from '../propagation/propagator.js';
import type { EctStats } from '../stats.js';
import type { EctWritableSpan } from '../span-types.js';
import { guard } from '../stats.js';

/** The parts of the bridge the HTTP hooks need. */
export interface HookDeps {
  /** The span processor's frontiers (`EctSpanProcessor.frontiers`). */
  frontiers: Pick<FrontierTracker, 'issueNow' | 'addToFrontier'>;
  propagator: EctPropagator;
  stats: EctStats;
  /** Which responses carry the server span's token. Default `sign`. */
  responseToken?: ResponseTokenPolicy;
  /**
   * Where the response token is signed: with worker threads, the response head is held (the
   * application's writes queued) until a worker signed it, at most `responseSignWaitMs`, then it
   * is signed in the event loop. Without one (or `threads: 0`), in the event loop at once.
   */
  pool?: CryptoPool;
  /** How long a response head waits for the pool's signature before it is signed in the event loop. Default 50 ms. */
  responseSignWaitMs?: number;
}

/**
 * Default of {@link HookDeps.responseSignWaitMs}: far above a worker's round trip (well under a
 * millisecond), far below a client's patience; reached only when the pool is swamped.
 */
export const RESPONSE_SIGN_WAIT_MS = 50;

/**
 * Which responses carry the server span's token (the one signature made on the request path):
 * `sign` every response; `traced` only responses to requests that carried `traceparent` or
 * `Execution-Context` (a caller that can use the token: probes and uninstrumented clients cost no
 * signature); `off` none (callers then cannot name this service's outcome: the edge is missing).
 */
export type ResponseTokenPolicy = 'sign' | 'traced' | 'off';

/**
 * True when the response to `request` carries the server span's token under `policy`.
 *
 * @example wantsResponseToken('traced', { headers: { traceparent: '00-…' } }) // true
 */
export function wantsResponseToken(
  policy: ResponseTokenPolicy,
  request: { headers: Record<string, string | string[] | undefined> } | undefined,
): boolean {
  if (policy === 'sign') return true;
  if (policy === 'off' || request === undefined) return false;
  return request.headers.traceparent !== undefined || request.headers[EXECUTION_CONTEXT_HEADER] !== undefined;
}

type WriteHead = ServerResponse['writeHead'];

/**
 * Server side: issues the server span's token when the response head is written (explicitly, or
 * implicitly by the first `write`/`end`) and sets it as the `Execution-Context` response header,
 * so the caller can name the callee's outcome. With a crypto pool ({@link HookDeps.pool}) the
 * head waits for a worker's signature (see {@link holdHeadForSignature}); else it is signed here.
 *
 * @example tagServerResponse(deps, span, response) // inside instrumentation-http's responseHook
 */
export function tagServerResponse(deps: HookDeps, span: Span, response: ServerResponse): void {
  if (deps.pool?.offThread === true) {
    holdHeadForSignature(deps, deps.pool, span, response);
    return;
  }
  const original = response.writeHead as WriteHead;
  const tagged = function writeHead(this: ServerResponse, ...args: Parameters<WriteHead>) {
    guard(deps.stats, () => {
      if (this.headersSent) return;
      const token = deps.frontiers.issueNow(span as unknown as EctWritableSpan, { http_status: args[0] });
      if (token === undefined) return;
      setToken(
        deps,
        this,
        token.compact(),
        args.find((a) => typeof a === 'object' && a !== null),
      );
    });
    return original.apply(this, args);
  };
  response.writeHead = tagged as WriteHead;
}

function setToken(deps: HookDeps, response: ServerResponse, compact: string, headers: unknown): void {
  // Raw header arrays bypass setHeader(); append to them instead.
  if (Array.isArray(headers)) {
    if (Array.isArray(headers[0])) (headers as unknown as string[][]).push([EXECUTION_CONTEXT_HEADER, compact]);
    else (headers as unknown as string[]).push(EXECUTION_CONTEXT_HEADER, compact);
  } else {
    response.setHeader(EXECUTION_CONTEXT_HEADER, compact);
  }
  deps.stats.add('responses.tagged');
}

/** The response methods that write the head: explicitly, or implicitly before the first byte. */
const HEAD_WRITERS = ['writeHead', 'write', 'end', 'flushHeaders'] as const;
type HeadWriter = (typeof HEAD_WRITERS)[number];
type AnyMethod = (this: ServerResponse, ...args: unknown[]) => unknown;

/** What a held call returns at once, as the real one would have. */
function heldResult(name: HeadWriter, response: ServerResponse): unknown {
  return name === 'write' ? true : name === 'flushHeaders' ? undefined : response;
}

/**
 * The response token signed in the crypto pool. The first call that would write the head
 * (`writeHead`, `write`, `end`, `flushHeaders`: Node writes it implicitly before the first byte)
 * issues the token and, unless it is signed already, holds: that call and every later one of
 * these are queued (`write` answers true, `end` the response) and replayed in order once a worker
 * signed the token, or after `responseSignWaitMs` once the event loop signed it. The head cannot
 * be held inside `writeHead` alone: `end` goes on to send the body right after its implicit
 * `writeHead` returns. Until the replay `headersSent` is false and `setHeader` still works; a call
 * that throws on replay (an invalid header) throws on a later turn, uncaught.
 */
function holdHeadForSignature(deps: HookDeps, pool: CryptoPool, span: Span, response: ServerResponse): void {
  const originals = {} as Record<HeadWriter, AnyMethod>;
  for (const name of HEAD_WRITERS) originals[name] = response[name] as unknown as AnyMethod;
  /** Calls queued while the pool signs; undefined when not holding. */
  let held: [HeadWriter, unknown[]][] | undefined;
  let decided = false;

  /** The first call that writes the head: true if it is held. */
  const decide = (name: HeadWriter, args: unknown[]): boolean => {
    decided = true;
    const token = guard(deps.stats, () =>
      deps.frontiers.issueNow(span as unknown as EctWritableSpan, {
        http_status: (name === 'writeHead' ? args[0] : response.statusCode) as number,
      }),
    );
    if (token === undefined) return false;
    const headers = name === 'writeHead' ? args.find((a) => typeof a === 'object' && a !== null) : undefined;
    if (token.signed || !pool.offThread) {
      guard(deps.stats, () => setToken(deps, response, token.compact(), headers));
      return false;
    }
    held = [[name, args]];
    let timer: NodeJS.Timeout | undefined;
    const release = (compact: () => string) => {
      const calls = held;
      if (calls === undefined) return;
      held = undefined;
      clearTimeout(timer);
      guard(deps.stats, () => setToken(deps, response, compact(), headers));
      for (const [method, callArgs] of calls) {
        try {
          originals[method].apply(response, callArgs);
        } catch (error) {
          // It would have been thrown into the application's call, which has returned long ago.
          process.nextTick(() => {
            throw error;
          });
        }
      }
    };
    // The event loop signs if the pool has not within the bound (the pool's signature, should it
    // come later, is not used: the token keeps the first one).
    timer = setTimeout(() => release(() => token.compact()), deps.responseSignWaitMs ?? RESPONSE_SIGN_WAIT_MS);
    pool.sign(token).then(
      (compact) => release(() => compact),
      () => release(() => token.compact()),
    );
    return true;
  };

  for (const name of HEAD_WRITERS) {
    const original = originals[name];
    (response as unknown as Record<HeadWriter, AnyMethod>)[name] = function headWriter(this: ServerResponse, ...args) {
      if (held !== undefined) {
        held.push([name, args]);
        return heldResult(name, this);
      }
      if (!decided && !this.headersSent && decide(name, args)) return heldResult(name, this);
      return original.apply(this, args);
    };
  }
}

/**
 * Client side: reads the callee's token from the response head and adds it to the client span's
 * frontier, replacing what it already names.
 *
 * @example readResponseToken(deps, span, response.headers['execution-context'])
 */
export function readResponseToken(deps: HookDeps, span: Span, values: string | string[] | undefined): void {
  if (values === undefined) return;
  guard(deps.stats, () => {
    const { tokens, failures, covers } = deps.propagator.verifyValues(values);
    deps.frontiers.addToFrontier(span, tokens, covers);
    for (const failure of failures)
      span.addEvent(EVENT.responseVerificationFailed, {
        [ATTR.errorCode]: failure.code,
        [ATTR.errorMessage]: failure.message,
      });
  });
}

/**
 * A `responseHook` for `@opentelemetry/instrumentation-http`: tags server responses, reads client
 * responses. Chain an application hook with `next`.
 *
 * @example new HttpInstrumentation({ responseHook: httpResponseHook(deps) })
 */
export function httpResponseHook(
  deps: HookDeps,
  next?: (span: Span, response: IncomingMessage | ServerResponse) => void,
) {
  return (span: Span, response: IncomingMessage | ServerResponse): void => {
    if ('writeHead' in response && typeof response.writeHead === 'function') {
      if (wantsResponseToken(deps.responseToken ?? 'sign', response.req)) tagServerResponse(deps, span, response);
    } else readResponseToken(deps, span, (response as IncomingMessage).headers[EXECUTION_CONTEXT_HEADER]);
    next?.(span, response);
  };
}

/** The response shape `@opentelemetry/instrumentation-undici` passes to its hooks. */
export interface UndiciResponseLike {
  headers: readonly (Buffer | string)[];
}

/**
 * A `responseHook` for `@opentelemetry/instrumentation-undici` (`fetch`): reads the callee's token.
 *
 * @example new UndiciInstrumentation({ responseHook: undiciResponseHook(deps) })
 */
export function undiciResponseHook(
  deps: HookDeps,
  next?: (span: Span, info: { request: unknown; response: UndiciResponseLike }) => void,
) {
  return (span: Span, info: { request: unknown; response: UndiciResponseLike }): void => {
    const values: string[] = [];
    const headers = info.response.headers;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === EXECUTION_CONTEXT_HEADER) values.push(String(headers[i + 1]));
    }
    if (values.length > 0) readResponseToken(deps, span, values);
    next?.(span, info);
  };
}
