// The main demo: the ECT paper's financial workflow as six real services on 127.0.0.1 (an
// orchestrator and five agents), instrumented only by `node --import otel-ect/register`. It runs the
// workflow once, stops the services (SIGTERM: everything is flushed), and has `ect dag verify` check
// the exported tokens as a DAG. Exits with the verifier's exit code (0 valid, 3 partial, 1 invalid).
//
//   npm run build && node examples/agent-workflow/run.mjs [--runs N] [--dir DIR] [--otlp URL]
//
// --otlp http://127.0.0.1:4318 also sends spans and token log records to that OTLP/HTTP endpoint
// (a Collector); the local files are written either way and are what is verified here.
//
// Files go to .ect/demo/ (removed and recreated on every run) unless --dir is given.
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import {
  AGENT_ACTIONS,
  collectExport,
  ectDagVerify,
  REPO_ROOT,
  runWorkflows,
  startWorkflow,
  stopWorkflow,
} from './harness.mjs';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, dir: { type: 'string' }, otlp: { type: 'string' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('--runs must be a whole number ≥ 1');
  process.exit(2);
}
const dir = values.dir ?? join(REPO_ROOT, '.ect/demo');
const rel = (p) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p) || '.');
rmSync(dir, { recursive: true, force: true });

console.log("otel-ect demo: the ECT paper's financial workflow over real HTTP");
console.log('  orchestrator → fetch_data → (analyze_risk ∥ check_credit) → verify_compliance → execute_trade');
console.log('  six Node processes, each run as `node --import otel-ect/register …` — no ECT code in any service');
console.log(`  files: ${rel(dir)}/  (home/jwks: public keys, export: OTLP JSON lines, logs: process output)\n`);

const started = Date.now();
const workflow = await startWorkflow({
  dir,
  ...(values.otlp === undefined ? {} : { exporters: 'otlp', otlpEndpoint: values.otlp }),
});
let summaries;
try {
  console.log(
    `started ${workflow.services.length} services in ${Date.now() - started} ms: ${workflow.services.map((s) => `${s.name}:${s.port}`).join(', ')}`,
  );
  summaries = await runWorkflows(workflow, runs);
  for (const [i, s] of summaries.entries()) {
    const trade = s.steps.execute_trade;
    console.log(
      `run ${i + 1}: trace ${s.traceId}, ${s.ms} ms, trade ${trade.orderId} ${trade.filled} ${trade.symbol} @ ${trade.price}`,
    );
  }
} finally {
  const stopping = Date.now();
  await stopWorkflow(workflow);
  console.log(
    `stopped all services with SIGTERM in ${Date.now() - stopping} ms (each flushes its spans and tokens first)`,
  );
}

const exported = collectExport(workflow);
console.log(
  `exported: ${exported.spans.length} spans, ${exported.tokenRecords.length} token log records, ${exported.tokens.length} distinct tokens, ${exported.jwksFiles.length} JWK Sets`,
);
console.log(
  `  in ${rel(workflow.exportDir)}/: ${exported.files.length} files, spans-<service>-<pid>.jsonl and tokens-<service>-<pid>.jsonl per process\n`,
);

// The paper's view: the five agent tasks, ordered by reachability over all `pred` edges.
const claims = exported.tokens.map((t) => decodeJwt(t));
const byJti = new Map(claims.map((c) => [c.jti, c]));
const reaches = (from, to) => {
  const seen = new Set();
  const stack = [to.jti];
  while (stack.length > 0) {
    const jti = stack.pop();
    for (const p of byJti.get(jti)?.pred ?? []) {
      if (p === from.jti) return true;
      if (!seen.has(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return false;
};
for (const s of summaries) {
  const wid = `${s.traceId.slice(0, 8)}-${s.traceId.slice(8, 12)}-${s.traceId.slice(12, 16)}-${s.traceId.slice(16, 20)}-${s.traceId.slice(20)}`;
  const agent = Object.fromEntries(
    AGENT_ACTIONS.map((a) => [a, claims.find((c) => c.wid === wid && c.exec_act === a)]),
  );
  if (AGENT_ACTIONS.some((a) => agent[a] === undefined)) {
    console.log(`workflow ${wid}: some agent tokens are missing from the export`);
    continue;
  }
  const checks = [
    ['fetch_data → analyze_risk', reaches(agent.fetch_data, agent.analyze_risk)],
    ['fetch_data → check_credit', reaches(agent.fetch_data, agent.check_credit)],
    [
      'analyze_risk ∥ check_credit',
      !reaches(agent.analyze_risk, agent.check_credit) && !reaches(agent.check_credit, agent.analyze_risk),
    ],
    ['analyze_risk → verify_compliance', reaches(agent.analyze_risk, agent.verify_compliance)],
    ['check_credit → verify_compliance', reaches(agent.check_credit, agent.verify_compliance)],
    ['verify_compliance → execute_trade', reaches(agent.verify_compliance, agent.execute_trade)],
  ];
  console.log(`workflow ${wid} (paper's figure, by reachability over all pred edges):`);
  for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
}

const verify = ectDagVerify({
  files: exported.files,
  jwksDir: workflow.jwksDir,
  scratchDir: join(dir, 'verify'),
  tokens: exported.tokens,
  jwks: exported.jwks,
});
// The same command, as one would type it (the shell expands the glob to the files passed above).
if (verify.fallback === undefined)
  console.log(`\n$ ect dag verify ${rel(workflow.exportDir)}/*.jsonl --jwks ${rel(workflow.jwksDir)}`);
else
  console.log(
    `\n(note: ${verify.fallback})\n$ ect ${verify.args.map((a) => (a.startsWith('/') ? rel(a) : a)).join(' ')}`,
  );
process.stdout.write(verify.stdout);
process.stderr.write(verify.stderr);
console.log(`\nect dag verify exit code: ${verify.status} (0 valid, 3 partial, 1 invalid)`);
process.exitCode = verify.status ?? 1;
