/**
 * `ect audit --ledger postgres://…` against a real PostgreSQL server (Debian's package, started by
 * test/ledger/pg/postgres.sh on a temporary data directory on 127.0.0.1, as the ledger's own tests
 * do): a bridged run's tokens in a `PgLedger` verify with the key the database keeps; an entry
 * rewritten in the table is named; the log cut back behind the auditor's saved checkpoint fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/audit/report/model.js';
import { NoteSigner } from '../../src/ledger/note.js';
import { PgLedger } from '../../src/ledger/pg-store.js';
import { ect } from '../helpers/cli.js';
import { type BridgedRun, bridgedRun } from '../unit/audit/fixture.js';

const script = fileURLToPath(new URL('../ledger/pg/postgres.sh', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ect-audit-pg-'));
const data = join(work, 'data');
let server = '';
let url = '';
let run: BridgedRun;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function sql(text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  const started = spawnSync('bash', [script, 'start', data, String(await freePort())], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (started.status !== 0) throw new Error(`postgres.sh start failed: ${started.stderr}`);
  server = started.stdout.trim();
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query('CREATE DATABASE audit_pg');
  await admin.end();
  url = server.replace(/\/postgres$/, '/audit_pg');
  run = await bridgedRun(join(work, 'run'));
  const ledger = await PgLedger.open({ url, signer: NoteSigner.generate('audit.pg/ledger') });
  await ledger.append(run.tokens.slice(0, 3));
  await ledger.append(run.tokens.slice(3));
  await ledger.close();
}, 300_000);

afterAll(() => {
  spawnSync('bash', [script, 'stop', data, 'immediate'], { timeout: 60_000 });
  rmSync(work, { recursive: true, force: true });
});

const audit = async (args: string[]) => {
  const result = await ect(['audit', ...args, '--jwks', run.jwks, '--json', '--threads', '1']);
  return { code: result.code, report: JSON.parse(result.stdout) as AuditReport };
};

describe('a PostgreSQL ledger as the audit source', () => {
  const saved = join(work, 'saved.checkpoint');

  it('verifies with the key the database keeps; the location carries no password', async () => {
    const { code, report } = await audit([run.spansFile, '--ledger', url, '--save-checkpoint', saved]);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
    expect(report.ledger).toMatchObject({ kind: 'ledger-postgres', size: 5, keySource: 'ledger', rootMatches: true });
    expect(report.nodes.every((n) => n.ledgerIndex !== undefined)).toBe(true);
  });

  it('an entry rewritten in the table: the root does not match and the token is named', async () => {
    const original = run.tokens[1] as string;
    const forged = `${original.slice(0, -4)}${original.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    await sql('UPDATE ect_ledger_entries SET token = $1 WHERE idx = 1', [forged]);
    const { code, report } = await audit([run.spansFile, '--ledger', url]);
    await sql('UPDATE ect_ledger_entries SET token = $1 WHERE idx = 1', [original]);
    expect(code).toBe(1);
    const jti = JSON.parse(Buffer.from(original.split('.')[1] as string, 'base64url').toString()).jti as string;
    expect(report.findings.map((f) => [f.check, f.code, f.jtis])).toEqual([
      ['signature', 'ECT_SIGNATURE_INVALID', [jti]],
      ['ledger-inclusion', 'ECT_AUDIT_LEDGER_ROOT', []],
      ['ledger-inclusion', 'ECT_AUDIT_LEDGER_DIFFERS', [jti]],
    ]);
  });

  it('the log cut back behind the saved checkpoint fails the consistency check', async () => {
    await sql('DELETE FROM ect_ledger_entries WHERE idx >= 3');
    await sql('DELETE FROM ect_ledger_checkpoints WHERE size > 3');
    const { code, report } = await audit(['--ledger', url, '--since-checkpoint', saved]);
    expect(code).toBe(1);
    expect(report.findings).toEqual([
      expect.objectContaining({
        check: 'ledger-consistency',
        message: expect.stringContaining('holds 3 entries, but the auditor saw a checkpoint of 5'),
      }),
    ]);
  });
});
