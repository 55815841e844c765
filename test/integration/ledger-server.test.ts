import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLedger } from '../../src/ledger/file-store.js';
import { NoteVerifier } from '../../src/ledger/note.js';
import { verifyReceipt, type Receipt } from '../../src/ledger/receipt.js';
import { HttpLedgerTarget } from '../../src/ledger/forward/http-target.js';
import { createLedgerServer } from '../../src/ledger/server.js';
import { makeIssuer, validClaims, WID } from '../helpers/ect.js';
import { publicJwkOf } from '../../src/keys/index.js';
import { makeTokens, tempDir } from '../helpers/ledger.js';
import { sharedIssuer } from '../helpers/ect.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function start(options: { maxInFlight?: number; maxBodyBytes?: number; writeTokens?: string[] } = {}) {
  const ledger = FileLedger.openSync({ dir: tempDir(), origin: 'server.example/ledger' });
  const server = createLedgerServer({ store: ledger, keys: sharedIssuer().resolver, ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.close();
    ledger.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { ledger, base, verifier: NoteVerifier.fromString(ledger.verifierKey) };
}

const post = (base: string, body: string) =>
  fetch(`${base}/v1/entries`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

describe('ledger server', () => {
  it('answers each token with a receipt or a typed error, and serves entries, checkpoint and tiles', async () => {
    const { base, verifier, ledger } = await start();
    const tokens = makeTokens(300);
    const stranger = makeIssuer().signer.sign(validClaims({ wid: WID }));
    const first = await post(base, JSON.stringify({ tokens: [tokens[0], 'garbage', stranger, tokens[1], tokens[0]] }));
    expect(first.status).toBe(200);
    const { results } = (await first.json()) as { results: ({ receipt: Receipt } | { error: { code: string } })[] };
    expect(results.map((r) => ('receipt' in r ? 'receipt' : r.error.code))).toEqual([
      'receipt',
      'ECT_MALFORMED',
      'ECT_KEY_UNKNOWN',
      'receipt',
      'ECT_LEDGER_DUPLICATE',
    ]);
    const receipt = (results[3] as { receipt: Receipt }).receipt;
    expect(verifyReceipt(receipt, verifier).index).toBe(1);
    const again = (await (await post(base, JSON.stringify({ tokens: [tokens[1]] }))).json()) as {
      results: { error: { code: string } }[];
    };
    expect(again.results[0]?.error.code).toBe('ECT_LEDGER_DUPLICATE');
    await post(base, JSON.stringify({ tokens: tokens.slice(2) }));
    expect(ledger.size).toBe(300);

    const jti = JSON.parse(Buffer.from((tokens[7] as string).split('.')[1] as string, 'base64url').toString()).jti;
    const entry = (await (await fetch(`${base}/v1/entries/${jti}`)).json()) as {
      entries: { token: string; receipt: Receipt }[];
    };
    expect(entry.entries[0]?.token).toBe(tokens[7]);
    expect((await fetch(`${base}/v1/entries/nope`)).status).toBe(404);

    const checkpoint = await fetch(`${base}/checkpoint`);
    expect(checkpoint.headers.get('cache-control')).toBe('no-cache');
    expect(await checkpoint.text()).toBe(ledger.checkpoint);
    const full = await fetch(`${base}/tile/0/000`);
    expect(full.headers.get('cache-control')).toContain('immutable');
    expect(Buffer.from(await full.arrayBuffer())).toEqual(ledger.resource('tile/0/000'));
    const partial = await fetch(`${base}/tile/entries/001.p/44`);
    expect(partial.headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${base}/tile/0/001`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('refuses malformed JSON, oversized bodies and overload with typed errors, and keeps serving', async () => {
    const { base } = await start({ maxInFlight: 1, maxBodyBytes: 4096 });
    const bad = await post(base, '{"tokens": [');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('ECT_LEDGER_BAD_REQUEST');
    const big = await post(base, JSON.stringify({ tokens: makeTokens(10) }));
    expect(big.status).toBe(413);
    // Hold one append open (body not finished), then a second one is turned away.
    const url = new URL(`${base}/v1/entries`);
    const held = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-length': '100' },
    });
    held.on('error', () => undefined);
    held.write('{"tokens":');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const busy = await post(base, JSON.stringify({ tokens: makeTokens(1) }));
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('1');
    held.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ok = await post(base, JSON.stringify({ tokens: makeTokens(1) }));
    expect(ok.status).toBe(200);
  });
});

describe('ledger server with write tokens', () => {
  it('appends only with a write token; reads stay open; the bridge side retries a refusal instead of rejecting', async () => {
    const { base } = await start({ writeTokens: ['first-secret', 'second-secret'] });
    const body = JSON.stringify({ tokens: makeTokens(2) });
    const as = (authorization?: string) =>
      fetch(`${base}/v1/entries`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
      });
    for (const authorization of [undefined, 'Bearer wrong', 'Basic Zmlyc3Qtc2VjcmV0', 'Bearer first-secret-x']) {
      const refused = await as(authorization);
      expect(refused.status, String(authorization)).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="ect-ledger"');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ECT_LEDGER_UNAUTHORIZED');
    }
    const logs = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(logs.status).toBe(401);
    expect((await fetch(`${base}/checkpoint`)).status).toBe(200);
    // Nothing got in before a token was given.
    expect((await (await fetch(`${base}/checkpoint`)).text()).split('\n')[1]).toBe('0');
    expect((await as('bearer second-secret')).status).toBe(200);

    // HttpLedgerTarget: without the token, a retryable failure (the tokens wait in the spool); with it, appended.
    const tokens = makeTokens(3);
    const signal = new AbortController().signal;
    await expect(new HttpLedgerTarget(new URL(base)).append(tokens, signal)).rejects.toMatchObject({
      code: 'ECT_LEDGER_UNAVAILABLE',
      message: expect.stringContaining('401'),
    });
    const target = new HttpLedgerTarget(new URL(base), { headers: { authorization: 'Bearer first-secret' } });
    expect((await target.append(tokens, signal)).map((outcome) => outcome.status)).toEqual(Array(3).fill('appended'));
  });
});

describe('ledger server: OTLP/HTTP log exports (collector-config/ledger.yaml)', () => {
  const logsRequest = (bodies: string[], eventName = 'ect.token') => ({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeLogs: [
          {
            scope: { name: 'otel-ect' },
            logRecords: bodies.map((body) => ({ eventName, body: { stringValue: body } })),
          },
        ],
      },
    ],
  });
  const postLogs = (base: string, body: unknown, contentType = 'application/json') =>
    fetch(`${base}/v1/logs`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': contentType } });

  it('appends the ect.token records of an export, ignores other records, and answers as OTLP', async () => {
    const { base, ledger } = await start();
    const tokens = makeTokens(3);
    const other = logsRequest(['not a token'], 'app.log');
    const first = await postLogs(base, { resourceLogs: [...logsRequest(tokens).resourceLogs, ...other.resourceLogs] });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({});
    expect(ledger.size).toBe(3);
    // A Collector retrying a batch that did land: the duplicates are not a failure to report.
    expect(await (await postLogs(base, logsRequest(tokens))).json()).toEqual({});
    expect(ledger.size).toBe(3);
    const bad = await (await postLogs(base, logsRequest(['garbage', makeTokens(1)[0]!]))).json();
    expect(bad).toMatchObject({
      partialSuccess: { rejectedLogRecords: '1', errorMessage: expect.stringMatching(/ECT_MALFORMED/) },
    });
    expect(ledger.size).toBe(4);
  });

  it('refuses protobuf with 415 and a typed error (the ledger reads OTLP JSON)', async () => {
    const { base } = await start();
    const response = await postLogs(base, {}, 'application/x-protobuf');
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: 'ECT_LEDGER_BAD_REQUEST' } });
  });
});

describe('ect ledger serve', () => {
  it('listens on 127.0.0.1, appends with a write token from --write-token-file and stops on SIGTERM', async () => {
    const dir = tempDir();
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [publicJwkOf(sharedIssuer().key)] }));
    const writeTokens = join(dir, 'write-tokens');
    writeFileSync(writeTokens, '# who may append\nservice-a-secret\n\n');
    const bin = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    const child = spawn(process.execPath, [
      bin,
      'ledger',
      'serve',
      '--store',
      `file:${join(dir, 'ledger')}`,
      '--jwks',
      jwks,
      '--port',
      '0',
      '--write-token-file',
      writeTokens,
      '--json',
    ]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0] as string);
        });
        setTimeout(() => reject(new Error('serve did not start')), 10_000);
      });
      const { url, key } = JSON.parse(line) as { url: string; key: string };
      const body = JSON.stringify({ tokens: makeTokens(2) });
      expect((await post(url, body)).status).toBe(401);
      const authorized = await fetch(`${url}/v1/entries`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', authorization: 'Bearer service-a-secret' },
      });
      const answer = (await authorized.json()) as { results: { receipt: Receipt }[] };
      expect(verifyReceipt(answer.results[1]?.receipt, NoteVerifier.fromString(key)).index).toBe(1);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
