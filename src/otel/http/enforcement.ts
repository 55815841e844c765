import http, { type IncomingHttpHeaders, STATUS_CODES } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { context as otelContext, type Span, trace } from '@opentelemetry/api';
import { ATTR, EVENT, EXECUTION_CONTEXT_HEADER } from '../../base/conventions.js';
import { EctError } from '../../base/errors.js';
import type { EctMode } from '../config.js';
import { INCOMING_CARRIER, incomingFailures, incomingVerdict } from '../propagation/context-keys.js';
import type { EctPropagator } from '../propagation/propagator.js';
import type { EctStats } from '../stats.js';
import { REQUIRE_NONE, type RequirePolicy, tokenRequired } from './require-policy.js';

/** Options of {@link installEnforcement}. */
export interface EnforcementOptions {
  /**
   * `enforce` (default) refuses bad and missing tokens; `record` only records missing ones (the
   * span processor records bad ones).
   */
  mode?: EctMode;
  /** Which requests must carry a token (`ECT_REQUIRE`). Default: none. */
  require?: RequirePolicy;
  /** Where missing tokens are counted (`incoming.missing`); share the bridge's. */
  stats?: EctStats;
  /**
   * Enforce mode with a crypto pool: requests held at most at once while their tokens are checked
   * in the pool's worker threads; one more is answered `503` with code `ECT_BUSY` (counted as
   * `incoming.busy`). Default {@link DEFAULT_MAX_WAITING}.
   */
  maxWaiting?: number;
}

/**
 * Requests held at once by default: a worker checks an ES256 signature in ~0.1 ms, so 1,024 held
 * requests are about a tenth of a second of one worker's work; beyond that the pool is not keeping
 * up and queueing more would only add latency and memory.
 */
export const DEFAULT_MAX_WAITING = 1024;

/** How a server hands a request over: with a response object, a bare socket, or an HTTP/2 stream. */
type Door = 'exchange' | 'socket' | 'stream' | 'session';
/** What emits: an HTTP/1 server, an HTTP/2 server, or an HTTP/2 server session. */
type Emitter = 'http1' | 'http2' | 'session';
type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type Settings = {
  propagator: EctPropagator;
  mode: EctMode;
  require: RequirePolicy;
  stats: EctStats | undefined;
  maxWaiting: number;
  /** Requests held now, waiting for their verdict. */
  waiting: number;
};
/** The part of `ServerResponse` / `Http2ServerResponse` a refusal needs. */
type Answerable = {
  headersSent: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body: string): unknown;
};
/** The part of `IncomingMessage` / `Http2ServerRequest` the guard reads. */
type RequestLike = {
  headers: IncomingHttpHeaders;
  url?: string;
  stream?: http2.ServerHttp2Stream;
  destroyed?: boolean;
};
/** A refusal, a pending verdict (the first failure, if any), or undefined to let the request in now. */
type Check = EctError | Promise<EctError | undefined> | undefined;

/**
 * Every event by which a Node server hands a request to application code. `request`,
 * `checkContinue` and `checkExpectation` come with a response object (also on HTTP/2, from the
 * compatibility layer); `upgrade` and `connect` with the bare socket; HTTP/2 `stream` with the
 * stream. A `switch` on the (internalised) event name: measured against a `Map` and a
 * null-prototype record on `server.emit('timeout')`, it alone added nothing measurable over a
 * pass-through wrapper, the lookups 5–20 ns (Node 20, shared 2-core machine, noisy).
 */
function doorOf(event: string, emitter: Emitter): Door | undefined {
  switch (event) {
    case 'request':
    case 'checkContinue':
    case 'checkExpectation':
      return emitter === 'session' ? undefined : 'exchange';
    case 'upgrade':
    case 'connect':
      return emitter === 'session' ? undefined : 'socket';
    case 'stream':
      return emitter === 'http1' ? undefined : 'stream';
    // A session's own `stream` listeners (added from the server's `session` event) hear a stream
    // before the server does: the session's prototype is guarded as soon as one exists.
    case 'session':
      return emitter === 'http2' ? 'session' : undefined;
    default:
      return undefined;
  }
}

const GUARDED = Symbol('otel-ect enforcement guard');
/** Every request refused with one answer: enforce mode asked for, and no bridge to enforce it. */
type Refusal = { refuseAll: EctError };
/**
 * One configuration per process: the last {@link installEnforcement} (or {@link installRefusal})
 * wins; undefined = pass-through.
 */
let current: Settings | Refusal | undefined;
/**
 * HTTP/2 streams already let in: the server's `stream` and the compatibility `request` that
 * follow the session's `stream` are not checked (or counted) again.
 */
let checkedStreams = new WeakSet<object>();

/**
 * Enforce mode for `node:http`, `node:https` and `node:http2` servers (and so Express, Fastify and
 * anything else on them). Guards every door by which a server hands a request to application
 * code: `request`, `checkContinue`, `checkExpectation`, `upgrade`, `connect`; on HTTP/2, `stream`
 * on the server and on each session, the compatibility `request`, and HTTP/1.1 under
 * `allowHTTP1`. A request whose `Execution-Context` tokens fail verification is answered
 * `403 {"error":"execution_context_rejected","code":…,"message":…}`, one that lacks a token the
 * {@link RequirePolicy} asks for `401` with code `ECT_MISSING`, before any listener sees it
 * (`upgrade`/`connect`: the answer is written on the socket, which is then destroyed; HTTP/2: the
 * stream is answered and ended). In `record` mode nothing is refused: a missing required token
 * becomes an `ect.token_missing` event on the server span (where the instrumentation made one)
 * and is counted in `incoming.missing`.
 *
 * Install it before the HTTP instrumentation wraps `Server.prototype.emit` (`startEctNodeSdk`
 * does): the guard then runs inside the instrumentation's server span, reuses the propagator's
 * verification (with its replay check), and the span records the refusal. When the propagator
 * checks signatures in a crypto pool, a `request` whose tokens are still being checked is held:
 * its listeners are not called (its body stays unread) until the verdict, while the event loop
 * serves other requests; then it goes in (in its server span's context) or is refused. At most
 * `maxWaiting` are held at once; past that a request is answered `503`
 * `{"error":"execution_context_busy","code":"ECT_BUSY",…}`. At the other doors, or
 * installed after the instrumentation, it verifies by itself (without a replay check). One
 * configuration per process: a later call replaces an earlier one. The uninstaller leaves the
 * wrappers in place, passing everything through.
 *
 * @example const uninstall = installEnforcement(bridge.propagator, { require: requirePolicyFromEnv() });
 */
export function installEnforcement(propagator: EctPropagator, options: EnforcementOptions = {}): () => void {
  const settings: Settings = {
    propagator,
    mode: options.mode ?? 'enforce',
    require: options.require ?? REQUIRE_NONE,
    stats: options.stats,
    maxWaiting: options.maxWaiting ?? DEFAULT_MAX_WAITING,
    waiting: 0,
  };
  // Record mode with nothing required has nothing to do at the doors: leave `emit` alone (and a
  // guard left by an earlier call passes everything through).
  if (settings.mode === 'record' && settings.require.kind === 'none') {
    current = undefined;
    return () => {};
  }
  for (const [proto, emitter] of serverPrototypes()) wrapEmit(proto, emitter);
  current = settings;
  checkedStreams = new WeakSet();
  return () => {
    if (current === settings) current = undefined;
  };
}

/**
 * Fail-closed enforce mode: every request at every door is answered `503
 * {"error":"execution_context_unavailable","code":"ECT_NOT_ENFORCING",…}` with `Retry-After`, and
 * no application code sees it. For a process started with `ECT_MODE=enforce` whose bridge could
 * not start (a setting that cannot be used, an unreadable key): serving its routes unguarded would
 * turn a typo into an open door, and stopping the process is not the bridge's call. The reason
 * itself is for the operator (standard error), not for callers. Replaced by a later
 * {@link installEnforcement}; the uninstaller passes everything through again.
 *
 * @example if (process.env.ECT_MODE === 'enforce') installRefusal();
 */
export function installRefusal(): () => void {
  const refusal: Refusal = {
    refuseAll: new EctError(
      'ECT_NOT_ENFORCING',
      'this service is set to enforce Execution-Context tokens but cannot check them: its configuration is invalid',
      { status: 503 },
    ),
  };
  for (const [proto, emitter] of serverPrototypes()) wrapEmit(proto, emitter);
  current = refusal;
  checkedStreams = new WeakSet();
  return () => {
    if (current === refusal) current = undefined;
  };
}

/** Server prototypes, each with what kind of server it is. */
let prototypes: [object, Emitter][] | undefined;
function serverPrototypes(): [object, Emitter][] {
  if (prototypes === undefined) {
    // `node:http2` does not export its server classes: take the prototypes from servers that are
    // created, never listen, and hold no handle.
    const plain = http2.createServer();
    const secure = http2.createSecureServer({});
    prototypes = [
      [http.Server.prototype, 'http1'],
      [https.Server.prototype, 'http1'],
      [Object.getPrototypeOf(plain) as object, 'http2'],
      [Object.getPrototypeOf(secure) as object, 'http2'],
    ];
    plain.close();
    secure.close();
  }
  return prototypes;
}

/**
 * Wraps `emit` on a server prototype once per process; later installs only swap {@link current}, so
 * the guard stays beneath an instrumentation that wrapped `emit` after it.
 */
function wrapEmit(proto: object, emitter: Emitter): void {
  const target = proto as { emit: Emit; [GUARDED]?: true };
  if (Object.hasOwn(target, GUARDED)) return;
  const original = target.emit;
  // Rest and spread, as the HTTP instrumentation's own wrapper: `arguments` + `apply` measured no
  // faster, and a fixed arity would change what listeners see.
  target.emit = function emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    const guard = current;
    const door = guard !== undefined && typeof event === 'string' ? doorOf(event, emitter) : undefined;
    if (guard !== undefined && door !== undefined) {
      if ('refuseAll' in guard) {
        if (door !== 'session') {
          refuse(door, args, guard.refuseAll, 'execution_context_unavailable');
          return true;
        }
        // Its streams are refused at the session's own `stream`.
        wrapEmit(Object.getPrototypeOf(args[0]) as object, 'session');
      } else {
        const admitted = admit(guard, door, args);
        if (admitted === false) return true;
        if (admitted !== true) {
          hold(guard, admitted, args, () => original.apply(this, [event, ...args]));
          return true;
        }
      }
    }
    return original.apply(this, [event, ...args]);
  };

  Object.defineProperty(target, GUARDED, { value: true });
}

/**
 * Checks one request at its door (`args`: the emit's arguments after the event name); answers it
 * and returns false when it must not go in, or returns the pending verdict it must wait for.
 */
function admit(settings: Settings, door: Door, args: unknown[]): boolean | Promise<EctError | undefined> {
  if (door === 'session') {
    // `ServerHttp2Session` is not exported either: its prototype comes with the first session.
    wrapEmit(Object.getPrototypeOf(args[0]) as object, 'session');
    return true;
  }
  let headers: IncomingHttpHeaders;
  let target: string | undefined;
  if (door === 'stream') {
    // Checked already when its session emitted it (the server's `stream` comes from that).
    if (checkedStreams.has(args[0] as object)) return true;
    const streamHeaders = args[1] as http2.IncomingHttpHeaders;
    headers = streamHeaders;
    target = streamHeaders[':path'] ?? streamHeaders[':authority'];
  } else {
    const request = args[0] as RequestLike;
    // HTTP/2 compatibility request: its stream was checked at `stream`.
    if (request.stream !== undefined && checkedStreams.has(request.stream)) return true;
    headers = request.headers;
    target = request.url;
  }
  const refusal = check(settings, headers, target, door === 'exchange');
  if (refusal instanceof Promise) return refusal;
  if (refusal === undefined) {
    if (door === 'stream') checkedStreams.add(args[0] as object);
    return true;
  }
  refuse(door, args, refusal);
  return false;
}

/** Answers a request at its door (`args`: the emit's arguments after the event name). */
function refuse(door: Exclude<Door, 'session'>, args: unknown[], refusal: EctError, error?: string): void {
  if (door === 'exchange') answer(args[1] as Answerable, refusal, error);
  else if (door === 'socket') answerOnSocket(args[1] as Duplex, refusal, error);
  else answerOnStream(args[0] as http2.ServerHttp2Stream, refusal, error);
}

/**
 * The reason to refuse a request, its pending verdict (only where `canWait`: a door with a
 * response to answer later), or undefined to let it in (record mode: always undefined).
 */
function check(settings: Settings, headers: IncomingHttpHeaders, target: string | undefined, canWait: boolean): Check {
  const values = headers[EXECUTION_CONTEXT_HEADER];
  const active = otelContext.active();
  // Extracted from this very request by the propagator inside the HTTP instrumentation: the
  // verification (with the replay check) is done, and the active span is this request's.
  const extracted = active.getValue(INCOMING_CARRIER) === headers;
  if (isBlank(values)) {
    if (!tokenRequired(settings.require, target)) return undefined;
    settings.stats?.add('incoming.missing');
    const missing = new EctError('ECT_MISSING', 'this route requires an Execution-Context token');
    if (settings.mode === 'enforce') return missing;
    const span: Span | undefined = extracted ? trace.getSpan(active) : undefined;
    span?.addEvent(EVENT.tokenMissing, { [ATTR.errorCode]: missing.code, [ATTR.errorMessage]: missing.message });
    return undefined;
  }
  if (settings.mode !== 'enforce') return undefined;
  const pending = extracted ? incomingVerdict(active) : undefined;
  // Not extracted from this request by the propagator (or a door that cannot wait): checked here.
  if (!extracted || (pending !== undefined && !canWait)) return settings.propagator.verifyValues(values).failures[0];
  const refusal = incomingFailures(active)[0];
  if (refusal !== undefined) return refusal;
  // Signatures being checked in the crypto pool (the verdict never rejects).
  return pending?.then((failures) => failures[0]);
}

/**
 * Holds a request until its verdict: then lets it in (`proceed`, in the context it came with, the
 * server span's) or refuses it. Past `maxWaiting` held requests it is answered 503 at once.
 */
function hold(
  settings: Settings,
  verdict: Promise<EctError | undefined>,
  args: unknown[],
  proceed: () => unknown,
): void {
  const request = args[0] as RequestLike;
  const response = args[1] as Answerable & { destroyed?: boolean };
  if (settings.waiting >= settings.maxWaiting) {
    settings.stats?.add('incoming.busy');
    answer(
      response,
      new EctError('ECT_BUSY', `${settings.maxWaiting} requests are already waiting for their tokens' verdict`, {
        status: 503,
      }),
      'execution_context_busy',
    );
    return;
  }
  settings.waiting++;
  const active = otelContext.active();
  const decide = (refusal: EctError | undefined) => {
    settings.waiting--;
    // The caller went away meanwhile: nobody to answer, and no handler for a closed exchange.
    if (request.destroyed === true || response.destroyed === true) return;
    if (refusal !== undefined) {
      answer(response, refusal);
      return;
    }
    try {
      otelContext.with(active, proceed);
    } catch (error) {
      // A listener that throws would have thrown out of `emit`, uncaught: it still does.
      process.nextTick(() => {
        throw error;
      });
    }
  };
  verdict.then(decide, (error: unknown) =>
    decide(new EctError('ECT_MALFORMED', error instanceof Error ? error.message : String(error))),
  );
}

function isBlank(values: string | string[] | undefined): values is undefined {
  if (values === undefined) return true;
  const lines = typeof values === 'string' ? [values] : values;
  return lines.every((line) => line.split(',').every((item) => item.trim() === ''));
}

function bodyOf(refusal: EctError, error = 'execution_context_rejected'): string {
  return JSON.stringify({ error, ...refusal.toJSON() });
}

function answer(response: Answerable, refusal: EctError, error?: string): void {
  const body = bodyOf(refusal, error);
  if (!response.headersSent) {
    response.writeHead(refusal.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(refusal.status === 503 ? { 'retry-after': 1 } : {}),
    });
  }
  response.end(body);
}

/** `upgrade`/`connect`: no response object exists; the answer is written on the socket as sent. */
function answerOnSocket(socket: Duplex, refusal: EctError, error?: string): void {
  const body = bodyOf(refusal, error);
  const head =
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  if (socket.destroyed) return;
  socket.end(head + body, () => socket.destroy());
}

function answerOnStream(stream: http2.ServerHttp2Stream, refusal: EctError, error?: string): void {
  if (stream.destroyed || stream.closed) return;
  const body = bodyOf(refusal, error);
  if (!stream.headersSent) {
    stream.respond({
      ':status': refusal.status,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
  }
  stream.end(body);
}
