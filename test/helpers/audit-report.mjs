// Synthetic `AuditReport`s shaped like real audits, for the report renderers' tests and benchmark
// (plain ESM so test/bench/*.mjs can import it too). Deterministic for a given seed.
//
// Shape: many workflow runs (one `wid` and one trace each, 8–60 tasks). A run is a chain of stages:
// an orchestrator task fans out to 2–6 agent tasks, which fan in to the next orchestrator task;
// some agent tasks also take an earlier stage's output (a long edge). Six issuers (the example
// workflow's orchestrator and five agents). Standing: a few tasks fail a check (bad signature,
// binding mismatch, reordered times, key revoked) and their descendants become suspect; a few
// tasks name a predecessor that was never found (a `missing` node, the successor `partial`);
// a few tokens have no span (`partial`). Every such task has a finding naming it.

/** @typedef {import('../../src/audit/report/model.js').AuditReport} AuditReport */
/** @typedef {import('../../src/audit/report/model.js').AuditNode} AuditNode */
/** @typedef {import('../../src/audit/report/model.js').AuditFinding} AuditFinding */
/** @typedef {import('../../src/audit/report/model.js').AuditCheck} AuditCheck */
/** @typedef {import('../../src/audit/report/model.js').AuditCheckName} AuditCheckName */

/**
 * @typedef {object} SyntheticOptions
 * @property {number} nodes Tasks with a token (missing predecessors come on top).
 * @property {number} [seed] PRNG seed (default 1).
 * @property {number} [failedEvery] One task in this many fails a check (default 97; 0: none).
 * @property {number} [missingEvery] One task in this many names a predecessor never found (default 151; 0: none).
 * @property {number} [spanlessEvery] One token in this many has no span (default 211; 0: none).
 * @property {number} [maxRun] Largest workflow run, in tasks (default 60; runs are 8..maxRun tasks).
 * @property {string} [jaegerUi] When given, spans carry `url` into this Jaeger UI.
 * @property {string} [hostile] Text put into exec_act, span name, issuer path and finding messages of some tasks.
 */

const SERVICES = [
  ['orchestrator', ['plan_workflow', 'aggregate_results', 'dispatch_batch']],
  ['agent-fetch-data', ['fetch_data']],
  ['agent-analyze-risk', ['analyze_risk']],
  ['agent-check-credit', ['check_credit']],
  ['agent-verify-compliance', ['verify_compliance']],
  ['agent-execute-trade', ['execute_trade']],
];

/** mulberry32: a small, fast, seedable PRNG (tests need repeatable shapes, not randomness quality). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * @param {() => number} rand
 * @param {number} chars
 */
function hex(rand, chars) {
  let out = '';
  while (out.length < chars)
    out += Math.floor(rand() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, chars);
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** A SHA-256-sized base64url value (43 chars), as `inp_hash`/`out_hash` carry. */
function hashValue(rand) {
  let out = '';
  for (let i = 0; i < 43; i++) out += B64URL[Math.floor(rand() * 64)];
  return out;
}

function uuid(rand) {
  const h = hex(rand, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const CHECKS = /** @type {AuditCheckName[]} */ ([
  'signature',
  'claims',
  'dag',
  'binding',
  'completeness',
  'ledger-inclusion',
  'ledger-consistency',
  'revocation',
]);

const FAILURES = /** @type {const} */ ([
  ['signature', 'ECT_BAD_SIGNATURE', 'signature does not verify with the issuer key'],
  ['binding', 'ECT_AUDIT_BINDING_MISMATCH', 'span name differs from the token binding'],
  ['dag', 'ECT_DAG_TIME_ORDER', 'issued before its predecessor'],
  ['revocation', 'ECT_AUDIT_KEY_REVOKED', 'signed by a key revoked before the token was issued'],
]);

/**
 * A synthetic audit report of `nodes` tasks (see the file comment for its shape).
 * @param {SyntheticOptions} options
 * @returns {AuditReport}
 */
export function syntheticAuditReport(options) {
  const rand = prng(options.seed ?? 1);
  const failedEvery = options.failedEvery ?? 97;
  const missingEvery = options.missingEvery ?? 151;
  const spanlessEvery = options.spanlessEvery ?? 211;
  const hostile = options.hostile;
  const maxRun = Math.max(8, options.maxRun ?? 60);
  /** @type {AuditNode[]} */
  const nodes = [];
  /** @type {{ from: string; to: string }[]} */
  const edges = [];
  /** @type {AuditFinding[]} */
  const findings = [];
  /** @type {Map<string, AuditNode>} */
  const byJti = new Map();
  const t0 = Date.parse('2026-11-28T09:00:00.000Z');
  let clock = 0;
  let serial = 0;

  /** @param {AuditFinding} finding @param {AuditNode[]} about */
  const addFinding = (finding, about) => {
    const index = findings.push(finding) - 1;
    for (const node of about) node.findings.push(index);
  };

  const makeNode = (service, action, pred, wid, traceId, parentSpanId) => {
    serial++;
    clock += 5 + Math.floor(rand() * 40);
    const start = new Date(t0 + clock);
    const end = new Date(t0 + clock + 3 + Math.floor(rand() * 30));
    const spanId = hex(rand, 16);
    const hostileHere = hostile !== undefined && serial % 7 === 3;
    /** @type {AuditNode} */
    const node = {
      jti: uuid(rand),
      iss: `spiffe://example.org/ns/prod/sa/${service}${hostileHere ? hostile : ''}`,
      wid,
      execAct: hostileHere ? `${action}${hostile}` : action,
      iat: start.toISOString(),
      exp: new Date(start.getTime() + 300_000).toISOString(),
      pred,
      inpHash: hashValue(rand),
      outHash: hashValue(rand),
      kid: `${service}-2026-11`,
      verdict: 'verified',
      span: {
        traceId,
        spanId,
        ...(parentSpanId ? { parentSpanId } : {}),
        name: hostileHere ? `POST /tasks/${action}${hostile}` : `POST /tasks/${action}`,
        kind: 'server',
        status: 'ok',
        service,
        start: start.toISOString(),
        end: end.toISOString(),
        ...(options.jaegerUi ? { url: `${options.jaegerUi}/trace/${traceId}?uiFind=${spanId}` } : {}),
      },
      ledgerIndex: serial - 1,
      findings: [],
    };
    nodes.push(node);
    byJti.set(node.jti, node);
    for (const p of pred) edges.push({ from: p, to: node.jti });
    return node;
  };

  let made = 0;
  while (made < options.nodes) {
    const size = Math.min(options.nodes - made, 8 + Math.floor(rand() * (maxRun - 7)));
    const wid = uuid(rand);
    const traceId = hex(rand, 32);
    let inRun = 0;
    /** @type {AuditNode} */
    let head = makeNode('orchestrator', 'plan_workflow', [], wid, traceId, undefined);
    inRun++;
    /** @type {AuditNode[]} */
    let earlier = [];
    while (inRun < size) {
      const fan = Math.min(size - inRun, 2 + Math.floor(rand() * 5));
      /** @type {AuditNode[]} */
      const stage = [];
      for (let i = 0; i < fan && inRun < size; i++) {
        const [service, actions] = SERVICES[1 + Math.floor(rand() * (SERVICES.length - 1))];
        const pred = [head.jti];
        // A long edge: this task also takes an earlier stage's output.
        if (earlier.length > 0 && rand() < 0.15) pred.push(earlier[Math.floor(rand() * earlier.length)].jti);
        stage.push(makeNode(service, actions[0], pred, wid, traceId, head.span?.spanId));
        inRun++;
      }
      if (inRun >= size) break;
      earlier = stage;
      const action = rand() < 0.5 ? 'aggregate_results' : 'dispatch_batch';
      head = makeNode(
        'orchestrator',
        action,
        stage.map((n) => n.jti),
        wid,
        traceId,
        stage[0]?.span?.spanId,
      );
      inRun++;
    }
    made += inRun;
  }

  // Failures, then suspicion down the DAG from each failed task.
  /** @type {Map<string, string[]>} */
  const successors = new Map();
  for (const e of edges) {
    const list = successors.get(e.from);
    if (list) list.push(e.to);
    else successors.set(e.from, [e.to]);
  }
  let failureKind = 0;
  if (failedEvery > 0) {
    for (let i = failedEvery - 1; i < nodes.length; i += failedEvery) {
      const node = nodes[i];
      const [check, code, message] = FAILURES[failureKind++ % FAILURES.length];
      node.verdict = 'failed';
      if (check === 'binding' && node.span) node.span.status = 'error';
      const involved = [node];
      if (check === 'dag' && node.pred[0]) involved.push(/** @type {AuditNode} */ (byJti.get(node.pred[0])));
      addFinding(
        {
          check,
          severity: 'failed',
          code,
          message: `${node.execAct}: ${message}${hostile ?? ''}`,
          jtis: involved.map((n) => n.jti),
          spans: node.span ? [{ traceId: node.span.traceId, spanId: node.span.spanId, name: node.span.name }] : [],
          at: `export/spans.jsonl:${i + 1}`,
        },
        [node],
      );
    }
    const queue = nodes.filter((n) => n.verdict === 'failed').map((n) => n.jti);
    while (queue.length > 0) {
      const from = /** @type {string} */ (queue.pop());
      for (const to of successors.get(from) ?? []) {
        const node = /** @type {AuditNode} */ (byJti.get(to));
        if (node.verdict === 'verified') {
          node.verdict = 'suspect';
          queue.push(to);
        }
      }
    }
  }

  // Predecessors never found: a `missing` node each, placed before its successor.
  /** @type {Map<string, AuditNode>} */
  const missingBefore = new Map();
  if (missingEvery > 0) {
    for (let i = missingEvery - 1; i < nodes.length; i += missingEvery) {
      const node = nodes[i];
      const ghost = { jti: uuid(rand), pred: [], verdict: /** @type {const} */ ('missing'), findings: [] };
      node.pred.push(ghost.jti);
      edges.push({ from: ghost.jti, to: node.jti });
      if (node.verdict === 'verified') node.verdict = 'partial';
      missingBefore.set(node.jti, ghost);
      addFinding(
        {
          check: 'completeness',
          severity: 'partial',
          code: 'ECT_AUDIT_DANGLING_PRED',
          message: `predecessor ${ghost.jti} of ${node.execAct} was not found in any source`,
          jtis: [node.jti, ghost.jti],
          spans: [],
        },
        [node, ghost],
      );
    }
  }
  if (spanlessEvery > 0) {
    for (let i = spanlessEvery - 1; i < nodes.length; i += spanlessEvery) {
      const node = nodes[i];
      if (node.verdict !== 'verified') continue;
      delete node.span;
      node.verdict = 'partial';
      addFinding(
        {
          check: 'completeness',
          severity: 'partial',
          code: 'ECT_AUDIT_TOKEN_WITHOUT_SPAN',
          message: `token of ${node.execAct} has no exported span`,
          jtis: [node.jti],
          spans: [],
          at: `ledger:#${node.ledgerIndex}`,
        },
        [node],
      );
    }
  }

  /** @type {AuditNode[]} */
  const ordered = [];
  for (const node of nodes) {
    const ghost = missingBefore.get(node.jti);
    if (ghost) ordered.push(ghost);
    ordered.push(node);
  }
  // Findings were added in two passes; node.findings stays sorted for readers.
  for (const node of ordered) node.findings.sort((a, b) => a - b);

  const count = (verdict) => ordered.filter((n) => n.verdict === verdict).length;
  /** @type {AuditCheck[]} */
  const checks = CHECKS.map((name) => {
    const mine = findings.filter((f) => f.check === name);
    const status = mine.some((f) => f.severity === 'failed') ? 'fail' : mine.length > 0 ? 'partial' : 'pass';
    return { name, status, findings: mine.length, detail: `${name} checked over ${nodes.length} tokens` };
  });
  const failed = count('failed');
  const partial = count('partial') + count('missing');
  return {
    schema: 'otel-ect/audit-report/v1',
    generatedAt: '2026-11-28T10:00:00.000Z',
    verdict: failed > 0 ? 'failed' : partial > 0 ? 'partial' : 'verified',
    summary: {
      tokens: nodes.length,
      spans: nodes.filter((n) => n.span).length,
      edges: edges.length,
      verified: count('verified'),
      failed,
      suspect: count('suspect'),
      partial: count('partial'),
      missing: count('missing'),
    },
    sources: [
      { kind: 'otlp-file', location: 'export/spans.jsonl', tokens: 0, spans: nodes.length },
      { kind: 'ledger-file', location: 'ledger/', tokens: nodes.length, spans: 0 },
    ],
    checks,
    nodes: ordered,
    edges,
    findings,
  };
}

/**
 * An audit of one workflow run repeated `runs` times (the same DAG shape each time, fresh `jti`s,
 * workflow ids, trace ids): what auditing a service that runs the same workflow all day looks like.
 * @param {{ runs: number; runSize: number; seed?: number; jaegerUi?: string }} options
 * @returns {AuditReport}
 */
export function repeatedRunsReport(options) {
  const one = syntheticAuditReport({
    nodes: options.runSize,
    maxRun: Math.max(8, options.runSize),
    seed: options.seed ?? 1,
    failedEvery: 0,
    missingEvery: 0,
    spanlessEvery: 0,
    ...(options.jaegerUi ? { jaegerUi: options.jaegerUi } : {}),
  });
  /** @type {AuditReport} */
  const report = { ...one, nodes: [], edges: [], findings: [] };
  for (let r = 0; r < options.runs; r++) {
    const suffix = r.toString(16).padStart(12, '0');
    /** @param {string} jti */
    const rename = (jti) => `${jti.slice(0, 24)}${suffix}`;
    const traceId = `${suffix}${'0'.repeat(20)}`;
    for (const node of one.nodes) {
      report.nodes.push({
        ...node,
        jti: rename(node.jti),
        pred: node.pred.map(rename),
        wid: node.wid ? rename(node.wid) : undefined,
        ...(node.span ? { span: { ...node.span, traceId } } : {}),
        findings: [],
      });
    }
    for (const edge of one.edges) report.edges.push({ from: rename(edge.from), to: rename(edge.to) });
  }
  const count = (verdict) => report.nodes.filter((n) => n.verdict === verdict).length;
  report.summary = {
    tokens: report.nodes.length,
    spans: report.nodes.length,
    edges: report.edges.length,
    verified: count('verified'),
    failed: 0,
    suspect: 0,
    partial: 0,
    missing: 0,
  };
  report.verdict = 'verified';
  report.checks = one.checks.map((c) => ({ ...c, status: 'pass', findings: 0 }));
  return report;
}
