import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExecutionContext } from '../../src/token/index.js';
import { claimsOf } from '../helpers/otel.js';
import { exportedSpans, freshHome, startService, type Service } from './fixtures/processes.js';

// A peer that takes each `Execution-Context` field line as one JWT (the draft's form, and the Go
// middleware's) must get every predecessor: the request head is read off a raw socket, where the
// field lines are still separate, instead of through an HTTP parser that may fold them.

/** A request head as it arrived: its field lines, in order. */
interface RawHead {
  requestLine: string;
  fields: { name: string; value: string }[];
}

/** A TCP server on 127.0.0.1 that records each request head and answers `200 {}`. */
async function rawReceiver(): Promise<{ server: Server; url: string; heads: RawHead[] }> {
  const heads: RawHead[] = [];
  const server = createServer((socket) => {
    let buffered = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > 256 * 1024) socket.destroy();
        return;
      }
      const [requestLine = '', ...lines] = buffered.slice(0, end).split('\r\n');
      heads.push({
        requestLine,
        fields: lines.map((line) => {
          const colon = line.indexOf(':');
          return { name: line.slice(0, colon).toLowerCase(), value: line.slice(colon + 1).trim() };
        }),
      });
      socket.end(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}',
      );
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return { server, url: `http://127.0.0.1:${address.port}`, heads };
}

let running: Service[] = [];
let receivers: Server[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.stop()));
  for (const receiver of receivers) receiver.close();
  running = [];
  receivers = [];
});

describe('one token per Execution-Context field line', () => {
  for (const client of ['http', 'fetch'] as const) {
    it(`${client}: four predecessors go out as four field lines, one token each`, async () => {
      const receiver = await rawReceiver();
      receivers.push(receiver.server);
      const home = freshHome();
      const caller = await startService('caller', home, { NEXT: `${receiver.url}/work`, CLIENT: client, FAN_IN: '4' });
      running.push(caller);
      const response = await fetch(`${caller.url}/work`);
      expect(response.status).toBe(200);

      expect(receiver.heads).toHaveLength(1);
      const lines = receiver.heads[0]!.fields.filter((f) => f.name === 'execution-context');
      expect(lines).toHaveLength(4);
      for (const line of lines) {
        expect(line.value).not.toContain(',');
        expect(parseExecutionContext(line.value)).toHaveLength(1);
      }
      // Exactly the four parallel steps, each once: nothing folded, nothing lost.
      const sent = lines.map((line) => claimsOf(line.value));
      expect(sent.map((c) => c.exec_act).sort()).toEqual(['step-0', 'step-1', 'step-2', 'step-3']);
      await caller.stop();
      const clientSpan = (await exportedSpans(home)).find((s) => s.kind === 3)!;
      expect(claimsOf(clientSpan.attributes['ect.token']).pred.sort()).toEqual(sent.map((c) => c.jti).sort());
    });
  }

  it('one predecessor is one line, as before', async () => {
    const receiver = await rawReceiver();
    receivers.push(receiver.server);
    const caller = await startService('caller', freshHome(), { NEXT: `${receiver.url}/work`, CLIENT: 'http' });
    running.push(caller);
    expect((await fetch(`${caller.url}/work`)).status).toBe(200);
    const lines = receiver.heads[0]!.fields.filter((f) => f.name === 'execution-context');
    expect(lines).toHaveLength(1);
    expect(claimsOf(lines[0]!.value).exec_act).toBe('prepare');
  });

  it('a bridged server accepts both forms: four lines and one comma list name the same predecessors', async () => {
    // The receiving side: a bridged service sees the four lines as four tokens (and a comma list
    // from an older peer as the same four), and answers with its token on exactly one line.
    const home = freshHome();
    const receiver = await rawReceiver();
    receivers.push(receiver.server);
    const caller = await startService('caller', home, { NEXT: `${receiver.url}/work`, CLIENT: 'http', FAN_IN: '4' });
    running.push(caller);
    await fetch(`${caller.url}/work`);
    const tokens = receiver.heads[0]!.fields.filter((f) => f.name === 'execution-context').map((f) => f.value);
    expect(tokens).toHaveLength(4);
    const callee = await startService('callee', home, {});
    running.push(callee);
    const traceparent = (n: number) => `00-${'ab'.repeat(16)}-${String(n).repeat(16)}-01`;
    const asLines = await rawRequest(Number(new URL(callee.url).port), [
      `traceparent: ${traceparent(1)}`,
      ...tokens.map((t) => `execution-context: ${t}`),
    ]);
    const asList = await rawRequest(Number(new URL(callee.url).port), [
      `traceparent: ${traceparent(2)}`,
      `execution-context: ${tokens.join(', ')}`,
    ]);
    for (const head of [asLines, asList]) {
      expect(head.status).toBe(200);
      expect(head.fields.filter((f) => f.name === 'execution-context')).toHaveLength(1);
    }
    await callee.stop();
    const servers = (await exportedSpans(home)).filter((s) => s.service === 'callee' && s.kind === 2);
    expect(servers).toHaveLength(2);
    for (const server of servers) {
      expect(server.attributes['ect.incoming.rejected'] ?? 0).toBe(0);
      const prepare = (await exportedSpans(home)).find(
        (s) => s.service === 'callee' && s.name === 'prepare' && s.traceId === server.traceId,
      )!;
      expect(claimsOf(prepare.attributes['ect.token']).pred.sort()).toEqual(tokens.map((t) => claimsOf(t).jti).sort());
    }
  });
});

/** Sends `GET /work` with the given header lines over a raw socket; returns the response head. */
async function rawRequest(port: number, headerLines: string[]): Promise<RawHead & { status: number }> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffered = '';
    socket.setEncoding('latin1');
    socket.setTimeout(10_000, () => socket.destroy(new Error('no response in 10 s')));
    socket.on('connect', () =>
      socket.write(['GET /work HTTP/1.1', 'host: 127.0.0.1', 'connection: close', ...headerLines, '', ''].join('\r\n')),
    );
    socket.on('data', (chunk: string) => (buffered += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [statusLine = '', ...lines] = buffered.slice(0, buffered.indexOf('\r\n\r\n')).split('\r\n');
      resolve({
        requestLine: statusLine,
        status: Number(statusLine.split(' ')[1]),
        fields: lines.map((line) => {
          const colon = line.indexOf(':');
          return { name: line.slice(0, colon).toLowerCase(), value: line.slice(colon + 1).trim() };
        }),
      });
    });
  });
}
