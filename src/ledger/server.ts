/**
 * The ledger server: appends verified tokens and serves receipts and the C2SP read paths.
 *
 * - `POST /v1/entries` with `{"tokens": ["…", …]}`: each token is verified (audit mode, against
 *   the configured keys) and the valid, new ones are appended as one batch; the answer lists, per
 *   token and in order, `{"receipt": …}` or `{"error": {"code", "message"}}`.
 * - `POST /v1/logs`: an OTLP/HTTP log export (`ExportLogsServiceRequest` as JSON, what a Collector
 *   sends with `encoding: json`, see collector-config/ledger.yaml): the bodies of its `ect.token`
 *   records are appended as above; other records are ignored. The answer is an OTLP
 *   `ExportLogsServiceResponse`, with `partialSuccess` counting the tokens refused (a duplicate
 *   included: a Collector's retry of a batch that did land is not an error worth retrying).
 * - `GET /v1/entries/{jti}`: `{"entries": [{"token", "receipt"}]}`, 404 when unknown.
 * - `GET /checkpoint`, `GET /tile/…`: the C2SP resources. Full tiles and bundles never change and
 *   are served as immutable; the checkpoint and partial tiles are revalidated.
 * - `GET /healthz`.
 *
 * Bodies over `maxBodyBytes` get 413; more than `maxInFlight` appends at once get 429 with
 * `Retry-After`; malformed requests get 400; every error body is `{"error": {"code", "message"}}`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { otlpRecordsInJson } from '../base/otlp-json.js';
import { TOKEN_LOG_EVENT } from '../base/conventions.js';
import { EctLedgerError, isEctError, type EctErrorCode } from '../base/errors.js';
import type { KeyResolver } from '../keys/types.js';
import { EctVerifier } from '../token/verify.js';
import { claimsOf } from './entry.js';
import type { LedgerStore } from './store.js';
import { parseTilePath, TILE_WIDTH } from './tiles.js';

/** Options of {@link createLedgerServer}. */
export interface LedgerServerOptions {
  store: LedgerStore;
  /** Keys that tokens must verify against (audit mode: no audience, expiry or age rule). */
  keys: KeyResolver;
  /** Largest request body. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Largest batch. Default 1,024 tokens. */
  maxBatch?: number;
  /** Append requests handled at once (counted from their arrival); beyond, 429. Default 64. */
  maxInFlight?: number;
  /**
   * Bearer tokens allowed to append (`Authorization: Bearer …` on the `POST` paths; reads stay
   * open, as a transparency log's should). Unset: anyone who can reach the server may append,
   * though only tokens that verify get in and a replayed one is answered as a duplicate.
   */
  writeTokens?: readonly string[];
}

type Result = { receipt: unknown } | { error: { code: string; message: string } };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code:
      | EctErrorCode
      | 'ECT_LEDGER_OVERLOADED'
      | 'ECT_LEDGER_BODY_TOO_LARGE'
      | 'ECT_LEDGER_BAD_REQUEST'
      | 'ECT_LEDGER_UNAUTHORIZED',
    message: string,
  ) {
    super(message);
  }
}

/**
 * An HTTP server over a ledger store; call `listen` on it.
 *
 * @example createLedgerServer({ store: ledger, keys }).listen(8080, '127.0.0.1');
 */
export function createLedgerServer(options: LedgerServerOptions): Server {
  const maxBodyBytes = options.maxBodyBytes ?? 1 << 20;
  const maxBatch = options.maxBatch ?? 1024;
  const maxInFlight = options.maxInFlight ?? 64;
  const verifier = new EctVerifier({ keys: options.keys, audit: true });
  const store = options.store;
  const mayWrite = writeAuthorizer(options.writeTokens);
  let inFlight = 0;

  const readJson = async (request: IncomingMessage): Promise<unknown> => {
    const body = await readBody(request, maxBodyBytes);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'ECT_LEDGER_BAD_REQUEST', 'body is not JSON');
    }
  };

  const appendEntries = async (request: IncomingMessage): Promise<{ results: Result[] }> => {
    const tokens = ((await readJson(request)) as { tokens?: unknown } | null)?.tokens;
    if (!Array.isArray(tokens) || tokens.length === 0)
      throw new HttpError(400, 'ECT_LEDGER_BAD_REQUEST', 'body must be {"tokens": [ … ]}');
    return appendTokens(tokens);
  };

  const appendLogs = async (request: IncomingMessage): Promise<object> => {
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      request.resume();
      throw new HttpError(
        415,
        'ECT_LEDGER_BAD_REQUEST',
        "OTLP/HTTP JSON only (the Collector exporter's encoding: json)",
      );
    }
    const { logRecords } = otlpRecordsInJson(await readJson(request));
    const tokens = logRecords
      .filter((record) => record.eventName === TOKEN_LOG_EVENT && typeof record.body === 'string')
      .map((record) => record.body as string);
    if (tokens.length === 0) return {};
    const { results } = await appendTokens(tokens);
    const refused = results.filter((r) => 'error' in r && r.error.code !== 'ECT_LEDGER_DUPLICATE');
    if (refused.length === 0) return {};
    const first = refused[0] as { error: { code: string; message: string } };
    return {
      partialSuccess: {
        rejectedLogRecords: String(refused.length),
        errorMessage: `${refused.length} token(s) refused, first: ${first.error.code}: ${first.error.message}`,
      },
    };
  };

  const appendTokens = async (tokens: readonly unknown[]): Promise<{ results: Result[] }> => {
    if (tokens.length > maxBatch) throw new HttpError(413, 'ECT_LEDGER_BODY_TOO_LARGE', `more than ${maxBatch} tokens`);
    const results: (Result | undefined)[] = [];
    const accepted: { position: number; token: string }[] = [];
    const inBatch = new Set<string>();
    for (const [position, token] of tokens.entries()) {
      try {
        if (typeof token !== 'string') throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', 'a token is a string');
        const { claims } = verifier.verifySync(token);
        const pair = `${claims.wid ?? ''}\u0000${claims.jti}`;
        const stored = await store.indexesOf(claims.jti);
        let duplicate = inBatch.has(pair);
        for (const index of stored) if (claimsOf(await store.entry(index)).wid === claims.wid) duplicate = true;
        if (duplicate) throw new EctLedgerError('ECT_LEDGER_DUPLICATE', `jti ${claims.jti} is already in the ledger`);
        inBatch.add(pair);
        accepted.push({ position, token });
      } catch (error) {
        if (!isEctError(error)) throw error;
        results[position] = { error: { code: error.code, message: error.message } };
      }
    }
    if (accepted.length > 0) {
      let indexes: number[];
      try {
        ({ indexes } = await store.append(accepted.map((a) => a.token)));
      } catch (error) {
        // Another writer got there between the check and the append: fall back to one by one.
        if (!isEctError(error, 'ECT_LEDGER_DUPLICATE')) throw error;
        indexes = [];
        for (const a of accepted) {
          try {
            indexes.push((await store.append([a.token])).indexes[0] as number);
          } catch (single) {
            if (!isEctError(single)) throw single;
            indexes.push(-1);
            results[a.position] = { error: { code: single.code, message: single.message } };
          }
        }
      }
      for (const [k, a] of accepted.entries()) {
        const index = indexes[k] as number;
        if (index >= 0) results[a.position] = { receipt: await store.receipt(index) };
      }
    }
    return { results: results as Result[] };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://ledger');
    const path = url.pathname;
    if (path === '/v1/entries' || path === '/v1/logs') {
      if (request.method !== 'POST') throw new HttpError(405, 'ECT_LEDGER_BAD_REQUEST', 'POST tokens here');
      if (!mayWrite(request.headers.authorization)) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="ect-ledger"');
        request.resume();
        throw new HttpError(401, 'ECT_LEDGER_UNAUTHORIZED', 'appending needs Authorization: Bearer <write token>');
      }
      if (inFlight >= maxInFlight) {
        response.setHeader('Retry-After', '1');
        request.resume();
        throw new HttpError(429, 'ECT_LEDGER_OVERLOADED', 'too many appends in flight; retry later');
      }
      inFlight++;
      try {
        sendJson(response, 200, path === '/v1/logs' ? await appendLogs(request) : await appendEntries(request));
      } finally {
        inFlight--;
      }
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD')
      throw new HttpError(405, 'ECT_LEDGER_BAD_REQUEST', 'read-only path');
    if (path === '/healthz') {
      sendJson(response, 200, { status: 'ok', inFlight });
      return;
    }
    if (path.startsWith('/v1/entries/')) {
      const jti = decodeURIComponent(path.slice('/v1/entries/'.length));
      const indexes = await store.indexesOf(jti);
      if (indexes.length === 0) throw new HttpError(404, 'ECT_LEDGER_NOT_FOUND', `no entry with jti ${jti}`);
      const entries = [];
      for (const index of indexes)
        entries.push({ token: await store.entry(index), receipt: await store.receipt(index) });
      sendJson(response, 200, { entries });
      return;
    }
    const resource = path.slice(1);
    const data = await store.resource(resource);
    if (data === undefined) throw new HttpError(404, 'ECT_LEDGER_NOT_FOUND', `no resource ${path}`);
    const tile = parseTilePath(resource);
    const immutable = tile !== undefined && tile.width === TILE_WIDTH;
    response.writeHead(200, {
      'Content-Type': resource === 'checkpoint' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'Content-Length': data.length,
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    response.end(request.method === 'HEAD' ? undefined : data);
  };

  return createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof HttpError) {
        sendJson(response, error.status, { error: { code: error.code, message: error.message } });
      } else if (isEctError(error)) {
        sendJson(response, error.status, { error: { code: error.code, message: error.message } });
      } else {
        sendJson(response, 500, { error: { code: 'ECT_LEDGER_CORRUPT', message: 'internal error' } });
      }
    });
  });
}

/**
 * Whether an `Authorization` header may append. Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, so the time taken says nothing about how much of a guess was right.
 */
function writeAuthorizer(tokens: readonly string[] | undefined): (authorization: string | undefined) => boolean {
  if (tokens === undefined) return () => true;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  const allowed = tokens.filter((token) => token !== '').map(digest);
  return (authorization) => {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (match === null) return false;
    const presented = digest(match[1] as string);
    // Every allowed token is compared, whichever matches.
    return allowed.reduce((ok, token) => timingSafeEqual(token, presented) || ok, false);
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  response.end(text);
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      request.resume();
      reject(new HttpError(413, 'ECT_LEDGER_BODY_TOO_LARGE', `body over ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new HttpError(413, 'ECT_LEDGER_BODY_TOO_LARGE', `body over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
    // A client that goes away mid-body must not hold its place in the queue (no-op once ended).
    request.on('close', () => reject(new HttpError(400, 'ECT_LEDGER_BAD_REQUEST', 'request aborted')));
  });
}
