/**
 * The ledger in an audit: a file ledger and a ledger server (its real HTTP API) as sources, the
 * checkpoint the auditor saved (`--save-checkpoint`, then `--since-checkpoint`), a ledger truncated
 * or rewritten behind it by whoever holds its note key, and a ledger whose entries were altered.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../../src/audit/report/model.js';
import { loadVerificationKeysFrom } from '../../../src/keys/files.js';
import { FileLedger, LEDGER_FILES } from '../../../src/ledger/file-store.js';
import { createLedgerServer } from '../../../src/ledger/server.js';
import { ect } from '../../helpers/cli.js';
import { type BridgedRun, bridgedRun } from './fixture.js';

let run: BridgedRun;
const root = mkdtempSync(join(tmpdir(), 'ect-audit-ledger-'));
let n = 0;

beforeAll(async () => {
  run = await bridgedRun(join(root, 'run'));
}, 30_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the run's ledger, to be changed. */
function ledgerCopy(): string {
  const dir = join(root, `ledger-${n++}`);
  cpSync(run.ledgerDir, dir, { recursive: true });
  return dir;
}

/** Rebuilds a ledger from scratch with the same note key (what its operator could do) holding `tokens`. */
function rebuild(dir: string, tokens: readonly string[]): void {
  for (const name of readdirSync(dir))
    if (name !== LEDGER_FILES.key && name !== LEDGER_FILES.pub) rmSync(join(dir, name), { recursive: true });
  const ledger = FileLedger.openSync({ dir });
  ledger.appendSync(tokens);
  ledger.close();
}

async function audit(args: string[]): Promise<{ code: number; report: AuditReport; stderr: string }> {
  const result = await ect(['audit', ...args, '--jwks', run.jwks, '--json', '--threads', '0']);
  return { code: result.code, report: JSON.parse(result.stdout) as AuditReport, stderr: result.stderr };
}

describe('ledger consistency with a saved checkpoint', () => {
  it('a ledger that grew since is consistent; one truncated behind the checkpoint fails naming the lost entries', async () => {
    const dir = ledgerCopy();
    const saved = join(root, 'saved.checkpoint');
    const first = await audit(['--ledger', dir, '--save-checkpoint', saved]);
    expect(first.code).toBe(0);
    expect(readFileSync(saved, 'utf8')).toBe(first.report.ledger?.checkpoint);
    expect(first.report.sources).toEqual([expect.objectContaining({ kind: 'ledger-file', tokens: 5 })]);

    const grown = ledgerCopy();
    const ledger = FileLedger.openSync({ dir: grown });
    const extra = (await bridgedRun(join(root, 'extra'))).tokens;
    ledger.appendSync(extra);
    ledger.close();
    // The extra run's tokens are signed by another key: give both key sets.
    const both = join(root, 'both.jwks.json');
    const keys = [run.jwks, join(root, 'extra', 'keys', 'jwks.json')].flatMap(
      (f) => JSON.parse(readFileSync(f, 'utf8')).keys,
    );
    writeFileSync(both, JSON.stringify({ keys }));
    const ok = await ect(['audit', '--ledger', grown, '--since-checkpoint', saved, '--jwks', both, '--json']);
    const okReport = JSON.parse(ok.stdout) as AuditReport;
    expect(okReport.checks.find((c) => c.name === 'ledger-consistency')?.status).toBe('pass');
    expect(okReport.summary.tokens).toBe(10);
    expect(ok.code).toBe(0);

    rebuild(dir, run.tokens.slice(0, 3));
    const truncated = await audit(['--ledger', dir, '--since-checkpoint', saved]);
    expect(truncated.code).toBe(1);
    expect(truncated.report.findings).toEqual([
      expect.objectContaining({
        check: 'ledger-consistency',
        code: 'ECT_AUDIT_LEDGER_INCONSISTENT',
        message: expect.stringContaining(
          'holds 3 entries, but the auditor saw a checkpoint of 5: the ledger was truncated (entries 3…4 are gone)',
        ),
        at: 'ledger:#3',
      }),
    ]);
  });

  it('a ledger rewritten in another order fails; its checkpoint is not saved', async () => {
    const dir = ledgerCopy();
    const saved = join(root, 'saved-2.checkpoint');
    expect((await audit(['--ledger', dir, '--save-checkpoint', saved])).code).toBe(0);
    rebuild(dir, [...run.tokens].reverse());
    const next = join(root, 'next.checkpoint');
    const rewritten = await audit(['--ledger', dir, '--since-checkpoint', saved, '--save-checkpoint', next]);
    expect(rewritten.code).toBe(1);
    expect(rewritten.report.findings).toEqual([
      expect.objectContaining({
        check: 'ledger-consistency',
        message: expect.stringContaining('the ledger was rewritten'),
      }),
    ]);
    expect(rewritten.stderr).toMatch(/not written/);
    expect(() => readFileSync(next)).toThrow();
  });

  it('a checkpoint signed by another key is refused', async () => {
    const other = await bridgedRun(join(root, 'other'));
    const saved = join(root, 'other.checkpoint');
    writeFileSync(saved, readFileSync(join(other.ledgerDir, LEDGER_FILES.checkpoint)));
    const { code, report } = await audit(['--ledger', run.ledgerDir, '--since-checkpoint', saved]);
    expect(code).toBe(1);
    expect(report.findings[0]).toMatchObject({
      check: 'ledger-consistency',
      message: expect.stringContaining("does not verify with the ledger's note key"),
    });
  }, 30_000);
});

describe('ledger entries and key', () => {
  it("an entry altered in the ledger's files: the root no longer matches and the entry is named", async () => {
    const dir = ledgerCopy();
    const entries = readFileSync(join(dir, LEDGER_FILES.entries));
    const at = entries.indexOf(Buffer.from(run.tokens[2]!.slice(-20)));
    entries[at] = entries[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(join(dir, LEDGER_FILES.entries), entries);
    const { code, report } = await audit([run.spansFile, '--ledger', dir]);
    expect(code).toBe(1);
    const jti = JSON.parse(Buffer.from(run.tokens[2]!.split('.')[1]!, 'base64url').toString()).jti as string;
    expect(report.findings).toEqual([
      expect.objectContaining({ check: 'signature', code: 'ECT_SIGNATURE_INVALID', jtis: [jti], at: 'ledger:#2' }),
      expect.objectContaining({
        check: 'ledger-inclusion',
        code: 'ECT_AUDIT_LEDGER_ROOT',
        message: expect.stringContaining('do not hash to the root'),
      }),
      expect.objectContaining({
        check: 'ledger-inclusion',
        code: 'ECT_AUDIT_LEDGER_DIFFERS',
        jtis: [jti],
        at: 'ledger:#2',
      }),
    ]);
  });

  it('--ledger-key of another ledger: the checkpoint does not verify', async () => {
    const other = await bridgedRun(join(root, 'other-key'));
    const key = readFileSync(join(other.ledgerDir, LEDGER_FILES.pub), 'utf8').trim();
    const { code, report } = await audit(['--ledger', run.ledgerDir, '--ledger-key', key]);
    expect(code).toBe(1);
    expect(report.findings).toEqual([
      expect.objectContaining({ check: 'ledger-inclusion', code: 'ECT_AUDIT_LEDGER_CHECKPOINT' }),
    ]);
  }, 30_000);
});

describe('a ledger server as the source (GET /checkpoint, /tile/entries/…, /v1/entries/{jti})', () => {
  let url = '';
  let close = async () => {};
  beforeAll(async () => {
    const store = FileLedger.openSync({ dir: ledgerCopy() });
    const server = createLedgerServer({ store, keys: await loadVerificationKeysFrom(run.jwks) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      await new Promise((resolve) => server.close(resolve));
      store.close();
    };
  });
  afterAll(() => close());

  it('with the note key: verified, every entry proven, receipts checked, same nodes as the file audit', async () => {
    const key = readFileSync(join(run.ledgerDir, LEDGER_FILES.pub), 'utf8').trim();
    const http = await audit([run.spansFile, '--ledger', url, '--ledger-key', key]);
    expect(http.report.findings).toEqual([]);
    expect(http.code).toBe(0);
    expect(http.report.ledger).toMatchObject({
      kind: 'ledger-http',
      keySource: 'given',
      rootMatches: true,
      receiptsChecked: 2,
    });
    const file = await audit([run.spansFile, '--ledger', run.ledgerDir]);
    const shape = (r: AuditReport) => r.nodes.map((x) => [x.jti, x.verdict, x.ledgerIndex, x.pred]);
    expect(shape(http.report)).toEqual(shape(file.report));
  });

  it('without a key: partial, the checkpoint signature was not checked', async () => {
    const { code, report } = await audit(['--ledger', url]);
    expect(code).toBe(3);
    expect(report.findings).toEqual([
      expect.objectContaining({ severity: 'partial', code: 'ECT_AUDIT_LEDGER_KEY_UNKNOWN' }),
    ]);
  });

  it('the ledger alone and the export alone agree on the DAG', async () => {
    const key = readFileSync(join(run.ledgerDir, LEDGER_FILES.pub), 'utf8').trim();
    const fromLedger = await audit(['--ledger', url, '--ledger-key', key]);
    const fromExport = await audit([run.spansFile, run.tokensFile]);
    const edges = (r: AuditReport) => r.edges.map((e) => `${e.from}>${e.to}`).sort();
    expect(edges(fromLedger.report)).toEqual(edges(fromExport.report));
    expect(fromLedger.report.nodes.map((x) => x.jti).sort()).toEqual(fromExport.report.nodes.map((x) => x.jti).sort());
  });
});

describe('an unreachable ledger', () => {
  it('is a failed ledger-inclusion check naming it, not a crash', async () => {
    const { code, report } = await audit([run.spansFile, '--ledger', 'http://127.0.0.1:9/ledger']);
    expect(code).toBe(1);
    expect(report.findings).toEqual([
      expect.objectContaining({
        check: 'ledger-inclusion',
        code: 'ECT_AUDIT_LEDGER_UNREADABLE',
        message: expect.stringContaining('ledger-http http://127.0.0.1:9/ledger'),
      }),
    ]);
  });
});
