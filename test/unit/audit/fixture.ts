// Realistic audit inputs: spans bridged by the real SDK and bridge (test/helpers/otel.ts), exported
// as OTLP JSON lines by the package's own file exporters, the signing key's JWK Set saved as the
// services publish it, and a real file ledger holding the tokens.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { saveKeyFiles } from '../../../src/keys/files.js';
import { FileLedger } from '../../../src/ledger/file-store.js';
import { OtlpJsonFileLogExporter, OtlpJsonFileSpanExporter } from '../../../src/otel/export/otlp-json-file.js';
import type { SpanSelector } from '../../../src/otel/processor/selector.js';
import { createOtelFixture } from '../../helpers/otel.js';

/** What {@link bridgedRun} wrote. */
export interface BridgedRun {
  dir: string;
  spansFile: string;
  tokensFile: string;
  jwks: string;
  ledgerDir: string;
  /** jti of each span's token, by span name. */
  jti: Record<string, string>;
  /** Compact token by span name. */
  token: Record<string, string>;
  tokens: string[];
  keyKid: string;
}

/** Names of the fixture's spans, in the order they end. */
export const SPAN_NAMES = ['fetch_data', 'analyze_risk', 'check_credit', 'execute_trade', 'workflow'] as const;

/**
 * Runs a small workflow through the bridge: a `workflow` span (SERVER) running `fetch_data`
 * (CLIENT), then `analyze_risk` and `check_credit` in parallel (check_credit fails with
 * `error.type`), then `execute_trade`; plus a `log` span the selector passes over (no token). Writes
 * the spans and the token log records as OTLP JSON lines, the JWK Set, and a file ledger of every
 * token (unless `ledgerWithout` names spans to leave out).
 */
export async function bridgedRun(
  dir: string,
  options: { ledgerWithout?: readonly string[] } = {},
): Promise<BridgedRun> {
  mkdirSync(dir, { recursive: true });
  const selector: SpanSelector = (span) => span.name !== 'log';
  const otel = createOtelFixture({ selector });
  const { tracer } = otel;
  const step = (name: string, kind: SpanKind, fail?: string) =>
    tracer.startActiveSpan(name, { kind }, async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (fail !== undefined) {
        span.setAttribute('error.type', fail);
        span.setStatus({ code: SpanStatusCode.ERROR, message: fail });
      }
      span.end();
    });
  await tracer.startActiveSpan('workflow', { kind: SpanKind.SERVER }, async (root) => {
    await step('fetch_data', SpanKind.CLIENT);
    await step('log', SpanKind.INTERNAL);
    await Promise.all([
      step('analyze_risk', SpanKind.INTERNAL),
      step('check_credit', SpanKind.INTERNAL, 'CreditDenied'),
    ]);
    await step('execute_trade', SpanKind.CLIENT);
    root.end();
  });
  const spans = await otel.finished();
  await otel.bridge.pipeline.forceFlush();
  const logs = otel.logs.getFinishedLogRecords();
  const spansFile = join(dir, 'spans.jsonl');
  const tokensFile = join(dir, 'tokens.jsonl');
  await new Promise((resolve) => new OtlpJsonFileSpanExporter(spansFile).export([...spans], resolve));
  await new Promise((resolve) => new OtlpJsonFileLogExporter(tokensFile).export([...logs], resolve));
  const { jwksPath } = await saveKeyFiles(join(dir, 'keys'), otel.key);
  const jti: Record<string, string> = {};
  const token: Record<string, string> = {};
  for (const span of spans) {
    if (typeof span.attributes['ect.token'] !== 'string') continue;
    jti[span.name] = String(span.attributes['ect.jti']);
    token[span.name] = String(span.attributes['ect.token']);
  }
  const tokens = logs.map((r) => String(r.body));
  const ledgerDir = join(dir, 'ledger');
  const without = new Set((options.ledgerWithout ?? []).map((name) => token[name]));
  const ledger = FileLedger.openSync({ dir: ledgerDir, origin: 'audit.test/ledger' });
  ledger.appendSync(tokens.filter((t) => !without.has(t)));
  ledger.close();
  await otel.close();
  return { dir, spansFile, tokensFile, jwks: jwksPath, ledgerDir, jti, token, tokens, keyKid: otel.key.kid };
}

/** An OTLP JSON lines file rewritten by `edit` (each line parsed, edited, written back). */
export function editLines(from: string, to: string, edit: (doc: OtlpDoc) => void): string {
  const lines = readFileSync(from, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const doc = JSON.parse(l) as OtlpDoc;
      edit(doc);
      return JSON.stringify(doc);
    });
  writeFileSync(to, `${lines.join('\n')}\n`);
  return to;
}

/** A copy of a file. */
export function copy(from: string, to: string): string {
  copyFileSync(from, to);
  return to;
}

export interface OtlpKeyValue {
  key: string;
  value: Record<string, unknown>;
}
export interface OtlpJsonSpan {
  name: string;
  spanId: string;
  traceId: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes: OtlpKeyValue[];
  [k: string]: unknown;
}
export interface OtlpJsonLog {
  body: { stringValue?: string };
  [k: string]: unknown;
}
export interface OtlpDoc {
  resourceSpans?: { scopeSpans: { spans: OtlpJsonSpan[] }[] }[];
  resourceLogs?: { scopeLogs: { logRecords: OtlpJsonLog[] }[] }[];
}

/** Every span of a document, editable in place. */
export function spansOf(doc: OtlpDoc): OtlpJsonSpan[] {
  return (doc.resourceSpans ?? []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

/** Removes spans (and their empty containers keep their shape) for which `drop` holds. */
export function dropSpans(doc: OtlpDoc, drop: (span: OtlpJsonSpan) => boolean): void {
  for (const rs of doc.resourceSpans ?? []) for (const ss of rs.scopeSpans) ss.spans = ss.spans.filter((s) => !drop(s));
}

/** Removes token log records for which `drop` holds. */
export function dropLogs(doc: OtlpDoc, drop: (record: OtlpJsonLog) => boolean): void {
  for (const rl of doc.resourceLogs ?? [])
    for (const sl of rl.scopeLogs) sl.logRecords = sl.logRecords.filter((r) => !drop(r));
}
