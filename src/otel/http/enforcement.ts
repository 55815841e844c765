import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { context as otelContext, trace } from '@opentelemetry/api';
import type { EctError } from '../../base/errors.js';
import { EXECUTION_CONTEXT_HEADER } from '../../base/conventions.js';
import { incomingFailures } from '../propagation/context-keys.js';
import type { EctPropagator } from '../propagation/propagator.js';

type Emit = http.Server['emit'];
const ORIGINAL = Symbol('otel-ect original emit');

/**
 * Enforce mode for `node:http`/`node:https` servers (and so Express, Fastify and anything else on
 * them): a request whose `Execution-Context` tokens fail verification is answered
 * `403 {"error":"execution_context_rejected","code":…,"message":…}` and never reaches the handler.
 *
 * Install it before the HTTP instrumentation wraps `Server.prototype.emit` (the `register` entry
 * does), so the instrumentation's server span exists and records the 403. Returns an uninstaller.
 *
 * @example const uninstall = installEnforcement(propagator);
 */
export function installEnforcement(propagator: EctPropagator): () => void {
  const undo = [http.Server.prototype, https.Server.prototype].map((proto) =>
    wrapEmit(proto as unknown as { emit: Emit }, propagator),
  );
  return () => {
    for (const fn of undo) fn();
  };
}

function wrapEmit(proto: { emit: Emit }, propagator: EctPropagator): () => void {
  const original = proto.emit;
  if ((original as Emit & { [ORIGINAL]?: Emit })[ORIGINAL] !== undefined) return () => {};
  const guarded = function emit(this: http.Server, event: string, ...args: unknown[]): boolean {
    if (event === 'request') {
      const [request, response] = args as [IncomingMessage, ServerResponse];
      const failure = firstFailure(propagator, request);
      if (failure !== undefined) {
        reject(response, failure);
        return true;
      }
    }
    return original.apply(this, [event, ...args] as Parameters<Emit>);
  } as Emit;
  (guarded as Emit & { [ORIGINAL]?: Emit })[ORIGINAL] = original;
  proto.emit = guarded;
  return () => {
    if (proto.emit === guarded) proto.emit = original;
  };
}

function firstFailure(propagator: EctPropagator, request: IncomingMessage): EctError | undefined {
  const active = otelContext.active();
  // Inside the HTTP instrumentation the propagator has already verified this request's tokens.
  if (trace.getSpan(active) !== undefined) return incomingFailures(active)[0];
  const values = request.headers[EXECUTION_CONTEXT_HEADER];
  return values === undefined ? undefined : propagator.verifyValues(values).failures[0];
}

function reject(response: ServerResponse, failure: EctError): void {
  const body = JSON.stringify({ error: 'execution_context_rejected', ...failure.toJSON() });
  response.writeHead(failure.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
