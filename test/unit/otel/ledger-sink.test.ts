import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileLedger } from '../../../src/ledger/file-store.js';
import { FileLedgerTarget } from '../../../src/ledger/forward/file-target.js';
import { LedgerSink } from '../../../src/otel/export/ledger-sink.js';
import type { SignedToken } from '../../../src/otel/export/token-pipeline.js';
import { EctStats } from '../../../src/otel/stats.js';
import { makeTokens, tempDir } from '../../helpers/ledger.js';

const signed = (compact: string): SignedToken => ({ compact, jti: '', issued: undefined as never });

describe('LedgerSink', () => {
  it('spools every token and has the ledger take them all, in order, by the end of a flush', async () => {
    const tokens = makeTokens(30);
    const ledgerDir = tempDir();
    const stats = new EctStats();
    const sink = new LedgerSink({
      target: new FileLedgerTarget(ledgerDir, { holdMs: 10 }),
      spoolRoot: tempDir(),
      serviceName: 'orders/api',
      stats,
    });
    expect(sink.spoolDir).toMatch(/orders_api$/);
    for (const token of tokens) sink.push(signed(token));
    await sink.forceFlush();
    await sink.shutdown();
    expect(stats.get('ledger.spooled')).toBe(30);
    expect(stats.get('ledger.forwarded')).toBe(30);
    const ledger = FileLedger.openSync({ dir: ledgerDir, readOnly: true });
    expect(Array.from({ length: ledger.size }, (_, i) => ledger.entry(i))).toEqual(tokens);
    ledger.close();
  });

  it('counts tokens past the spool bound as dropped, and never throws', async () => {
    const tokens = makeTokens(10);
    const stats = new EctStats();
    // A ledger directory that cannot be created: every delivery fails, so the spool only fills.
    const blocked = join(tempDir(), 'file');
    writeFileSync(blocked, '');
    const sink = new LedgerSink({
      target: new FileLedgerTarget(join(blocked, 'ledger')),
      spoolRoot: tempDir(),
      serviceName: 'svc',
      maxSpoolBytes: ((tokens[0] as string).length + 1) * 4,
      stats,
    });
    for (const token of tokens) sink.push(signed(token));
    await sink.forceFlush();
    expect(stats.get('ledger.spooled')).toBe(4);
    expect(stats.get('ledger.dropped')).toBe(6);
    await sink.shutdown();
    expect(stats.get('ledger.retries')).toBeGreaterThan(0);
  });

  it('with no usable spool folder, drops (counted) instead of failing the application', async () => {
    const stats = new EctStats();
    const notADirectory = join(tempDir(), 'file');
    writeFileSync(notADirectory, '');
    const sink = new LedgerSink({
      target: new FileLedgerTarget(tempDir()),
      spoolRoot: notADirectory,
      serviceName: 'svc',
      stats,
    });
    expect(sink.spoolDir).toBeUndefined();
    for (const token of makeTokens(3)) sink.push(signed(token));
    await sink.shutdown();
    expect(stats.get('ledger.dropped')).toBe(3);
  });

  it('a second instance of a service on the machine gets a spool of its own', async () => {
    const root = tempDir();
    const stats = new EctStats();
    const target = () => new FileLedgerTarget(tempDir());
    const first = new LedgerSink({ target: target(), spoolRoot: root, serviceName: 'svc', stats });
    // In one process the second sink would take this process's own lock over; as the other
    // instance, the first spool's owner is made another live process: our parent.
    writeFileSync(join(root, 'svc', 'lock'), String(process.ppid));
    const second = new LedgerSink({ target: target(), spoolRoot: root, serviceName: 'svc', stats });
    expect(first.spoolDir).toBe(join(root, 'svc'));
    expect(second.spoolDir).toBe(join(root, 'svc.1'));
    await second.shutdown();
    await first.shutdown();
  });
});
