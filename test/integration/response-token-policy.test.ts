import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { wantsResponseToken } from '../../src/otel/index.js';
import { freshHome, type Service, startService } from './fixtures/processes.js';

const traceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

const running: Service[] = [];
async function start(name: string, env: Record<string, string>): Promise<Service> {
  const service = await startService(name, freshHome(), env);
  running.push(service);
  return service;
}

describe('ECT_RESPONSE_TOKEN: which responses carry the server token', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  it('decides from the policy and the request headers', () => {
    const plain = { headers: {} };
    const traced = { headers: { traceparent: traceparent() } };
    const withToken = { headers: { 'execution-context': 'eyJ…' } };
    expect([plain, traced, withToken].map((r) => wantsResponseToken('sign', r))).toEqual([true, true, true]);
    expect([plain, traced, withToken].map((r) => wantsResponseToken('traced', r))).toEqual([false, true, true]);
    expect([plain, traced, withToken].map((r) => wantsResponseToken('off', r))).toEqual([false, false, false]);
  });

  it('traced: a probe without trace context gets no token (no signature), a traced caller does', async () => {
    const service = await start('callee', { ECT_RESPONSE_TOKEN: 'traced' });
    const probe = await fetch(`${service.url}/work`);
    expect(probe.status).toBe(200);
    expect(probe.headers.get('execution-context')).toBeNull();
    const traced = await fetch(`${service.url}/work`, { headers: { traceparent: traceparent() } });
    expect(traced.status).toBe(200);
    expect(traced.headers.get('execution-context')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('off: no response carries a token; sign (the default): every one does', async () => {
    const off = await start('off', { ECT_RESPONSE_TOKEN: 'off' });
    const traced = await fetch(`${off.url}/work`, { headers: { traceparent: traceparent() } });
    expect(traced.headers.get('execution-context')).toBeNull();
    const sign = await start('sign', {});
    expect((await fetch(`${sign.url}/work`)).headers.get('execution-context')).toMatch(/\./);
  });
});
