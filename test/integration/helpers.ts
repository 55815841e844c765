import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { DirectoryJwksResolver } from '../../src/keys/index.js';
import { SPAN_BINDING_KEY } from '../../src/base/conventions.js';
import { decodeUnverified, EctVerifier, readClaims, type EctClaims } from '../../src/token/index.js';
import type { OtlpSpan } from '../../src/audit/index.js';
import type { CollectedExport } from '../helpers/export.js';
import { AGENT_ACTIONS, type AgentAction } from '../helpers/workflow.js';

export { ect } from '../helpers/processes.js';

/** Readiness of real processes on a loaded 2-core machine: generous, but bounded. */
export const READY_TIMEOUT_MS = 60_000;
/** beforeAll: start, run, stop, read back. */
export const SETUP_TIMEOUT_MS = 150_000;

/** A fresh folder for one run (removed in afterAll unless ECT_KEEP_RUNS is set). */
export function runDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `ect-it-${prefix}-`));
  return { dir, remove: () => (process.env.ECT_KEEP_RUNS ? undefined : rmSync(dir, { recursive: true, force: true })) };
}

/** base64url (unpadded) SHA-256 of a string's UTF-8 octets, computed here, not by the bridge. */
export function sha256b64url(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

export interface CheckedToken {
  token: string;
  claims: EctClaims;
  span: OtlpSpan;
}

/**
 * Checks every exported span: it carries `ect.jti`, `ect.pred` and `ect.token`; the token verifies
 * with the project's verifier (audit mode, keys from the JWK Set folder) and with `jose` alone
 * (`jwtVerify`, typ exec+jwt, against the merged JWK Set); its claims match the span attributes and
 * its `io.opentelemetry.span` binding names the span; its `iss` is the span's service; and the token
 * log record of the same `jti` carries the same token with the span's trace and span ids.
 */
export async function checkSpansAndTokens(exported: CollectedExport): Promise<CheckedToken[]> {
  const verifier = new EctVerifier({ keys: new DirectoryJwksResolver(exported.jwksDir), audit: true });
  const jwks = createLocalJWKSet(exported.jwks as Parameters<typeof createLocalJWKSet>[0]);
  const records = new Map(exported.tokenRecords.map((r) => [String(r.attributes['ect.jti']), r]));
  const out: CheckedToken[] = [];
  for (const span of exported.spans) {
    const where = `${span.service} ${span.kind} ${span.name} (${span.spanId})`;
    const { 'ect.jti': jti, 'ect.pred': pred, 'ect.token': token } = span.attributes;
    expect(typeof jti, `${where}: ect.jti`).toBe('string');
    expect(Array.isArray(pred), `${where}: ect.pred`).toBe(true);
    expect(typeof token, `${where}: ect.token`).toBe('string');
    const compact = String(token);

    const { claims, header } = verifier.verifySync(compact);
    expect(header.typ).toBe('exec+jwt');
    const viaJose = await jwtVerify(compact, jwks, { typ: 'exec+jwt', algorithms: ['ES256'] });
    expect(viaJose.protectedHeader.kid).toBe(header.kid);
    expect(viaJose.payload as JWTPayload & { jti: string }).toEqual(claims as unknown as JWTPayload);

    expect(claims.jti, where).toBe(jti);
    expect(claims.pred, where).toEqual(pred);
    expect(claims.iss, where).toBe(`spiffe://example.org/service/${span.service}`);
    const binding = claims.ect_ext?.[SPAN_BINDING_KEY] as Record<string, unknown> | undefined;
    expect(binding, `${where}: ect_ext binding`).toMatchObject({
      trace_id: span.traceId,
      span_id: span.spanId,
      name: span.name,
      kind: span.kind,
    });
    if (span.parentSpanId !== undefined) expect(binding?.parent_span_id, where).toBe(span.parentSpanId);
    // Tokens are exported twice, as the span attribute and as a log record bound to the span.
    const record = records.get(claims.jti);
    expect(record, `${where}: token log record`).toBeDefined();
    expect(record?.body).toBe(compact);
    expect(record?.traceId).toBe(span.traceId);
    expect(record?.spanId).toBe(span.spanId);
    // No incoming or response token was refused (a refused token is a lost edge).
    const events = span.events.map((e) => e.name).filter((n) => n.startsWith('ect.'));
    expect(events, `${where}: ECT verification events`).toEqual([]);
    expect(span.attributes['ect.incoming.rejected'], where).toBeUndefined();
    out.push({ token: compact, claims, span });
  }
  // Every token exported at all belongs to a span (no orphans).
  expect(new Set(exported.tokens)).toEqual(new Set(out.map((t) => t.token)));
  return out;
}

/**
 * Each exported span with its token's claims, decoded without verification (for the DAG tests;
 * {@link checkSpansAndTokens} is where tokens are verified). Spans without a token are left out.
 */
export function tokensOfSpans(exported: CollectedExport): CheckedToken[] {
  return exported.spans.flatMap((span) => {
    const token = span.attributes['ect.token'];
    return typeof token === 'string'
      ? [{ token, claims: readClaims(decodeUnverified(token).payload).claims, span }]
      : [];
  });
}

/** `ancestors(jti)`: every token reachable backwards over `pred` edges. */
export function reachability(claims: readonly EctClaims[]): (from: string, to: string) => boolean {
  const byJti = new Map(claims.map((c) => [c.jti, c]));
  const memo = new Map<string, Set<string>>();
  const ancestors = (jti: string): Set<string> => {
    const known = memo.get(jti);
    if (known !== undefined) return known;
    const found = new Set<string>();
    memo.set(jti, found);
    const stack = [...(byJti.get(jti)?.pred ?? [])];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (found.has(p)) continue;
      found.add(p);
      stack.push(...(byJti.get(p)?.pred ?? []));
    }
    return found;
  };
  return (from, to) => ancestors(to).has(from);
}

/** The paper's figure as "x → y" pairs (x precedes y): fetch_data → (analyze_risk ∥ check_credit) → verify_compliance → execute_trade. */
export const PAPER_ORDER: readonly string[] = [
  ['fetch_data', 'analyze_risk'],
  ['fetch_data', 'check_credit'],
  ['fetch_data', 'verify_compliance'],
  ['fetch_data', 'execute_trade'],
  ['analyze_risk', 'verify_compliance'],
  ['analyze_risk', 'execute_trade'],
  ['check_credit', 'verify_compliance'],
  ['check_credit', 'execute_trade'],
  ['verify_compliance', 'execute_trade'],
]
  .map(([x, y]) => `${x} → ${y}`)
  .sort();

/**
 * The whole 5×5 precedence relation between the agent tokens, as sorted "x → y" pairs, to compare
 * with {@link PAPER_ORDER} (equal means: these pairs and no others, so analyze_risk ∥ check_credit).
 */
export function agentOrder(
  agent: Record<AgentAction, EctClaims>,
  reaches: (from: string, to: string) => boolean,
): string[] {
  const pairs: string[] = [];
  for (const x of AGENT_ACTIONS)
    for (const y of AGENT_ACTIONS) if (x !== y && reaches(agent[x].jti, agent[y].jti)) pairs.push(`${x} → ${y}`);
  return pairs.sort();
}
