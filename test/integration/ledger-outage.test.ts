/**
 * The ledger outage: a bridged service under steady load sends its tokens to a ledger server
 * (`ECT_LEDGER=http://…`); the server is killed for 60 s and started again, and the service is
 * restarted in the middle of the outage. Every token the service issued, in both of its lives,
 * must be in the ledger afterwards, in issue order: the spool kept them, the restarted service
 * took its predecessor's spool back, and the forwarder caught up once the ledger answered.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { claimsOf } from '../../src/ledger/entry.js';
import { FileLedger } from '../../src/ledger/file-store.js';
import { collectExport } from '../helpers/export.js';
import {
  bridgeEnv,
  ECT_CLI,
  freePorts,
  prepareRunDir,
  REPO_ROOT,
  type Service,
  startService,
  stopServices,
  waitForKeys,
} from '../helpers/processes.js';
import { READY_TIMEOUT_MS, runDir } from './helpers.js';

/** The 60 s; `LEDGER_OUTAGE_MS` shortens it when working on this test. */
const OUTAGE_MS = Number(process.env.LEDGER_OUTAGE_MS ?? 60_000);
const step = (what: string) => console.log(`ledger outage: ${new Date().toISOString()} ${what}`);
const run = runDir('ledger-outage');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  run.remove();
});

/** `ect ledger serve` on 127.0.0.1:`port` over the file ledger in `dir`; resolves once it listens. */
async function startLedger(dir: string, jwks: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [ECT_CLI, 'ledger', 'serve', '--store', `file:${dir}`, '--jwks', jwks, '--port', String(port), '--json'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(JSON.parse(line.toString()).url).toBe(`http://127.0.0.1:${port}`);
  return child;
}

describe('ledger outage', () => {
  it('loses no token while the ledger server is down for 60 s, across a service restart', async () => {
    const dirs = prepareRunDir(run.dir);
    const ledgerDir = join(run.dir, 'ledger');
    const [ledgerPort] = await freePorts(1);
    const env = bridgeEnv({
      home: dirs.home,
      exportDir: dirs.exportDir,
      extraEnv: { ECT_LEDGER: `http://127.0.0.1:${ledgerPort}`, AGENT_ACTION: 'fetch_data', PORT: '0' },
    });
    const script = join(REPO_ROOT, 'examples/agent-workflow/agent.mjs');
    const start = (): Service =>
      startService({ name: 'agent', script, env, logDir: dirs.logDir, readyTimeoutMs: READY_TIMEOUT_MS });
    let service = await start().ready;
    await waitForKeys(dirs.jwksDir, 1);
    let ledger = await startLedger(ledgerDir, dirs.jwksDir, ledgerPort as number);

    // Steady load from four clients until told to stop; requests to a restarting service fail and are counted.
    let loading = true;
    const counts = { ok: 0, failed: 0 };
    const client = async () => {
      while (loading) {
        try {
          const response = await fetch(`http://127.0.0.1:${service.port}/fetch_data`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ symbol: 'ACME' }),
          });
          await response.arrayBuffer();
          counts[response.ok ? 'ok' : 'failed']++;
        } catch {
          counts.failed++;
        }
        await sleep(20);
      }
    };
    const clients = Array.from({ length: 4 }, client);

    await sleep(3_000);
    step('killing the ledger server');
    ledger.kill('SIGKILL'); // the outage starts
    await once(ledger, 'exit');
    await sleep(OUTAGE_MS / 3);
    const before = service;
    await stopServices([before]); // restarted during the outage: its tokens wait in the spool
    service = await start().ready;
    await waitForKeys(dirs.jwksDir, 2);
    step('service restarted');
    await sleep(OUTAGE_MS - OUTAGE_MS / 3);
    ledger = await startLedger(ledgerDir, dirs.jwksDir, ledgerPort as number); // back
    step('ledger server back');
    await sleep(3_000);
    loading = false;
    await Promise.all(clients);

    // Let the forwarder catch up (its back-off is at most 5 s), then stop the service: it flushes.
    const sizeOf = async () =>
      Number((await (await fetch(`http://127.0.0.1:${ledgerPort}/checkpoint`)).text()).split('\n')[1]);
    let size = -1;
    for (let stable = 0; stable < 3; ) {
      await sleep(1_000);
      const now = await sizeOf();
      stable = now === size ? stable + 1 : 0;
      step(`ledger size ${now}`);
      size = now;
    }
    await stopServices([service]);
    ledger.kill('SIGTERM');
    await once(ledger, 'exit');

    // Every token issued, in each life's issue order (its token log records), first life first.
    const exported = await collectExport(dirs);
    const issued = [before, service].flatMap((life) =>
      exported.tokenRecords
        .filter((record) => record.source?.file.includes(`-${life.pid}.jsonl`))
        .map((record) => record.body as string),
    );
    // Only the service's own work: the forwarder's requests to the ledger are not traced.
    expect(new Set(issued.map((token) => claimsOf(token).exec_act))).toEqual(
      new Set(['fetch_data', 'POST /fetch_data']),
    );
    expect(counts.ok).toBeGreaterThan(500);
    expect(issued.length).toBeGreaterThan(1_000);
    const log = FileLedger.openSync({ dir: ledgerDir, readOnly: true });
    try {
      const indexes = issued.map((token) => {
        const [index] = log.indexesOf(claimsOf(token).jti);
        return index === undefined || log.entry(index) !== token ? -1 : index;
      });
      expect(indexes.filter((i) => i < 0).length, 'tokens missing from the ledger').toBe(0);
      expect(log.size).toBe(issued.length);
      expect(indexes.every((index, i) => i === 0 || index > (indexes[i - 1] as number))).toBe(true);
    } finally {
      log.close();
    }
    expect(existsSync(join(dirs.home, 'spool/agent/rejected.jsonl'))).toBe(false);
    console.log(
      `ledger outage: ${counts.ok} requests served, ${counts.failed} failed, ${issued.length} tokens all logged in order`,
    );
  }, 180_000);
});
