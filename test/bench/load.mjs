// The load generator of otel.bench.mjs: autocannon, every request with its own pre-signed
// Execution-Context token and its own traceparent.
//
// Why `setupRequest` and not a `requests` array of ready headers: autocannon gives every connection
// its own iterator over `requests`, so N connections would each send the array from its start (the
// same token N times, and the services' verified-token cache would hit). `setupRequest` runs per
// request on one shared cursor, so no token is ever sent twice; its cost is autocannon rebuilding the
// request head (a few µs, in the load generator, not in the service).
import { randomBytes, randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { EctSigner, newClaims } from '../../dist/token/index.js';

export const LOADGEN_ISSUER = 'spiffe://example.org/service/bench-loadgen';

/**
 * Tokens signed ahead of the load by the load generator's own key, each bound to a fresh caller span
 * (its W3C trace id and span id, which its traceparent carries too). `take()` never repeats: if the
 * supply runs out it signs on the spot and counts it (`lateSigned`), a figure the bench prints.
 */
export class TokenSupply {
  #signer;
  #tokens = [];
  #next = 0;
  lateSigned = 0;
  handedOut = 0;

  constructor(signingKey) {
    this.#signer = new EctSigner(signingKey);
  }

  #make() {
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    const token = this.#signer.sign(
      newClaims({
        iss: LOADGEN_ISSUER,
        aud: 'spiffe://example.org',
        exec_act: 'GET /',
        wid: randomUUID(),
        ect_ext: {
          'io.opentelemetry.span': { trace_id: traceId, span_id: spanId, name: 'GET', kind: 'CLIENT', status: 'UNSET' },
        },
      }),
    );
    return { token, traceparent: `00-${traceId}-${spanId}-01` };
  }

  /** Replaces the supply with `count` freshly signed tokens (old ones would age towards the 900 s limit). */
  refill(count) {
    this.#tokens = Array.from({ length: count }, () => this.#make());
    this.#next = 0;
  }

  /** The next unused token and its traceparent. */
  take() {
    this.handedOut++;
    if (this.#next < this.#tokens.length) {
      const t = this.#tokens[this.#next];
      this.#tokens[this.#next++] = undefined;
      return t;
    }
    this.lateSigned++;
    return this.#make();
  }
}

const quantile = (sorted, q) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/**
 * Runs autocannon against http://127.0.0.1:port/ for `seconds`; every request takes a token from
 * `supply`. Latency percentiles come from autocannon's per-response times (sub-millisecond), not
 * its whole-millisecond histogram.
 */
export function runLoad({ port, seconds, connections, supply }) {
  return new Promise((resolveRun, reject) => {
    let latencies = new Float64Array(65536);
    let n = 0;
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/`,
        connections,
        duration: seconds,
        requests: [
          {
            method: 'GET',
            path: '/',
            setupRequest: (req) => {
              const { token, traceparent } = supply.take();
              req.headers['execution-context'] = token;
              req.headers.traceparent = traceparent;
              return req;
            },
          },
        ],
      },
      (error, result) => {
        clearTimeout(watchdog);
        if (error) return reject(error);
        const sorted = latencies.subarray(0, n).sort();
        resolveRun({
          requests: result.requests.total,
          rps: result.requests.total / (result.duration || seconds),
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          p50: quantile(sorted, 0.5),
          p99: quantile(sorted, 0.99),
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) return;
      if (n === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[n++] = responseTime;
    });
    const watchdog = setTimeout(() => instance.stop(), (seconds + 30) * 1000);
  });
}
