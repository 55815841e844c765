import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Span } from '@opentelemetry/api';
import { ATTR, EVENT, EXECUTION_CONTEXT_HEADER } from '../../base/conventions.js';
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
}

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
 * implicitly by the first `write`/`end`, which Node routes through `writeHead`) and sets it as the
 * `Execution-Context` response header, so the caller can name the callee's outcome.
 *
 * @example tagServerResponse(deps, span, response) // inside instrumentation-http's responseHook
 */
export function tagServerResponse(deps: HookDeps, span: Span, response: ServerResponse): void {
  const original = response.writeHead as WriteHead;
  const tagged = function writeHead(this: ServerResponse, ...args: Parameters<WriteHead>) {
    guard(deps.stats, () => {
      if (this.headersSent) return;
      const token = deps.frontiers.issueNow(span as unknown as EctWritableSpan, { http_status: args[0] });
      if (token === undefined) return;
      const compact = token.compact();
      const headers = args.find((a) => typeof a === 'object' && a !== null);
      // Raw header arrays bypass setHeader(); append to them instead.
      if (Array.isArray(headers)) {
        if (Array.isArray(headers[0])) (headers as unknown as string[][]).push([EXECUTION_CONTEXT_HEADER, compact]);
        else (headers as unknown as string[]).push(EXECUTION_CONTEXT_HEADER, compact);
      } else {
        this.setHeader(EXECUTION_CONTEXT_HEADER, compact);
      }
      deps.stats.add('responses.tagged');
    });
    return original.apply(this, args);
  };
  response.writeHead = tagged as WriteHead;
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
