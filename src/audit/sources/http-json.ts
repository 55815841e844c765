import { readCappedBody } from '../../base/capped-body.js';
import { EctAuditSourceError } from '../../base/errors.js';

/** How long one request (answer body included) may take by default. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The largest answer body read by default: a search page of traces whose spans carry tokens. */
export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** How much of an error answer is kept for the message. */
const ERROR_SNIPPET_CHARS = 300;

/** What every backend request takes: cancellation, bounds, and an injectable `fetch`. */
export interface HttpRequestOptions {
  /** Cancels the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Per request, answer body included (default {@link DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Largest answer body accepted (default {@link DEFAULT_MAX_ANSWER_BYTES}). */
  maxAnswerBytes?: number;
  /** Extra request headers (e.g. `Authorization`, Tempo's `X-Scope-OrgID`). */
  headers?: Readonly<Record<string, string>>;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
}

/** A backend's base URL, ready to join paths to, and the headers every request carries. */
export interface BackendEndpoint {
  /** Base URL without credentials, query or fragment. */
  readonly base: URL;
  /** The base URL's path without its trailing `/` (`''` for the root), which API paths are appended to. */
  readonly basePath: string;
  /** The base URL as shown in messages and reports (no credentials). */
  readonly location: string;
  /** Request headers: the caller's, plus `Authorization: Basic` when the URL carried credentials. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Reads a backend base URL. Credentials in the URL become an `Authorization: Basic` header (fetch
 * refuses URLs that carry them) and never appear in `location`, error messages or reports.
 *
 * @example const endpoint = backendEndpoint('http://user:pw@127.0.0.1:16686/jaeger/'); endpoint.location // 'http://127.0.0.1:16686/jaeger'
 */
export function backendEndpoint(url: string | URL, headers: Readonly<Record<string, string>> = {}): BackendEndpoint {
  let base: URL;
  try {
    base = new URL(url);
  } catch (error) {
    throw new EctAuditSourceError('ECT_AUDIT_SOURCE_SPEC_INVALID', `not a URL: ${redact(String(url))}`, {
      cause: error,
    });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new EctAuditSourceError(
      'ECT_AUDIT_SOURCE_SPEC_INVALID',
      `a tracing backend URL must be http: or https:, got ${base.protocol} (${redact(base.href)})`,
    );
  }
  const all: Record<string, string> = { ...headers };
  if (base.username !== '' || base.password !== '') {
    const user = decodeURIComponent(base.username);
    const password = decodeURIComponent(base.password);
    all.authorization ??= `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    base.username = '';
    base.password = '';
  }
  base.search = '';
  base.hash = '';
  const basePath = base.pathname.replace(/\/+$/, '');
  return { base, basePath, location: base.href.replace(/\/+$/, ''), headers: all };
}

/**
 * The URL of `path` under the endpoint's base path, with `query` (parameters whose value is
 * `undefined` are left out).
 */
export function endpointUrl(
  endpoint: BackendEndpoint,
  path: string,
  query: Readonly<Record<string, string | number | undefined>> = {},
): URL {
  const url = new URL(endpoint.base.href);
  url.pathname = `${endpoint.basePath}${path}`;
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url;
}

/** An answer: its status and its body as text (read within the size bound). */
export interface HttpAnswer {
  status: number;
  text: string;
}

/**
 * GETs `url` and reads the whole answer body as UTF-8 text, whatever the status, within the time
 * and size bounds. Throws {@link EctAuditSourceError}: `ECT_AUDIT_SOURCE_UNREACHABLE` (connection
 * refused, DNS, TLS), `ECT_AUDIT_SOURCE_TIMEOUT`, `ECT_AUDIT_SOURCE_TOO_LARGE`; rejects with the
 * signal's reason when `options.signal` aborts.
 *
 * @example const { status, text } = await httpGet(new URL('http://127.0.0.1:16686/api/v3/services'), { timeoutMs: 5000 });
 */
export async function httpGet(
  url: URL,
  options: HttpRequestOptions & { headers?: Readonly<Record<string, string>> } = {},
): Promise<HttpAnswer> {
  const shown = redact(url.href);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  const failed = (error: unknown): never => {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted) {
      throw new EctAuditSourceError(
        'ECT_AUDIT_SOURCE_TIMEOUT',
        `no complete answer from ${shown} within ${timeoutMs} ms`,
        {
          url: shown,
          cause: error,
        },
      );
    }
    if (error instanceof EctAuditSourceError) throw error;
    throw new EctAuditSourceError('ECT_AUDIT_SOURCE_UNREACHABLE', `cannot reach ${shown}: ${networkReason(error)}`, {
      url: shown,
      cause: error,
    });
  };
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'GET',
      headers: { accept: 'application/json', ...options.headers },
      redirect: 'follow',
      signal,
    });
  } catch (error) {
    return failed(error);
  }
  const tooLarge = (what: string) =>
    new EctAuditSourceError(
      'ECT_AUDIT_SOURCE_TOO_LARGE',
      `the answer of ${shown} is ${what}, over the ${maxBytes}-byte bound (raise it, or narrow the query)`,
      { url: shown, httpStatus: response.status },
    );
  let body: Buffer;
  try {
    body = await readCappedBody(response, maxBytes, (declared) =>
      tooLarge(declared === undefined ? 'longer' : `${declared} bytes long`),
    );
  } catch (error) {
    return failed(error);
  }
  return { status: response.status, text: body.toString('utf8') };
}

/**
 * The JSON values of an answer body: one JSON text, or several in a row (newline-delimited or
 * simply concatenated, as a streaming gRPC gateway writes one `{"result": …}` object per message).
 * Throws `ECT_AUDIT_SOURCE_INVALID` naming the URL when the body is not that.
 *
 * @example jsonValues('{"result":{}}\n{"result":{}}', url).length // 2
 */
export function jsonValues(text: string, url: URL, status = 200): unknown[] {
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    // Not one JSON text: perhaps several; split them at the top level.
  }
  const values: unknown[] = [];
  for (const piece of topLevelJsonTexts(text)) {
    if (piece === undefined) return notJson(text, url, status);
    try {
      values.push(JSON.parse(piece) as unknown);
    } catch {
      return notJson(text, url, status);
    }
  }
  if (values.length === 0) return notJson(text, url, status);
  return values;
}

/**
 * Throws the error an HTTP error answer means: `ECT_AUDIT_SOURCE_HTTP` with the backend's own
 * message (Jaeger's `{"error":{"message":…}}`, or the start of a plain-text body).
 */
export function httpError(url: URL, answer: HttpAnswer, hint = ''): EctAuditSourceError {
  const shown = redact(url.href);
  const said = errorMessageOf(answer.text);
  return new EctAuditSourceError(
    'ECT_AUDIT_SOURCE_HTTP',
    `${shown} answered HTTP ${answer.status}${said === '' ? '' : `: ${said}`}${hint === '' ? '' : ` (${hint})`}`,
    { url: shown, httpStatus: answer.status },
  );
}

/** The message inside an error answer: JSON `error.message` / `message`, or the text itself (shortened). */
export function errorMessageOf(text: string): string {
  let message: unknown;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    message = typeof body.error === 'object' ? body.error?.message : (body.error ?? body.message);
  } catch {
    message = text;
  }
  const said = typeof message === 'string' ? message.trim().replace(/\s+/g, ' ') : '';
  return said.length > ERROR_SNIPPET_CHARS ? `${said.slice(0, ERROR_SNIPPET_CHARS)}…` : said;
}

/** A URL as text, without any user name or password in it. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return parsed.href;
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

function notJson(text: string, url: URL, status: number): never {
  const start = text.trim().slice(0, 80).replace(/\s+/g, ' ');
  throw new EctAuditSourceError(
    'ECT_AUDIT_SOURCE_INVALID',
    `${redact(url.href)} answered HTTP ${status} with a body that is not JSON${start === '' ? ' (empty)' : `: ${start}${text.length > 80 ? '…' : ''}`}`,
    { url: redact(url.href), httpStatus: status },
  );
}

/**
 * Splits a run of JSON objects/arrays at the top level; yields `undefined` for anything else
 * (a bare scalar or unbalanced brackets). A plain scan rather than a streaming-JSON dependency:
 * the body is already bounded and in memory, and only the top-level boundaries are needed.
 */
const RECORD_SEPARATOR = String.fromCharCode(0x1e);

function* topLevelJsonTexts(text: string): Generator<string | undefined> {
  let i = 0;
  const n = text.length;
  while (i < n) {
    // Whitespace, and the record separator of RFC 7464 JSON text sequences.
    while (i < n && (text[i] === RECORD_SEPARATOR || /\s/.test(text[i] as string))) i++;
    if (i >= n) return;
    const first = text[i];
    if (first !== '{' && first !== '[') {
      yield undefined;
      return;
    }
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) {
      yield undefined;
      return;
    }
    yield text.slice(start, i);
  }
}

function networkReason(error: unknown): string {
  // Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a TLS error) is the cause.
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const inner = cause instanceof Error ? cause : error instanceof Error ? error : undefined;
  if (inner === undefined) return String(error);
  const code = (inner as { code?: unknown }).code;
  return typeof code === 'string' && !inner.message.includes(code) ? `${code}: ${inner.message}` : inner.message;
}
