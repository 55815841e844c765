// The demo: the ECT paper's financial workflow as six plain Node services on 127.0.0.1 (an
// orchestrator and five agents), each started as `node --import otel-ect/register …` with no ECT code
// of its own. It runs the workflow once, stops the services (on SIGTERM each flushes its spans and
// tokens), checks the paper's figure in the exported tokens and has `ect dag verify` check the whole
// DAG. Exits with the verifier's exit code (0 valid, 3 partial, 1 invalid), or 1 if the figure is wrong.
//
//   npm run build && node examples/agent-workflow/run.mjs [--otlp http://127.0.0.1:4318]
//
// Files go to .ect/demo/ (recreated on every run): home/ holds each service's development key (the
// public ones in home/jwks/), the embedded audit ledger all six share (home/ledger/, where each
// service's tokens go through its spool, home/spool/), export/ the OTLP JSON lines files, logs/
// what the services printed. The demo then checks that every exported token is in the ledger with a
// receipt that verifies with only the ledger's public note key, and ends with `ect audit` over the
// export and the ledger, which writes the run's HTML report (report.html).
// --otlp also sends everything to an OTLP/HTTP endpoint (a Collector); the local files are what is
// verified here.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readTokenFiles } from 'otel-ect/audit';
import { FileLedger, NoteVerifier, verifyReceipt } from 'otel-ect/ledger';
import { decodeUnverified } from 'otel-ect/token';

const ACTIONS = ['fetch_data', 'analyze_risk', 'check_credit', 'verify_compliance', 'execute_trade'];
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, '.ect/demo');
const exportDir = join(dir, 'export');
const jwksDir = join(dir, 'home/jwks');
const ledgerDir = join(dir, 'home/ledger');
const { otlp } = parseArgs({ options: { otlp: { type: 'string' } } }).values;
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'logs'), { recursive: true });

// The bridge is configured by environment only.
const env = {
  ...process.env,
  ECT_HOME: join(dir, 'home'),
  ECT_FILE_EXPORT_DIR: exportDir,
  OTEL_TRACES_EXPORTER: otlp ? 'otlp' : 'none',
  OTEL_LOGS_EXPORTER: otlp ? 'otlp' : 'none',
  OTEL_METRICS_EXPORTER: 'none',
  ...(otlp ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } : {}),
};
const services = [];

/** Starts one service on a free port (its stderr to logs/<name>.log); resolves with its URL once it listens. */
function start(name, script, serviceEnv = {}) {
  const log = join(dir, 'logs', `${name}.log`);
  const logFd = openSync(log, 'w');
  const child = spawn(
    process.execPath,
    ['--import', 'otel-ect/register', join(root, 'examples/agent-workflow', script)],
    {
      cwd: root,
      env: { ...env, ...serviceEnv, OTEL_SERVICE_NAME: name, PORT: '0' },
      stdio: ['ignore', 'pipe', logFd],
    },
  );
  closeSync(logFd); // the child has its own copy
  services.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const url = /listening on (http:\S+)/.exec(output)?.[1];
      if (url) resolve(url);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (code ${code}) before it listened; see ${log}`)));
    setTimeout(() => reject(new Error(`${name} not listening after 60 s`)), 60_000).unref();
  });
}

console.log("otel-ect demo: the ECT paper's financial workflow over real HTTP");
console.log('  orchestrator → fetch_data → (analyze_risk ∥ check_credit) → verify_compliance → execute_trade');
console.log('  six Node processes, each run as `node --import otel-ect/register …` — no ECT code in any service\n');
try {
  const agents = Object.fromEntries(
    await Promise.all(
      ACTIONS.map(async (a) => [a, await start(`agent-${a.replaceAll('_', '-')}`, 'agent.mjs', { AGENT_ACTION: a })]),
    ),
  );
  const orchestrator = await start('orchestrator', 'orchestrator.mjs', { AGENT_URLS: JSON.stringify(agents) });
  console.log(`started ${services.length} services; POST ${orchestrator}/run`);
  const response = await fetch(`${orchestrator}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ symbol: 'ACME' }),
  });
  const run = await response.json();
  if (!response.ok) throw new Error(`the workflow failed: ${JSON.stringify(run)}`);
  const trade = run.steps.execute_trade;
  console.log(
    `trace ${run.traceId}: ${run.ms} ms, trade ${trade.orderId} ${trade.filled} ${trade.symbol} @ ${trade.price}`,
  );
} finally {
  // SIGTERM: the bridge flushes spans and tokens before the process exits.
  await Promise.all(
    services.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit', { signal: AbortSignal.timeout(10_000) }).catch(() => child.kill('SIGKILL'));
    }),
  );
  console.log(`stopped ${services.length} services with SIGTERM`);
}

// The paper's figure: among the five agents' tokens, who precedes whom over the `pred` edges.
const files = readdirSync(exportDir).map((file) => join(exportDir, file));
const claims = (await readTokenFiles(files)).map(({ token }) => decodeUnverified(token).payload);
console.log(`\nexported ${claims.length} tokens into ${files.length} files in ${relative(process.cwd(), exportDir)}/`);
const byJti = new Map(claims.map((c) => [c.jti, c]));
function precedes(a, b) {
  const seen = new Set();
  const stack = [...b.pred];
  while (stack.length > 0) {
    const jti = stack.pop();
    if (jti === a.jti) return true;
    if (seen.has(jti)) continue;
    seen.add(jti);
    stack.push(...(byJti.get(jti)?.pred ?? []));
  }
  return false;
}
const task = Object.fromEntries(ACTIONS.map((a) => [a, claims.find((c) => c.exec_act === a)]));
if (ACTIONS.some((a) => task[a] === undefined)) throw new Error('some agent tokens are missing from the export');
const checks = [
  ['fetch_data → analyze_risk', precedes(task.fetch_data, task.analyze_risk)],
  ['fetch_data → check_credit', precedes(task.fetch_data, task.check_credit)],
  [
    'analyze_risk ∥ check_credit',
    !precedes(task.analyze_risk, task.check_credit) && !precedes(task.check_credit, task.analyze_risk),
  ],
  ['analyze_risk → verify_compliance', precedes(task.analyze_risk, task.verify_compliance)],
  ['check_credit → verify_compliance', precedes(task.check_credit, task.verify_compliance)],
  ['verify_compliance → execute_trade', precedes(task.verify_compliance, task.execute_trade)],
];
console.log("the paper's figure, by reachability over all pred edges:");
for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);

// Every signature, every span against its token, and the DAG rules: the `ect` command.
console.log(
  `\n$ ect dag verify ${relative(process.cwd(), exportDir)}/*.jsonl --jwks ${relative(process.cwd(), jwksDir)}`,
);
const ect = join(root, 'dist/cli/main.js');
const { status } = spawnSync(process.execPath, [ect, 'dag', 'verify', ...files, '--jwks', jwksDir], {
  stdio: 'inherit',
});
console.log(`\nect dag verify exit code: ${status} (0 valid, 3 partial, 1 invalid)`);

// The ledger (ECT_LEDGER defaults to file:$ECT_HOME/ledger): every token, with a receipt that
// verifies offline with only the ledger's public note key.
const ledger = FileLedger.openSync({ dir: ledgerDir, readOnly: true });
const noteKey = NoteVerifier.fromString(ledger.verifierKey);
const unlogged = claims.filter((c) => {
  const [index] = ledger.indexesOf(c.jti);
  if (index === undefined) return true;
  verifyReceipt(ledger.receipt(index), noteKey); // throws if the receipt does not verify
  return false;
});
ledger.close();
console.log(
  `\nledger ${relative(process.cwd(), ledgerDir)}: ${claims.length - unlogged.length}/${claims.length} exported tokens logged, every receipt verified`,
);
const trade = task.execute_trade;
const receiptFile = join(dir, 'receipt.json');
const receipt = spawnSync(process.execPath, [ect, 'ledger', 'get', trade.jti, '--receipt', '--dir', ledgerDir], {
  encoding: 'utf8',
});
writeFileSync(receiptFile, receipt.stdout);
const keyFile = join(ledgerDir, 'note.pub');
console.log('check a receipt yourself (here: the execute_trade task), offline, with only the public note key:');
console.log(
  `$ ect ledger get ${trade.jti} --receipt --dir ${relative(process.cwd(), ledgerDir)} > ${relative(process.cwd(), receiptFile)}`,
);
console.log(
  `$ ect ledger verify-receipt ${relative(process.cwd(), receiptFile)} --key ${relative(process.cwd(), keyFile)}`,
);
const checked = spawnSync(process.execPath, [ect, 'ledger', 'verify-receipt', receiptFile, '--key', keyFile], {
  stdio: 'inherit',
});
console.log(`$ ect ledger verify --dir ${relative(process.cwd(), ledgerDir)}`);
const whole = spawnSync(process.execPath, [ect, 'ledger', 'verify', '--dir', ledgerDir], { stdio: 'inherit' });
const ledgerOk = unlogged.length === 0 && receipt.status === 0 && checked.status === 0 && whole.status === 0;
if (!ledgerOk) console.log(`FAIL: ${unlogged.length} token(s) missing from the ledger, or a receipt did not verify`);

// The auditor's view: the export and the ledger together, every check, and the picture.
const reportFile = join(dir, 'report.html');
const rel = (path) => relative(process.cwd(), path);
console.log(
  `\n$ ect audit ${rel(exportDir)}/*.jsonl --ledger file:${rel(ledgerDir)} --jwks ${rel(jwksDir)} --html ${rel(reportFile)}`,
);
const audit = spawnSync(
  process.execPath,
  [ect, 'audit', ...files, '--ledger', `file:${ledgerDir}`, '--jwks', jwksDir, '--html', reportFile],
  { encoding: 'utf8' },
);
// The per-file source lines are long; the verdict and the checks are what matter here.
for (const line of audit.stdout.split('\n')) if (!line.startsWith('source: ')) console.log(line);
process.stderr.write(audit.stderr);
console.log(`ect audit exit code: ${audit.status}; the HTML report of this run: ${reportFile}`);
process.exitCode = checks.every(([, ok]) => ok) && ledgerOk && audit.status === 0 ? (status ?? 1) : 1;
