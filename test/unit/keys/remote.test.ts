/**
 * RemoteJwksResolver against a real HTTP server on 127.0.0.1 serving a JWK Set that the tests
 * rotate: async resolution, refetch on an unknown kid, the background refresh of resolveSync,
 * cooldown, failures.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKey, publicJwkOf, RemoteJwksResolver, type EctPublicJwk } from '../../../src/keys/index.js';
import { EctSigner, EctVerifier } from '../../../src/token/index.js';
import { expectRejectedBoth, outcomeSync, validClaims, verifyOptions } from '../../helpers/ect.js';

const k1 = generateSigningKey('ES256');
const k2 = generateSigningKey('EdDSA');
const k3 = generateSigningKey('ES384');
const token1 = new EctSigner(k1).sign(validClaims());
const token2 = new EctSigner(k2).sign(validClaims());
const token3 = new EctSigner(k3).sign(validClaims());

/** What the server answers; each test sets it. */
const state: { keys: EctPublicJwk[]; status: number; requests: number } = { keys: [], status: 200, requests: 0 };
let server: Server;
let url: URL;

beforeAll(async () => {
  server = createServer((_request, res) => {
    state.requests++;
    if (state.status !== 200) {
      res.writeHead(state.status).end('unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

function serve(...keys: (typeof k1)[]): void {
  state.keys = keys.map((key) => publicJwkOf(key));
  state.status = 200;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('async verify (jose path) with a remote JWK Set', () => {
  it('fetches the set on first use and serves later tokens from the cache', async () => {
    serve(k1);
    const resolver = new RemoteJwksResolver(url);
    const verifier = new EctVerifier(verifyOptions(resolver));
    const before = state.requests;
    await expect(verifier.verify(token1)).resolves.toMatchObject({ header: { kid: k1.kid } });
    expect(state.requests).toBe(before + 1);
    await verifier.verify(token1);
    // The sync path answers from the same fetched set.
    expect(outcomeSync(verifier, token1).ok).toBe(true);
    expect(state.requests).toBe(before + 1);
  });

  it('refetches for an unknown kid after a rotation on the server', async () => {
    serve(k1);
    const resolver = new RemoteJwksResolver(url, { cooldownMs: 0 });
    const verifier = new EctVerifier(verifyOptions(resolver));
    await verifier.verify(token1);
    const before = state.requests;
    serve(k1, k2);
    await expect(verifier.verify(token2)).resolves.toMatchObject({ header: { kid: k2.kid, alg: 'EdDSA' } });
    expect(state.requests).toBe(before + 1);
    await verifier.verify(token1);
    expect(state.requests).toBe(before + 1);
  });

  it('refuses a kid the server does not publish with ECT_KEY_UNKNOWN', async () => {
    serve(k1);
    await expectRejectedBoth(verifyOptions(new RemoteJwksResolver(url, { cooldownMs: 0 })), token3, 'ECT_KEY_UNKNOWN');
  });

  it('does not refetch for unknown kids during the cooldown', async () => {
    serve(k1);
    const resolver = new RemoteJwksResolver(url, { cooldownMs: 60_000 });
    const verifier = new EctVerifier(verifyOptions(resolver));
    await verifier.verify(token1);
    const before = state.requests;
    serve(k1, k2);
    for (let i = 0; i < 3; i++)
      await expect(verifier.verify(token2)).rejects.toMatchObject({ code: 'ECT_KEY_UNKNOWN' });
    expect(state.requests).toBe(before);
  });
});

describe('resolveSync (sync path) with a remote JWK Set', () => {
  it('returns undefined first, then the key once the background refresh is done', async () => {
    serve(k1);
    const resolver = new RemoteJwksResolver(url, { cooldownMs: 0 });
    expect(resolver.resolveSync(k1.kid)).toBeUndefined();
    await vi.waitFor(() => expect(resolver.resolveSync(k1.kid)?.kid).toBe(k1.kid), { timeout: 2000, interval: 10 });
  });

  it('picks up a rotated key: ECT_KEY_UNKNOWN first, accepted after the refresh', async () => {
    serve(k1);
    const resolver = new RemoteJwksResolver(url, { cooldownMs: 0 });
    await resolver.refresh();
    const verifier = new EctVerifier(verifyOptions(resolver));
    expect(outcomeSync(verifier, token1).ok).toBe(true);
    serve(k1, k3);
    const first = outcomeSync(verifier, token3);
    expect(first.ok ? 'accepted' : first.code).toBe('ECT_KEY_UNKNOWN');
    await vi.waitFor(() => expect(outcomeSync(verifier, token3).ok).toBe(true), { timeout: 2000, interval: 10 });
  });

  it('honours the cooldown: unknown kids do not each trigger a fetch', async () => {
    serve(k1);
    const resolver = new RemoteJwksResolver(url, { cooldownMs: 60_000 });
    await resolver.refresh();
    const before = state.requests;
    for (let i = 0; i < 5; i++) {
      expect(resolver.resolveSync(`unknown-${i}`)).toBeUndefined();
      await sleep(15);
    }
    expect(state.requests).toBe(before);
    expect(resolver.resolveSync(k1.kid)?.kid).toBe(k1.kid);
  });

  it('refreshes a stale set in the background while still answering from it', async () => {
    serve(k1);
    const resolver = new RemoteJwksResolver(url, { cacheMaxAgeMs: 30, cooldownMs: 0 });
    await resolver.refresh();
    await sleep(50);
    const before = state.requests;
    serve(k2);
    expect(resolver.resolveSync(k1.kid)?.kid).toBe(k1.kid);
    await vi.waitFor(() => expect(resolver.resolveSync(k2.kid)?.kid).toBe(k2.kid), { timeout: 2000, interval: 10 });
    expect(state.requests).toBeGreaterThan(before);
    expect(resolver.resolveSync(k1.kid)).toBeUndefined();
  });

  it('reports a failed background refresh and keeps serving the last good set', async () => {
    serve(k1);
    const errors: unknown[] = [];
    const resolver = new RemoteJwksResolver(url, { cooldownMs: 0, onError: (error) => errors.push(error) });
    await resolver.refresh();
    state.status = 503;
    expect(resolver.resolveSync(k2.kid)).toBeUndefined();
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 2000, interval: 10 });
    expect(resolver.resolveSync(k1.kid)?.kid).toBe(k1.kid);
    state.status = 200;
  });

  it('a failing URL is fetched once per cooldown, and each failure reported once, however many callers ask', async () => {
    state.status = 503;
    const errors: unknown[] = [];
    const resolver = new RemoteJwksResolver(url, { cooldownMs: 60_000, onError: (error) => errors.push(error) });
    const before = state.requests;
    // Concurrent callers join one fetch; its failure is reported once.
    await Promise.all([resolver.resolve(k1.kid), resolver.resolve(k2.kid), resolver.refresh().catch(() => {})]);
    for (let i = 0; i < 50; i++) expect(resolver.resolveSync(k3.kid)).toBeUndefined();
    await resolver.resolve(k3.kid);
    await sleep(50);
    expect(state.requests - before).toBe(1);
    expect(errors).toHaveLength(1);
    state.status = 200;
  });
});

describe('an oversized JWK Set', () => {
  /** A server whose set is padded to `bytes`, sent with or without Content-Length. */
  async function paddedServer(bytes: number, withLength: boolean) {
    const body = JSON.stringify({ keys: [publicJwkOf(k1)], pad: 'p'.repeat(bytes) });
    const padded = createServer((_request, res) => {
      let sent = 0;
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(withLength ? { 'content-length': Buffer.byteLength(body) } : {}),
      });
      // In 64 KiB pieces, so a client that stops reading leaves the rest unsent.
      const pump = () => {
        while (sent < body.length) {
          const piece = body.slice(sent, sent + 65_536);
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => {});
      pump();
    });
    await new Promise<void>((resolve) => padded.listen(0, '127.0.0.1', resolve));
    const address = padded.address() as AddressInfo;
    return { url: new URL(`http://127.0.0.1:${address.port}/jwks.json`), server: padded };
  }

  for (const withLength of [true, false]) {
    it(`fails the fetch past maxBytes (${withLength ? 'Content-Length' : 'chunked'}), keeps no key, says why`, async () => {
      const big = await paddedServer(8 << 20, withLength);
      try {
        const errors: unknown[] = [];
        const resolver = new RemoteJwksResolver(big.url, { maxBytes: 1 << 20, onError: (e) => errors.push(e) });
        await expect(resolver.refresh()).rejects.toMatchObject({ code: 'ECT_KEY_INVALID' });
        expect(await resolver.resolve(k1.kid)).toBeUndefined();
        expect(errors).toContainEqual(expect.objectContaining({ code: 'ECT_KEY_INVALID' }));
        // Under the cap the same set is accepted.
        const roomy = new RemoteJwksResolver(big.url, { maxBytes: 16 << 20 });
        expect(await roomy.resolve(k1.kid)).toBeDefined();
      } finally {
        big.server.closeAllConnections();
        big.server.close();
      }
    });
  }
});
