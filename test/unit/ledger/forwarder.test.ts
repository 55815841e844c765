import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLedger } from '../../../src/ledger/file-store.js';
import { FileLedgerTarget } from '../../../src/ledger/forward/file-target.js';
import { LedgerForwarder } from '../../../src/ledger/forward/forwarder.js';
import { HttpLedgerTarget } from '../../../src/ledger/forward/http-target.js';
import { createLedgerServer } from '../../../src/ledger/server.js';
import { Spool } from '../../../src/ledger/spool.js';
import { makeIssuer, sharedIssuer, validClaims } from '../../helpers/ect.js';
import { makeTokens, tempDir } from '../../helpers/ledger.js';

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

/** A real ledger server over a file ledger in `dir`, on 127.0.0.1:`port` (0: any). */
async function startServer(dir: string, port = 0): Promise<{ server: Server; ledger: FileLedger; port: number }> {
  const ledger = FileLedger.openSync({ dir });
  const server = createLedgerServer({ store: ledger, keys: sharedIssuer().resolver });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const stop = async () => {
    if (!server.listening) return;
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    ledger.close();
  };
  closing.push(stop);
  return { server, ledger, port: (server.address() as AddressInfo).port };
}

async function stopServer(server: Server, ledger: FileLedger): Promise<void> {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
  ledger.close();
}

function forwarderFor(spool: Spool, target: FileLedgerTarget | HttpLedgerTarget, events = {}): LedgerForwarder {
  const forwarder = new LedgerForwarder(spool, target, { minBackoffMs: 20, maxBackoffMs: 200, maxBatch: 16, events });
  forwarder.start();
  closing.push(async () => {
    await forwarder.stop();
    await spool.close();
  });
  return forwarder;
}

const entriesOf = (dir: string): string[] => {
  const ledger = FileLedger.openSync({ dir, readOnly: true });
  try {
    return Array.from({ length: ledger.size }, (_, i) => ledger.entry(i));
  } finally {
    ledger.close();
  }
};

describe('LedgerForwarder', () => {
  it('moves spooled tokens into a ledger server in order, through an outage and back', async () => {
    const ledgerDir = tempDir();
    const tokens = makeTokens(60);
    let { server, ledger, port } = await startServer(ledgerDir);
    const spool = Spool.open({ dir: tempDir() });
    const retries: unknown[] = [];
    const forwarder = forwarderFor(spool, new HttpLedgerTarget(new URL(`http://127.0.0.1:${port}`)), {
      retrying: (error: unknown) => retries.push(error),
    });
    await spool.append(tokens.slice(0, 20));
    forwarder.notify();
    expect(await forwarder.drain(10_000)).toBe(true);

    await stopServer(server, ledger); // the outage: tokens keep coming, and wait in the spool
    await spool.append(tokens.slice(20, 60));
    forwarder.notify();
    expect(await forwarder.drain(300)).toBe(false);
    expect(forwarder.failing).toBe(true);
    expect(retries.length).toBeGreaterThan(0);

    ({ server, ledger } = await startServer(ledgerDir, port));
    expect(await forwarder.drain(10_000)).toBe(true);
    await stopServer(server, ledger);
    expect(entriesOf(ledgerDir)).toEqual(tokens);
  });

  it('keeps tokens the ledger refuses for good aside and forwards the rest', async () => {
    const { port } = await startServer(tempDir());
    const stranger = makeIssuer().signer.sign(validClaims({ exec_act: 'forged' }));
    const tokens = makeTokens(3);
    const spoolDir = tempDir();
    const spool = Spool.open({ dir: spoolDir });
    const rejected: string[] = [];
    const forwarder = forwarderFor(spool, new HttpLedgerTarget(new URL(`http://127.0.0.1:${port}/`)), {
      rejected: (list: { code: string }[]) => rejected.push(...list.map((r) => r.code)),
    });
    await spool.append([tokens[0] as string, stranger, ...tokens.slice(1)]);
    forwarder.notify();
    expect(await forwarder.drain(10_000)).toBe(true);
    expect(rejected).toHaveLength(1);
    const kept = JSON.parse(readFileSync(join(spoolDir, 'rejected.jsonl'), 'utf8')) as { token: string };
    expect(kept.token).toBe(stranger);
  });

  it('appends into a ledger directory, and a batch sent again after a crash counts as already there', async () => {
    const ledgerDir = tempDir();
    const tokens = makeTokens(10);
    const spoolDir = tempDir();
    // The crash: the ledger took the first five, but the spool's cursor never moved.
    const early = FileLedger.openSync({ dir: ledgerDir });
    await early.append(tokens.slice(0, 5));
    early.close();
    const spool = Spool.open({ dir: spoolDir });
    await spool.append(tokens);
    let duplicates = 0;
    const forwarder = forwarderFor(spool, new FileLedgerTarget(ledgerDir, { holdMs: 10 }), {
      forwarded: (_: number, repeated: number) => {
        duplicates += repeated;
      },
    });
    forwarder.notify();
    expect(await forwarder.drain(10_000)).toBe(true);
    await forwarder.stop();
    expect(duplicates).toBe(5);
    expect(entriesOf(ledgerDir)).toEqual(tokens);
  });
});
