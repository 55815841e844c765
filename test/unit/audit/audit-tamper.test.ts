/**
 * `ect audit` on a run bridged by the real SDK: verified as exported, and each tampering named
 * exactly (check, code, the token and the span involved).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditFinding, AuditReport } from '../../../src/audit/report/model.js';
import { generateSigningKey } from '../../../src/keys/generate.js';
import { EctSigner } from '../../../src/token/sign.js';
import { claimsOf } from '../../helpers/otel.js';
import { ect } from '../../helpers/cli.js';
import { type BridgedRun, bridgedRun, dropLogs, dropSpans, editLines, spansOf } from './fixture.js';

let run: BridgedRun;
const root = mkdtempSync(join(tmpdir(), 'ect-audit-'));
let n = 0;
const file = (name: string) => join(root, `${n++}-${name}`);

beforeAll(async () => {
  run = await bridgedRun(join(root, 'run'));
}, 30_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function audit(args: string[]): Promise<{ code: number; report: AuditReport; stdout: string }> {
  const result = await ect(['audit', ...args, '--jwks', run.jwks, '--json', '--threads', '1']);
  if (result.stdout === '') throw new Error(`ect audit printed nothing: ${result.stderr}`);
  return { code: result.code, report: JSON.parse(result.stdout) as AuditReport, stdout: result.stdout };
}

const failed = (report: AuditReport): AuditFinding[] => report.findings.filter((f) => f.severity === 'failed');

describe('ect audit on a bridged run', () => {
  it('verifies the export and the ledger: every check passes, nodes in causal order', async () => {
    const { code, report } = await audit([run.spansFile, run.tokensFile, '--ledger', `file:${run.ledgerDir}`]);
    expect(report.findings).toEqual([]);
    expect(code).toBe(0);
    expect(report.verdict).toBe('verified');
    expect(report.summary).toMatchObject({ tokens: 5, spans: 6, verified: 5, failed: 0 });
    expect(Object.fromEntries(report.checks.map((c) => [c.name, c.status]))).toEqual({
      signature: 'pass',
      claims: 'pass',
      dag: 'pass',
      binding: 'pass',
      completeness: 'pass',
      'ledger-inclusion': 'pass',
      'ledger-consistency': 'skipped',
      revocation: 'skipped',
    });
    const order = report.nodes.map((node) => node.execAct);
    expect(order[0]).toBe('fetch_data');
    expect(order.at(-1)).toBe('workflow');
    expect(report.ledger).toMatchObject({ size: 5, rootMatches: true, keySource: 'ledger' });
    const node = report.nodes.find((x) => x.jti === run.jti.check_credit);
    expect(node?.span).toMatchObject({ name: 'check_credit', status: 'error', kind: 'internal' });
    expect(node?.ledgerIndex).toEqual(expect.any(Number));
  });

  it('the text summary says VERIFIED', async () => {
    const result = await ect(['audit', run.spansFile, run.tokensFile, '--jwks', run.jwks]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^verdict: VERIFIED \(5 tokens, 6 spans/);
    expect(result.stderr).toBe('');
  });

  it('a span attribute edited in the OTLP file: binding fails naming the attribute, span and token', async () => {
    const edited = editLines(run.spansFile, file('spans.jsonl'), (doc) => {
      for (const span of spansOf(doc))
        for (const a of span.attributes) if (a.key === 'error.type') a.value = { stringValue: 'Timeout' };
    });
    const { code, report } = await audit([edited, run.tokensFile]);
    expect(code).toBe(1);
    expect(failed(report)).toEqual([
      expect.objectContaining({
        check: 'binding',
        code: 'ECT_SPAN_MISMATCH',
        jtis: [run.jti.check_credit],
        spans: [expect.objectContaining({ name: 'check_credit' })],
        message: expect.stringContaining('error type: span says "Timeout", token says "CreditDenied"'),
      }),
    ]);
    expect(report.nodes.find((x) => x.jti === run.jti.check_credit)?.verdict).toBe('failed');
    // The workflow's token names check_credit's: its descendants are suspect.
    expect(report.nodes.find((x) => x.jti === run.jti.execute_trade)?.verdict).toBe('suspect');
  });

  it('a token dropped from the export: the span that was issued it is named, its successors dangle', async () => {
    const token = run.token.analyze_risk;
    const spans = editLines(run.spansFile, file('spans.jsonl'), (doc) => {
      for (const span of spansOf(doc)) span.attributes = span.attributes.filter((a) => a.value.stringValue !== token);
    });
    const tokens = editLines(run.tokensFile, file('tokens.jsonl'), (doc) =>
      dropLogs(doc, (r) => r.body.stringValue === token),
    );
    const { code, report } = await audit([spans, tokens]);
    expect(code).toBe(1);
    expect(failed(report)).toEqual([
      expect.objectContaining({
        check: 'completeness',
        code: 'ECT_AUDIT_SPAN_WITHOUT_TOKEN',
        jtis: [run.jti.analyze_risk],
        spans: [expect.objectContaining({ name: 'analyze_risk' })],
      }),
    ]);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ code: 'ECT_AUDIT_DANGLING_PRED', jtis: [run.jti.execute_trade, run.jti.analyze_risk] }),
    );
    expect(report.nodes.find((x) => x.jti === run.jti.analyze_risk)?.verdict).toBe('missing');
  });

  it('a span dropped: the token bound to it is named', async () => {
    const spans = editLines(run.spansFile, file('spans.jsonl'), (doc) =>
      dropSpans(doc, (s) => s.name === 'fetch_data'),
    );
    const { code, report } = await audit([spans, run.tokensFile]);
    expect(code).toBe(1);
    expect(failed(report)).toEqual([
      expect.objectContaining({
        check: 'completeness',
        code: 'ECT_AUDIT_TOKEN_WITHOUT_SPAN',
        jtis: [run.jti.fetch_data],
        spans: [expect.objectContaining({ name: 'fetch_data' })],
      }),
    ]);
  });

  it('a token re-signed with another key under the same kid: the signature check names it', async () => {
    const original = run.token.fetch_data as string;
    const forger = new EctSigner({ ...generateSigningKey('ES256'), kid: run.keyKid });
    const forged = forger.sign({ ...claimsOf(original), exec_act: 'fetch_data_elsewhere' });
    const swap = (doc: ReturnType<typeof JSON.parse>) => JSON.parse(JSON.stringify(doc).replaceAll(original, forged));
    const spans = editLines(run.spansFile, file('spans.jsonl'), (doc) => Object.assign(doc, swap(doc)));
    const tokens = editLines(run.tokensFile, file('tokens.jsonl'), (doc) => Object.assign(doc, swap(doc)));
    const { code, report } = await audit([spans, tokens, '--ledger', `file:${run.ledgerDir}`]);
    expect(code).toBe(1);
    const sig = failed(report).filter((f) => f.check === 'signature');
    expect(sig).toEqual([
      expect.objectContaining({
        code: 'ECT_SIGNATURE_INVALID',
        jtis: [run.jti.fetch_data],
        at: expect.stringContaining('spans.jsonl'),
      }),
    ]);
    // The ledger holds the genuine one: the exported token differs from it.
    expect(failed(report)).toContainEqual(
      expect.objectContaining({
        check: 'ledger-inclusion',
        code: 'ECT_AUDIT_LEDGER_DIFFERS',
        jtis: [run.jti.fetch_data],
      }),
    );
  });

  it('times reordered in the OTLP file: the span times and the edge order are named', async () => {
    const spans = editLines(run.spansFile, file('spans.jsonl'), (doc) => {
      for (const span of spansOf(doc)) {
        if (span.name !== 'fetch_data') continue;
        const hour = 3_600_000_000_000n;
        span.startTimeUnixNano = String(BigInt(span.startTimeUnixNano) + hour);
        span.endTimeUnixNano = String(BigInt(span.endTimeUnixNano) + hour);
      }
    });
    const { code, report } = await audit([spans, run.tokensFile]);
    expect(code).toBe(1);
    const codes = failed(report).map((f) => [f.code, f.jtis]);
    expect(codes).toContainEqual(['ECT_AUDIT_SPAN_TIME', [run.jti.fetch_data]]);
    expect(codes).toContainEqual(['ECT_AUDIT_SPAN_ORDER', [run.jti.analyze_risk, run.jti.fetch_data]]);
    expect(failed(report).every((f) => f.spans.some((s) => s.name === 'fetch_data'))).toBe(true);
  });

  it('records exported in another order change nothing: the causal order comes from the tokens', async () => {
    const reversed = editLines(run.spansFile, file('spans.jsonl'), (doc) => {
      for (const rs of doc.resourceSpans ?? []) for (const ss of rs.scopeSpans) ss.spans.reverse();
    });
    const before = await audit([run.spansFile, run.tokensFile]);
    const after = await audit([reversed, run.tokensFile]);
    expect(after.code).toBe(0);
    expect(after.report.nodes.map((x) => x.jti)).toEqual(before.report.nodes.map((x) => x.jti));
  });

  it("an exported span's name replaced: binding names old and new name", async () => {
    const spans = editLines(run.spansFile, file('spans.jsonl'), (doc) => {
      for (const span of spansOf(doc)) if (span.name === 'execute_trade') span.name = 'cancel_trade';
    });
    const { code, report } = await audit([spans, run.tokensFile]);
    expect(code).toBe(1);
    expect(failed(report)).toEqual([
      expect.objectContaining({
        check: 'binding',
        code: 'ECT_SPAN_MISMATCH',
        jtis: [run.jti.execute_trade],
        message: expect.stringContaining('name: span says "cancel_trade", token says "execute_trade"'),
      }),
    ]);
  });

  it('a token missing from the ledger: ledger inclusion names it', async () => {
    const partial = await bridgedRun(join(root, 'partial-ledger'), { ledgerWithout: ['analyze_risk'] });
    const result = await ect([
      'audit',
      partial.spansFile,
      partial.tokensFile,
      '--ledger',
      partial.ledgerDir,
      '--jwks',
      partial.jwks,
      '--json',
    ]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as AuditReport;
    expect(failed(report)).toEqual([
      expect.objectContaining({
        check: 'ledger-inclusion',
        code: 'ECT_AUDIT_NOT_IN_LEDGER',
        jtis: [partial.jti.analyze_risk],
        spans: [expect.objectContaining({ name: 'analyze_risk' })],
      }),
    ]);
  }, 30_000);
});
