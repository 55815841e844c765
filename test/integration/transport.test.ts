import { randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey, publicJwkOf } from '../../src/keys/index.js';
import { EctSigner, newClaims } from '../../src/token/index.js';
import { claimsOf } from '../helpers/otel.js';
import { freePorts, REPO_ROOT } from '../helpers/processes.js';
import { exportedSpans, freshHome, type Service, startService } from './fixtures/processes.js';

// Real services under `node --import otel-ect/register`, real HTTP on 127.0.0.1, no ECT code in them.
let running: Service[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.stop()));
  running = [];
});
async function start(...args: Parameters<typeof startService>): Promise<Service> {
  const service = await startService(...args);
  running.push(service);
  return service;
}
async function stopAll(): Promise<void> {
  await Promise.all(running.map((s) => s.stop()));
}
/** Transitive predecessors of a token, over every exported span's token. */
function ancestorsIn(spans: { attributes: Record<string, unknown> }[]) {
  const pred = new Map(spans.map((s) => [s.attributes['ect.jti'], claimsOf(s.attributes['ect.token']).pred]));
  return (jti: unknown): unknown[] => {
    const seen = new Set<unknown>();
    const stack = [...(pred.get(jti) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(pred.get(next) ?? []));
    }
    return [...seen];
  };
}
const SERVER = 2;
const CLIENT = 3;

describe('response path: the callee token comes back and joins the caller frontier', () => {
  for (const [framework, client] of [
    ['http', 'http'],
    ['express', 'fetch'],
    ['fastify', 'http'],
    ['fastify', 'fetch'],
  ] as const) {
    it(`${framework} server, ${client} client`, async () => {
      const home = freshHome();
      const callee = await start('callee', home, { FRAMEWORK: framework });
      const caller = await start('caller', home, { NEXT: `${callee.url}/work`, CLIENT: client });
      const response = await fetch(`${caller.url}/work`);
      expect(response.status).toBe(200);
      // The caller is the edge of this test's system: it answers with its own server token.
      expect(claimsOf(response.headers.get('execution-context')).exec_act).toBeTruthy();
      await stopAll();
      const spans = await exportedSpans(home);
      const calleeServer = spans.find((s) => s.service === 'callee' && s.kind === SERVER)!;
      const callerClient = spans.find((s) => s.service === 'caller' && s.kind === CLIENT)!;
      const calleeWork = spans.find((s) => s.service === 'callee' && s.name === 'work')!;
      const callerWork = spans.find((s) => s.service === 'caller' && s.name === 'work')!;
      const callerPrepare = spans.find((s) => s.service === 'caller' && s.name === 'prepare')!;
      const ancestors = ancestorsIn(spans);
      // Request: the client span carried what completed before it (prepare); the callee's work descends from it.
      expect(ancestors(calleeWork.attributes['ect.jti'])).toContain(callerPrepare.attributes['ect.jti']);
      expect(ancestors(calleeServer.attributes['ect.jti'])).toContain(calleeWork.attributes['ect.jti']);
      // Response: the caller's client token names the callee's server token.
      expect(claimsOf(callerClient.attributes['ect.token']).pred).toContain(calleeServer.attributes['ect.jti']);
      // And the caller's work span, which made the call, names the client span.
      expect(claimsOf(callerWork.attributes['ect.token']).pred).toContain(callerClient.attributes['ect.jti']);
      for (const span of spans)
        expect(span.attributes['ect.token'], `${span.service}/${span.name}`).toBeTypeOf('string');
    });
  }
});

describe('incoming tokens: record and enforce modes', () => {
  async function trustedToken(home: string, wid = randomUUID()) {
    const key = generateSigningKey('ES256');
    mkdirSync(join(home, 'jwks'), { recursive: true });
    writeFileSync(join(home, 'jwks', 'upstream.json'), JSON.stringify({ keys: [publicJwkOf(key)] }));
    const signer = new EctSigner(key);
    return signer.sign(
      newClaims({
        iss: 'spiffe://example.org/service/upstream',
        aud: 'spiffe://example.org',
        exec_act: 'upstream',
        wid,
      }),
    );
  }
  const traceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  const forge = (token: string) => `${token.slice(0, -6)}AAAAAA`;

  it('enforce: a forged token is refused with 403 and a JSON reason before the handler runs', async () => {
    const home = freshHome();
    const token = await trustedToken(home);
    const service = await start('guarded', home, { ECT_MODE: 'enforce' });
    const ok = await fetch(`${service.url}/work`, {
      headers: { 'execution-context': token, traceparent: traceparent() },
    });
    expect(ok.status).toBe(200);
    const forged = await fetch(`${service.url}/work`, {
      headers: { 'execution-context': forge(token), traceparent: traceparent() },
    });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ error: 'execution_context_rejected', code: 'ECT_SIGNATURE_INVALID' });
    await stopAll();
    const works = (await exportedSpans(home)).filter((s) => s.name === 'work');
    // The handler ran for the valid request only.
    expect(works).toHaveLength(1);
  });

  it('enforce: the same token replayed by the same calling span is refused; another caller span may carry it', async () => {
    const home = freshHome();
    const token = await trustedToken(home);
    const service = await start('guarded', home, { ECT_MODE: 'enforce' });
    const sameCaller = traceparent();
    const first = await fetch(`${service.url}/work`, {
      headers: { 'execution-context': token, traceparent: sameCaller },
    });
    const replay = await fetch(`${service.url}/work`, {
      headers: { 'execution-context': token, traceparent: sameCaller },
    });
    const fanOut = await fetch(`${service.url}/work`, {
      headers: { 'execution-context': token, traceparent: traceparent() },
    });
    expect([first.status, replay.status, fanOut.status]).toEqual([200, 403, 200]);
    expect(await replay.json()).toMatchObject({ code: 'ECT_REPLAY' });
  });

  it('record: a forged token is served, recorded on the server span, and not used as a predecessor', async () => {
    const home = freshHome();
    const token = await trustedToken(home);
    const service = await start('recording', home, { ECT_MODE: 'record' });
    const response = await fetch(`${service.url}/work`, {
      headers: { 'execution-context': forge(token), traceparent: traceparent() },
    });
    expect(response.status).toBe(200);
    await stopAll();
    const server = (await exportedSpans(home)).find((s) => s.kind === SERVER)!;
    expect(server.attributes['ect.incoming.rejected']).toBe(1);
    expect(server.events).toContainEqual({
      name: 'ect.verification_failed',
      attributes: expect.objectContaining({ 'ect.error.code': 'ECT_SIGNATURE_INVALID' }),
    });
    expect(claimsOf(server.attributes['ect.token']).pred).not.toContain(claimsOf(token).jti);
    // The audit says so: the refused edge makes the exported DAG partial, not valid.
    const exportDir = join(home, 'export');
    const files = readdirSync(exportDir).map((f) => join(exportDir, f));
    const audit = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'dist/cli/main.js'), 'dag', 'verify', ...files, '--jwks', join(home, 'jwks'), '--json'],
      { encoding: 'utf8' },
    );
    expect(audit.status).toBe(3);
    expect(JSON.parse(audit.stdout)).toMatchObject({
      verdict: 'partial',
      failures: [],
      refused: [expect.objectContaining({ span: server.name, refused: 1 })],
    });
  });

  it('a valid incoming token becomes the server span start predecessor, and its workflow id is kept', async () => {
    const home = freshHome();
    const wid = randomUUID();
    const token = await trustedToken(home, wid);
    const service = await start('recording', home, {});
    await fetch(`${service.url}/work`, { headers: { 'execution-context': token, traceparent: traceparent() } });
    await stopAll();
    const spans = await exportedSpans(home);
    const prepare = claimsOf(spans.find((s) => s.name === 'prepare')!.attributes['ect.token']);
    expect(prepare.pred).toEqual([claimsOf(token).jti]);
    expect(prepare.wid).toBe(wid);
    expect(claimsOf(spans.find((s) => s.kind === SERVER)!.attributes['ect.token']).wid).toBe(wid);
  });
});

describe('failure isolation', () => {
  it('keeps serving when the OTLP endpoint is down', async () => {
    const home = freshHome();
    const [deadPort] = await freePorts(1);
    const service = await start('offline', home, {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${deadPort}`,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_BLRP_SCHEDULE_DELAY: '50',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await fetch(`${service.url}/work`)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(service.child.exitCode).toBeNull();
  });
});
