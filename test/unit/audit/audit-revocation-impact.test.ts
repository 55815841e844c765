/**
 * Revocation (`--revoked`), `ect impact` and `ect trace` on a DAG of tokens from two issuers, read
 * from a plain file of compact tokens; and the parts these rest on (the streamed Merkle root, the
 * revocation list format, the token-file reader).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamingTree } from '../../../src/audit/engine/ledger-stage.js';
import type { ImpactReport, TraceReport } from '../../../src/audit/impact.js';
import type { AuditReport } from '../../../src/audit/report/model.js';
import { parseRevocationList } from '../../../src/audit/revocation.js';
import { OtlpFileSource } from '../../../src/audit/sources/otlp-file.js';
import { saveKeyFiles } from '../../../src/keys/files.js';
import { leafHash, readerOverLeaves, treeRoot } from '../../../src/ledger/merkle/index.js';
import { ect } from '../../helpers/cli.js';
import { makeIssuer, NOW, validClaims, WID } from '../../helpers/ect.js';

const dir = mkdtempSync(join(tmpdir(), 'ect-audit-rev-'));
const payments = makeIssuer();
const risk = makeIssuer();
const RISK = 'spiffe://example.org/ns/prod/sa/risk';
const jti = { a: '', b: '', c: '', d: '' };
const tokensFile = join(dir, 'tokens.txt');
const jwks = join(dir, 'jwks.json');

beforeAll(async () => {
  // a (payments) → b (risk) → c (payments); a → d (payments).
  const sign = (issuer: typeof payments, iss: string, at: number, exec_act: string, pred: string[]) => {
    const claims = validClaims({ iss, iat: NOW + at, exec_act, pred, wid: WID });
    return { token: issuer.signer.sign(claims), jti: claims.jti };
  };
  const a = sign(payments, 'spiffe://example.org/ns/prod/sa/payments', 0, 'fetch_data', []);
  const b = sign(risk, RISK, 1, 'analyze_risk', [a.jti]);
  const d = sign(payments, 'spiffe://example.org/ns/prod/sa/payments', 2, 'notify', [a.jti]);
  const c = sign(payments, 'spiffe://example.org/ns/prod/sa/payments', 3, 'execute_trade', [b.jti]);
  Object.assign(jti, { a: a.jti, b: b.jti, c: c.jti, d: d.jti });
  writeFileSync(tokensFile, `# tokens\n${[c, a, d, b].map((t) => t.token).join('\n')}\n`);
  const keys = await Promise.all(
    [payments, risk].map(async (issuer, i) => saveKeyFiles(join(dir, `k${i}`), issuer.key)),
  );
  const { readFileSync } = await import('node:fs');
  writeFileSync(jwks, JSON.stringify({ keys: keys.flatMap((k) => JSON.parse(readFileSync(k.jwksPath, 'utf8')).keys) }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const json = async <T>(args: string[]): Promise<{ code: number; out: T }> => {
  const result = await ect([...args, '--jwks', jwks, '--json', '--threads', '0']);
  return { code: result.code, out: JSON.parse(result.stdout) as T };
};

describe('revocation', () => {
  it('a token signed with a revoked key at or after the revocation time fails; its descendants are suspect', async () => {
    const list = join(dir, 'revoked.json');
    writeFileSync(
      list,
      JSON.stringify({
        revoked: [{ kid: risk.key.kid, revoked_at: new Date((NOW + 1) * 1000).toISOString(), reason: 'key leaked' }],
      }),
    );
    const { code, out } = await json<AuditReport>(['audit', tokensFile, '--revoked', list]);
    expect(code).toBe(1);
    expect(out.findings).toEqual([
      expect.objectContaining({
        check: 'revocation',
        code: 'ECT_AUDIT_KEY_REVOKED',
        jtis: [jti.b],
        message: expect.stringContaining(`signed with key ${risk.key.kid}`),
      }),
    ]);
    const verdicts = Object.fromEntries(out.nodes.map((n) => [n.jti, n.verdict]));
    expect(verdicts).toEqual({ [jti.a]: 'verified', [jti.b]: 'failed', [jti.c]: 'suspect', [jti.d]: 'verified' });
    expect(out.nodes.map((n) => n.jti)).toEqual([jti.a, jti.b, jti.d, jti.c]);
  });

  it('tokens the key signed before its revocation time stand', async () => {
    const list = join(dir, 'revoked-later.json');
    writeFileSync(list, JSON.stringify([{ kid: risk.key.kid, revoked_at: NOW + 2 }]));
    const { code, out } = await json<AuditReport>(['audit', tokensFile, '--revoked', list]);
    expect(out.findings).toEqual([]);
    expect(code).toBe(0);
    expect(out.checks.find((c) => c.name === 'revocation')?.status).toBe('pass');
  });

  it('a malformed list is a usage error naming the entry', async () => {
    const list = join(dir, 'bad.json');
    writeFileSync(list, JSON.stringify({ revoked: [{ kid: 'k', revoked_at: 'yesterday' }] }));
    const result = await ect(['audit', tokensFile, '--revoked', list]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/revoked\[0\]\.revoked_at/);
    expect(() => parseRevocationList('{"revoked": {}}')).toThrow(SyntaxError);
  });
});

describe('ect impact and ect trace', () => {
  it('impact: every dependent task, last first, grouped by issuer, completed work marked', async () => {
    const { code, out } = await json<ImpactReport>(['impact', jti.a, tokensFile]);
    expect(code).toBe(0);
    expect(out.tasks.map((t) => t.jti)).toEqual([jti.c, jti.d, jti.b]);
    expect(out.tasks.map((t) => t.distance)).toEqual([2, 1, 1]);
    expect(out.byIssuer).toEqual({ 'spiffe://example.org/ns/prod/sa/payments': [jti.c, jti.d], [RISK]: [jti.b] });
    expect(out.completed).toBe(3);
    const text = await ect(['impact', jti.b, tokensFile, '--jwks', jwks]);
    expect(text.stdout).toMatch(/1 dependent task\(s\), 1 already completed/);
    expect(text.stdout).toMatch(/execute_trade .* completed, verified/);
  });

  it('trace: the ancestry back to the roots, in causal order', async () => {
    const { out } = await json<TraceReport>(['trace', jti.c, tokensFile]);
    expect(out.tasks.map((t) => t.execAct)).toEqual(['fetch_data', 'analyze_risk']);
    expect(out.roots).toEqual([jti.a]);
  });

  it('an unknown jti: exit 1 with a message', async () => {
    const result = await ect(['trace', '00000000-0000-4000-8000-000000000000', tokensFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no task/);
  });
});

describe('parts', () => {
  it('StreamingTree gives the RFC 9162 root of every prefix', () => {
    const leaves = Array.from({ length: 37 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
    const tree = new StreamingTree();
    expect(tree.root()).toEqual(treeRoot(readerOverLeaves([]), 0));
    for (const [i, leaf] of leaves.entries()) {
      tree.push(leaf);
      expect(tree.root(), `size ${i + 1}`).toEqual(treeRoot(readerOverLeaves(leaves.slice(0, i + 1)), i + 1));
    }
  });

  it('a token file is read line by line, comments and blank lines skipped', async () => {
    const source = await OtlpFileSource.open(tokensFile);
    expect(source.kind).toBe('token-file');
    const records = [];
    for await (const r of source.records()) records.push(r);
    expect(records.map((r) => r.at)).toEqual([2, 3, 4, 5].map((l) => `${tokensFile}:${l}`));
  });
});

describe('OTLP file lines', () => {
  it('splits lines across read chunks: CRLF, a line over 1 MiB, a multi-byte character on a chunk edge', async () => {
    const name = `span-${'é'.repeat(600_000)}`;
    const doc = {
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name }] }] }],
    };
    const file = join(dir, 'long.jsonl');
    writeFileSync(file, `# head\r\n${JSON.stringify(doc)}\r\n\r\ntoken.not.json\r\n${JSON.stringify(doc)}`);
    const records = [];
    for await (const r of (await OtlpFileSource.open(file)).records()) records.push(r);
    expect(records.map((r) => [r.kind, r.at.slice(file.length)])).toEqual([
      ['span', ':2'],
      ['token', ':4'],
      ['span', ':5'],
    ]);
    expect(records[0]?.kind === 'span' && records[0].span.name).toBe(name);
  });
});

describe('report JSON in chunks', () => {
  it('is exactly JSON.stringify of the report, for empty and multi-chunk lists', async () => {
    const { reportJsonChunks } = await import('../../../src/audit/report/json.js');
    const { out } = await json<AuditReport>(['audit', tokensFile]);
    const many = {
      ...out,
      nodes: Array.from({ length: 5000 }, (_, i) => ({ ...out.nodes[0]!, jti: String(i) })),
      findings: [],
    };
    for (const report of [out, many])
      expect([...reportJsonChunks(report)].join('')).toBe(`${JSON.stringify(report)}\n`);
  });
});

describe('usage', () => {
  it('--help of each command, and nothing to audit is a usage error', async () => {
    for (const command of ['audit', 'impact', 'trace']) {
      const help = await ect([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout).toMatch(/--ledger <file:DIR\|postgres:\/\/…\|http:\/\/…>/);
    }
    const nothing = await ect(['audit']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/nothing to audit/);
    expect((await ect(['audit', tokensFile, '--threads', 'many'])).code).toBe(2);
  });
});
