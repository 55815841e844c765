import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ATTR } from '../../base/conventions.js';
import { type EctError, isEctError } from '../../base/errors.js';
import { LIMITS } from '../../base/limits.js';
import { topologicalOrder } from '../../dag/order.js';
import type { DagNode, DagOptions } from '../../dag/types.js';
import { validateDag } from '../../dag/validate-set.js';
import type { KeyResolver } from '../../keys/types.js';
import { readClaims } from '../../token/check-claims.js';
import { CryptoPool } from '../../token/crypto-pool.js';
import { decodeUnverified } from '../../token/decode.js';
import { EctVerifier } from '../../token/verify.js';
import { AUDIT_CODE } from '../codes.js';
import {
  AUDIT_REPORT_SCHEMA,
  type AuditCheck,
  type AuditCheckName,
  type AuditNode,
  type AuditReport,
  type AuditSource,
  type AuditSpan,
  type AuditVerdict,
} from '../report/model.js';
import { type RevokedKey, revocationOf } from '../revocation.js';
import type { LedgerReader } from '../sources/ledger.js';
import type { AuditSourceReader } from '../sources/types.js';
import { Findings } from './findings.js';
import { type LedgerOutcome, readLedger } from './ledger-stage.js';
import { SignatureStage, type VerifyOutcome, isRefusal } from './signature-stage.js';
import { checkSpans, type SpanCheckSummary, spanOfTask } from './span-checks.js';
import { NO_FINDINGS, spanKeyOf, type Task, TaskIndex } from './task-index.js';

/** Options of {@link runAudit}. */
export interface AuditOptions {
  /** Files and query APIs of spans and tokens, read in order. */
  sources?: readonly AuditSourceReader[];
  /** The ledger: a source of tokens and the inclusion check. */
  ledger?: LedgerReader;
  /** The ledger's public note key; default the key the store keeps (none for a ledger server). */
  ledgerKey?: string;
  /** A signed checkpoint the auditor saved earlier (`--since-checkpoint`). */
  sinceCheckpoint?: string;
  /** Verification keys; without them signatures are NOT checked and the verdict is at best partial. */
  keys?: KeyResolver;
  /** Revoked keys (see src/audit/revocation.ts for the rule). */
  revoked?: readonly RevokedKey[];
  /** Worker threads verifying signatures. Default `availableParallelism()`; 0 verifies in this thread. */
  threads?: number;
  /** A crypto pool to use instead of one of `threads` (left open). */
  pool?: CryptoPool;
  /** Skew tolerated between clocks, seconds. Default 30. */
  clockSkewSeconds?: number;
  /** DAG rule options (federation, cross-workflow references). */
  dag?: Omit<DagOptions, 'clockSkewSeconds'>;
  /** A Jaeger UI base URL: nodes' spans link into it. */
  jaegerUi?: string;
  /** Told how far the audit has got, every few thousand records or tasks and at each phase. */
  onProgress?: (progress: AuditProgress) => void;
  signal?: AbortSignal;
}

/**
 * How far an audit has got. `done` of `total` (in the phase's own unit: a file's bytes, a ledger's
 * entries, tasks) is given when the end is known, so a progress bar can be drawn; a backend's
 * search only counts records.
 */
export interface AuditProgress {
  phase: 'reading' | 'ledger' | 'verifying' | 'checking';
  /** Records read so far (spans, token records, ledger entries). */
  records: number;
  /** The source being read (its location), in the reading and ledger phases. */
  source?: string;
  done?: number;
  total?: number;
}

/** Error codes that belong to the signature check; every other verification code is a claims finding. */
const SIGNATURE_CODES = new Set<string>([
  'ECT_SIGNATURE_INVALID',
  'ECT_KEY_UNKNOWN',
  'ECT_ALG_NOT_ALLOWED',
  'ECT_KID_MISSING',
  'ECT_TYP_INVALID',
  'ECT_MALFORMED',
  'ECT_TOO_LARGE',
]);

const CHECK_ORDER: readonly AuditCheckName[] = [
  'signature',
  'claims',
  'dag',
  'binding',
  'completeness',
  'ledger-inclusion',
  'ledger-consistency',
  'revocation',
];

/**
 * Audits spans and tokens from any mix of sources and a ledger: streams every record into a DAG
 * index (claims per `jti`, span per id, edges; never whole bodies), verifies every token in audit
 * mode across the crypto pool's worker threads while reading, then runs the checks (signature,
 * claims, DAG rules, binding, completeness, ledger inclusion and consistency, revocation) and
 * returns the {@link AuditReport}: nodes in causal order with their verdicts, every finding naming
 * the tokens and spans involved.
 *
 * @example
 * const report = await runAudit({ sources: [await OtlpFileSource.open('spans.jsonl')], keys });
 * if (report.verdict !== 'verified') console.log(report.findings[0]);
 */
export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const skew = options.clockSkewSeconds ?? LIMITS.clockSkewSeconds;
  const index = new TaskIndex();
  const findings = new Findings();
  const progress = options.onProgress ?? (() => {});
  const verifier =
    options.keys === undefined
      ? undefined
      : new EctVerifier({ keys: options.keys, audit: true, clockSkewSeconds: skew });
  const threads = options.threads ?? availableParallelism();
  const ownPool =
    verifier !== undefined && options.pool === undefined && threads > 0 ? new CryptoPool({ threads }) : undefined;
  const pool = options.pool ?? ownPool;
  const stage = verifier === undefined ? undefined : new SignatureStage(verifier, pool);
  const workers = pool?.offThread ? pool.threads : 0;
  let records = 0;

  const refuse = (error: EctError, jti: string | undefined, what: string, at: string) => {
    const task = jti === undefined ? undefined : index.tasks.get(jti);
    const span = task === undefined ? undefined : spanOfTask(index, task);
    findings.fail(
      SIGNATURE_CODES.has(error.code) ? 'signature' : 'claims',
      error.code,
      `${what} at ${at}: ${error.message}`,
      jti === undefined ? [] : [jti],
      span === undefined ? [] : [{ traceId: span.traceId, spanId: span.spanId, name: span.name }],
      at,
    );
  };

  const verify = async (token: string, at: string, task: Task | undefined, jti: string) => {
    if (stage === undefined) {
      if (task !== undefined) task.signature = 'unchecked';
      return;
    }
    await stage.submit(token, (outcome: VerifyOutcome) => {
      if (isRefusal(outcome)) {
        if (task !== undefined) task.signature = 'failed';
        refuse(
          outcome,
          jti,
          task === undefined ? `another token with jti ${jti}` : `token ${jti} (${task.node.execAct})`,
          at,
        );
      } else if (task !== undefined) task.signature = 'verified';
    });
  };

  const handleToken = async (
    token: string,
    at: string,
    ledgerIndex?: number,
    logTrace?: string,
    logSpan?: string,
    jtiHint?: string,
  ) => {
    // 128 bits of SHA-256, as a string of its own (a slice would keep the whole digest alive).
    const digest = createHash('sha256').update(token).digest().toString('base64url', 0, 16);
    const known = (t: Task) => digest === t.digest || digest === t.exportDigest || digest === t.ledgerDigest;
    // The bridge exports each token twice (span attribute and log record), both naming its jti: the
    // second time, an equal digest proves it is the token already read, with nothing to decode.
    let task = jtiHint === undefined ? undefined : index.tasks.get(jtiHint);
    if (task === undefined || !known(task)) {
      let decoded: ReturnType<typeof decodeUnverified>;
      let claims: ReturnType<typeof readClaims>['claims'];
      try {
        decoded = decodeUnverified(token);
        claims = readClaims(decoded.payload).claims;
      } catch (error) {
        if (!isEctError(error)) throw error;
        refuse(error, undefined, 'token', at);
        return;
      }
      task = index.tasks.get(claims.jti);
      if (task === undefined) {
        task = index.addTask(decoded.header, claims, at, digest);
        await verify(token, at, task, claims.jti);
      } else if (!known(task)) {
        // Another token with this jti: checked too, so a forged one is named whichever came first.
        await verify(token, at, undefined, claims.jti);
      }
    }
    const jti = task.node.jti;
    if (ledgerIndex !== undefined) {
      if (task.ledgerDigest === undefined) {
        task.ledgerDigest = digest;
        task.node.ledgerIndex = ledgerIndex;
      } else if (task.ledgerDigest !== digest) {
        findings.fail(
          'ledger-inclusion',
          AUDIT_CODE.tokenConflict,
          `the ledger holds two different tokens with jti ${jti} (#${task.node.ledgerIndex} and #${ledgerIndex})`,
          [jti],
          [],
          at,
        );
      }
    } else if (task.exportDigest === undefined) {
      task.exportDigest = digest;
    } else if (task.exportDigest !== digest) {
      findings.fail(
        'dag',
        AUDIT_CODE.tokenConflict,
        `two different tokens carry jti ${jti}: at ${task.at} and at ${at}`,
        [jti],
        [],
        at,
      );
    }
    // Kept only when it names another span than the binding (a finding): most tokens hold no key.
    if (logTrace !== undefined && logSpan !== undefined && task.logSpanKey === undefined) {
      const key = spanKeyOf(logTrace, logSpan);
      const b = task.binding;
      if (b === undefined || key !== spanKeyOf(b.traceId, b.spanId)) task.logSpanKey = key;
    }
  };

  const tick = (phase: 'reading' | 'ledger', source: string, at: () => { done: number; total: number } | undefined) => {
    if (++records % 4096 === 0) progress({ phase, records, source, ...at() });
  };

  const sources: AuditSource[] = [];
  let ledgerOutcome: LedgerOutcome | undefined;
  try {
    for (const source of options.sources ?? []) {
      const counted: AuditSource = { kind: source.kind, location: source.location, tokens: 0, spans: 0 };
      sources.push(counted);
      const at = () => source.progress?.();
      progress({ phase: 'reading', records, source: source.location });
      for await (const record of source.records(options.signal)) {
        tick('reading', source.location, at);
        if (record.kind === 'span') {
          counted.spans++;
          const token = record.span.attributes[ATTR.token];
          // The token first: the span's entry then shares the task's jti and pred.
          if (typeof token === 'string') {
            counted.tokens++;
            const hint = record.span.attributes[ATTR.jti];
            await handleToken(
              token,
              record.at,
              undefined,
              record.span.traceId,
              record.span.spanId,
              typeof hint === 'string' ? hint : undefined,
            );
          }
          index.addSpan(record.span, record.at);
        } else {
          counted.tokens++;
          await handleToken(record.token, record.at, undefined, record.traceId, record.spanId, record.jti);
        }
      }
    }
    if (options.ledger !== undefined) {
      const reader = options.ledger;
      const counted: AuditSource = { kind: reader.kind, location: reader.location, tokens: 0, spans: 0 };
      sources.push(counted);
      ledgerOutcome = await readLedger({
        reader,
        ...(options.ledgerKey === undefined ? {} : { key: options.ledgerKey }),
        ...(options.sinceCheckpoint === undefined ? {} : { since: options.sinceCheckpoint }),
        findings,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onEntry: async (token, i, entries) => {
          tick('ledger', reader.location, () => ({ done: i + 1, total: entries }));
          counted.tokens++;
          await handleToken(token, `ledger:#${i}`, i);
        },
      });
    }
    progress({ phase: 'verifying', records });
    await stage?.drain();
  } finally {
    await ownPool?.close();
  }
  progress({ phase: 'checking', records });

  const details = new Map<AuditCheckName, string>();
  const skipped = new Set<AuditCheckName>();
  const tokens = index.tasks.size;

  // Signature and claims.
  if (verifier === undefined) {
    skipped.add('signature');
    details.set('signature', 'no keys given (--jwks): signatures NOT checked, claims decoded only');
    findings.partial(
      'signature',
      AUDIT_CODE.unchecked,
      `signatures of ${tokens} token(s) were not checked: no keys given`,
      [],
    );
  } else {
    const { failed } = findings.counts('signature');
    details.set(
      'signature',
      `${tokens} token(s) verified in audit mode across ${workers} worker thread(s); ${failed} refused`,
    );
  }
  details.set('claims', `required claims, formats and limits of ${tokens} token(s)`);

  // Binding and completeness (spans), first: their records are then let go, before the DAG rules
  // and the causal order need their memory.
  let spanSummary: SpanCheckSummary | undefined;
  if (index.spans.size > 0) {
    spanSummary = checkSpans(index, findings, skew);
    details.set(
      'binding',
      `${spanSummary.bound} token(s) compared with their spans (ids, name, kind, status, error type, times ± ${skew} s)`,
    );
  } else {
    skipped.add('binding');
    details.set('binding', 'no spans in the sources');
  }
  let converted = 0;
  for (const task of index.tasks.values()) {
    const span = spanOfTask(index, task);
    if (span !== undefined) {
      // What the report shows of the span replaces the index's record of it.
      task.node.span = auditSpanOf(span, options.jaegerUi);
      index.spans.release(span);
    }
    task.binding = undefined;
    if ((++converted & 65535) === 0) progress({ phase: 'checking', records, done: converted, total: tokens });
  }
  progress({ phase: 'checking', records });

  // DAG rules; dangling predecessors are a completeness matter.
  const dagNodes: DagNode[] = [];
  for (const task of index.tasks.values()) {
    const { node } = task;
    const dagNode: DagNode = { jti: node.jti, iss: node.iss ?? '', iat: task.iat, pred: node.pred };
    if (node.wid !== undefined) dagNode.wid = node.wid;
    if (node.execAct !== undefined) dagNode.exec_act = node.execAct;
    if (task.policyRejected) dagNode.ect_ext = { pol_decision: 'rejected' };
    dagNodes.push(dagNode);
  }
  progress({ phase: 'checking', records });
  const dag = validateDag(dagNodes, { ...options.dag, clockSkewSeconds: skew });
  progress({ phase: 'checking', records });
  for (const v of dag.violations)
    findings.fail('dag', v.code, v.message, v.pred === undefined ? [v.jti] : [v.jti, v.pred]);
  details.set(
    'dag',
    `uniqueness, predecessors, temporal order, acyclicity, workflow, trust domain over ${dag.nodes} tokens and ${dag.edges} edges`,
  );
  const missing = new Map<string, AuditNode>();
  for (const m of dag.missing) {
    findings.partial(
      'completeness',
      AUDIT_CODE.danglingPred,
      `token ${m.jti} names predecessor ${m.pred}, which is in no source`,
      [m.jti, m.pred],
    );
    if (!missing.has(m.pred)) missing.set(m.pred, { jti: m.pred, pred: [], verdict: 'missing', findings: NO_FINDINGS });
  }

  details.set(
    'completeness',
    spanSummary === undefined
      ? `no spans in the sources: only predecessors checked (${missing.size} in no source)`
      : `${index.spans.size} span(s), ${tokens} token(s); ${spanSummary.passedThrough} span(s) passed their frontier through (no token by design); ${missing.size} predecessor(s) in no source`,
  );

  // Ledger inclusion.
  if (options.ledger === undefined) {
    skipped.add('ledger-inclusion');
    details.set('ledger-inclusion', 'no ledger given (--ledger)');
  } else {
    const o = ledgerOutcome as LedgerOutcome;
    if (o.readable) {
      for (const task of index.tasks.values()) {
        if (task.exportDigest === undefined) continue;
        const { jti } = task.node;
        const span = task.node.span;
        const spans = span === undefined ? [] : [{ traceId: span.traceId, spanId: span.spanId, name: span.name }];
        if (task.ledgerDigest === undefined)
          findings.fail(
            'ledger-inclusion',
            AUDIT_CODE.notInLedger,
            `token ${jti} (${task.node.execAct}) at ${task.at} is not in the ledger`,
            [jti],
            spans,
            task.at,
          );
        else if (task.ledgerDigest !== task.exportDigest)
          findings.fail(
            'ledger-inclusion',
            AUDIT_CODE.ledgerDiffers,
            `token ${jti} (${task.node.execAct}) as exported differs from ledger entry #${task.node.ledgerIndex}`,
            [jti],
            spans,
            `ledger:#${task.node.ledgerIndex}`,
          );
      }
    }
    details.set(
      'ledger-inclusion',
      `${o.entries} ledger entries${o.rootMatches ? ' hash to the root of its checkpoint' : ''}${o.signed ? ` (signature checked with the ${o.keySource === 'given' ? 'given' : "ledger's own"} note key)` : ''}; ${o.receiptsChecked} served receipt(s) verified`,
    );
  }
  if (options.sinceCheckpoint === undefined || options.ledger === undefined) {
    skipped.add('ledger-consistency');
    details.set('ledger-consistency', 'no saved checkpoint given (--since-checkpoint)');
  } else {
    details.set('ledger-consistency', "the ledger's first entries against the checkpoint the auditor saved");
  }

  // Revocation.
  if (options.revoked === undefined) {
    skipped.add('revocation');
    details.set('revocation', 'no revocation list given (--revoked)');
  } else {
    const list = options.revoked;
    for (const task of index.tasks.values()) {
      const { node } = task;
      const revoked = revocationOf(list, node.kid, node.iss, task.iat);
      if (revoked === undefined) continue;
      const span = node.span;
      findings.fail(
        'revocation',
        AUDIT_CODE.keyRevoked,
        `token ${node.jti} (${node.execAct}) was signed with key ${revoked.kid} at ${node.iat}, after its revocation at ${new Date(revoked.revokedAt * 1000).toISOString()}${revoked.reason === undefined ? '' : ` (${revoked.reason})`}`,
        [node.jti],
        span === undefined ? [] : [{ traceId: span.traceId, spanId: span.spanId, name: span.name }],
        task.at,
      );
    }
    details.set(
      'revocation',
      `${list.length} revoked key(s): tokens signed at or after the revocation time fail, their descendants are suspect`,
    );
  }

  return buildReport({
    index,
    findings,
    missing,
    details,
    skipped,
    sources,
    ledgerOutcome,
    options,
    dagNodes,
    progress: (done?: number, total?: number) =>
      progress({ phase: 'checking', records, ...(total === undefined ? {} : { done: done ?? 0, total }) }),
  });
}

function buildReport(parts: {
  index: TaskIndex;
  findings: Findings;
  missing: Map<string, AuditNode>;
  details: Map<AuditCheckName, string>;
  skipped: Set<AuditCheckName>;
  sources: AuditSource[];
  ledgerOutcome: LedgerOutcome | undefined;
  options: AuditOptions;
  /** The tasks as the DAG rules saw them: reused for the order, then let go. */
  dagNodes: DagNode[];
  /** Told every so many nodes, with how many of how many when known (the CLI paces garbage collection on it). */
  progress: (done?: number, total?: number) => void;
}): AuditReport {
  const { index, findings, missing, details, skipped, sources, ledgerOutcome, options, dagNodes, progress } = parts;
  const byJti = (jti: string): AuditNode | undefined => index.tasks.get(jti)?.node ?? missing.get(jti);
  // Grouped by check, in the checks' order (stable: each check's findings stay in the order made),
  // so the report does not depend on which worker answered first.
  findings.list.sort((a, b) => CHECK_ORDER.indexOf(a.check) - CHECK_ORDER.indexOf(b.check));
  // Worst severity each task is first named in, and every finding about it.
  const fault = new Map<string, 'failed' | 'partial'>();
  for (const [i, f] of findings.list.entries()) {
    const first = f.jtis[0];
    if (first !== undefined && fault.get(first) !== 'failed') fault.set(first, f.severity);
    for (const jti of new Set(f.jtis)) {
      const node = byJti(jti);
      if (node === undefined) continue;
      // Nodes share one empty list until a finding is about them.
      if (node.findings === NO_FINDINGS) node.findings = [];
      node.findings.push(i);
    }
  }

  // Causal order; tasks named but not found come first, as roots.
  for (const node of missing.values())
    dagNodes.push({ jti: node.jti, iss: '', iat: Number.NEGATIVE_INFINITY, pred: [] });
  // Ties (parallel work issued in the same second) are broken by jti, not by the order the sources
  // happened to list records in: the same tokens give the same report whatever their source.
  dagNodes.sort((a, b) => a.iat - b.iat || (a.jti < b.jti ? -1 : a.jti > b.jti ? 1 : 0));
  const ordered = topologicalOrder(dagNodes);
  dagNodes.length = 0;
  progress();

  const nodes: AuditNode[] = [];
  const edges: AuditReport['edges'] = [];
  const summary = {
    tokens: index.tasks.size,
    spans: index.spans.size,
    edges: 0,
    verified: 0,
    failed: 0,
    suspect: 0,
    partial: 0,
    missing: 0,
  };
  const signatureUnchecked = skipped.has('signature');
  progress();
  for (let position = 0; position < ordered.length; position++) {
    const { jti } = ordered[position] as DagNode;
    // Each ordering record is let go once placed, as are the index's span records.
    (ordered as (DagNode | undefined)[])[position] = undefined;
    if ((position & 65535) === 65535) progress(position, ordered.length);
    const node = byJti(jti) as AuditNode;
    const task = index.tasks.get(jti);
    if (task !== undefined) {
      const faulty = fault.get(jti);
      node.verdict =
        faulty === 'failed' || task.signature === 'failed'
          ? 'failed'
          : node.pred.some((p) => {
                const v = byJti(p)?.verdict;
                return v === 'failed' || v === 'suspect';
              })
            ? 'suspect'
            : faulty === 'partial' || signatureUnchecked || task.signature === 'pending'
              ? 'partial'
              : 'verified';
    }
    summary[node.verdict]++;
    for (const pred of node.pred) edges.push({ from: pred, to: jti });
    nodes.push(node);
  }
  summary.edges = edges.length;

  const checks: AuditCheck[] = CHECK_ORDER.map((name) => {
    const { failed, partial } = findings.counts(name);
    const status = failed > 0 ? 'fail' : skipped.has(name) ? 'skipped' : partial > 0 ? 'partial' : 'pass';
    return { name, status, findings: failed + partial, detail: details.get(name) ?? '' };
  });
  const verdict: AuditVerdict = findings.list.some((f) => f.severity === 'failed')
    ? 'failed'
    : findings.list.length > 0
      ? 'partial'
      : 'verified';
  const report: AuditReport = {
    schema: AUDIT_REPORT_SCHEMA,
    generatedAt: new Date().toISOString(),
    verdict,
    summary,
    sources,
    checks,
    nodes,
    edges,
    findings: findings.list,
  };
  if (options.ledger !== undefined && ledgerOutcome !== undefined) {
    const cp = ledgerOutcome.checkpoint;
    report.ledger = {
      kind: options.ledger.kind,
      location: options.ledger.location,
      keySource: ledgerOutcome.signed ? ledgerOutcome.keySource : 'none',
      rootMatches: ledgerOutcome.rootMatches,
      receiptsChecked: ledgerOutcome.receiptsChecked,
      ...(cp === undefined ? {} : { origin: cp.origin, size: cp.size, root: cp.root.toString('base64') }),
      ...(ledgerOutcome.note === undefined ? {} : { checkpoint: ledgerOutcome.note }),
    };
  }
  return report;
}

function auditSpanOf(span: ReturnType<typeof spanOfTask> & object, jaegerUi: string | undefined): AuditSpan {
  const out: AuditSpan = {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    kind: span.kind.toLowerCase(),
    status: span.status.toLowerCase(),
    start: Number.isFinite(span.startMs) ? new Date(span.startMs).toISOString() : '',
    end: Number.isFinite(span.endMs) ? new Date(span.endMs).toISOString() : '',
  };
  if (span.parentSpanId !== undefined) out.parentSpanId = span.parentSpanId;
  if (span.service !== undefined) out.service = span.service;
  if (jaegerUi !== undefined) out.url = `${jaegerUi.replace(/\/+$/, '')}/trace/${span.traceId}?uiFind=${span.spanId}`;
  return out;
}
