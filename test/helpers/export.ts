// What a run exported, read back for assertions: spans and token log records through the package's
// own OTLP reader (src/audit), the JWK Sets the processes published read as plain JSON (so tests can
// verify with `jose` alone, independently of src/keys).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { type OtlpLogRecord, type OtlpSpan, readOtlpFiles } from '../../src/audit/index.js';
import { ATTR, TOKEN_LOG_EVENT } from '../../src/base/conventions.js';

/** Everything a run exported. */
export interface CollectedExport {
  /** The OTLP JSON lines files read. */
  files: string[];
  spans: OtlpSpan[];
  logRecords: OtlpLogRecord[];
  /** The log records that carry a token. */
  tokenRecords: OtlpLogRecord[];
  /** Compact tokens, deduplicated: log record bodies first, then `ect.token` span attributes. */
  tokens: string[];
  jwksDir: string;
  jwksFiles: string[];
  /** Every published key, as one JWK Set. */
  jwks: JSONWebKeySet;
}

/** The `.jsonl` files of an export folder, sorted (`spans-…` and `tokens-…` per process). */
export function exportFiles(exportDir: string): string[] {
  return filesEndingIn(exportDir, '.jsonl');
}

/** Every JWK Set file in a folder (sorted), and all their keys as one JWK Set. */
export function readJwksDir(jwksDir: string): { files: string[]; jwks: JSONWebKeySet } {
  const files = existsSync(jwksDir) ? filesEndingIn(jwksDir, '.json') : [];
  const keys = files.flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as Partial<JSONWebKeySet>).keys ?? []);
  return { files, jwks: { keys } };
}

function filesEndingIn(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => join(dir, f));
}

/** The token log records among `logRecords`, and every distinct token of them and of the spans. */
export function tokensOf(
  spans: readonly OtlpSpan[],
  logRecords: readonly OtlpLogRecord[],
): { tokenRecords: OtlpLogRecord[]; tokens: string[] } {
  const tokenRecords = logRecords.filter(
    (r) => r.eventName === TOKEN_LOG_EVENT || r.attributes[ATTR.jti] !== undefined,
  );
  const candidates = [...tokenRecords.map((r) => r.body), ...spans.map((s) => s.attributes[ATTR.token])];
  return { tokenRecords, tokens: [...new Set(candidates.filter((t): t is string => typeof t === 'string'))] };
}

/**
 * Reads OTLP files and a JWK Set folder into a {@link CollectedExport}.
 *
 * @example const exported = await collectFiles(['collector-traces.jsonl', 'collector-logs.jsonl'], jwksDir);
 */
export async function collectFiles(files: string[], jwksDir: string): Promise<CollectedExport> {
  const { spans, logRecords } = await readOtlpFiles(files);
  const { files: jwksFiles, jwks } = readJwksDir(jwksDir);
  return { files, spans, logRecords, ...tokensOf(spans, logRecords), jwksDir, jwksFiles, jwks };
}

/**
 * Everything a stopped run wrote to its export folder, with its JWK Sets.
 *
 * @example const exported = await collectExport(workflow);
 */
export async function collectExport(run: { exportDir: string | undefined; jwksDir: string }): Promise<CollectedExport> {
  if (run.exportDir === undefined) throw new Error('collectExport: the run had no file export');
  return collectFiles(exportFiles(run.exportDir), run.jwksDir);
}
