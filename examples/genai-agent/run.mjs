// GenAI demo: a planner agent calling three tools, recorded with OpenTelemetry's GenAI semantic
// conventions only (no ECT code in the service). Starts the service as
// `node --import otel-ect/register agent.mjs`, asks it one question, stops it (SIGTERM: it flushes
// its spans and tokens), prints every token's exec_act and inp_hash/out_hash next to a hash
// recomputed here from the span's content attribute, and has `ect dag verify` check the DAG. Exits
// with the verifier's exit code.
//
//   npm run build && node examples/genai-agent/run.mjs [--otlp http://127.0.0.1:4318]
//
// Files go to .ect/genai-demo/ (recreated on every run): home/, export/ and logs/ as in
// ../agent-workflow.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readOtlpFiles } from 'otel-ect/audit';
import { decodeUnverified } from 'otel-ect/token';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, '.ect/genai-demo');
const exportDir = join(dir, 'export');
const jwksDir = join(dir, 'home/jwks');
const { otlp } = parseArgs({ options: { otlp: { type: 'string' } } }).values;
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'logs'), { recursive: true });

console.log('otel-ect GenAI demo: a planner agent with three tool calls, GenAI semantic conventions only');
console.log('  invoke_agent planner → (get_weather ∥ get_exchange_rate) → book_hotel\n');

// The bridge is configured by environment only; the service's stderr goes to logs/genai-agent.log.
const logFd = openSync(join(dir, 'logs/genai-agent.log'), 'w');
const agent = spawn(process.execPath, ['--import', 'otel-ect/register', join(root, 'examples/genai-agent/agent.mjs')], {
  cwd: root,
  env: {
    ...process.env,
    OTEL_SERVICE_NAME: 'genai-agent',
    PORT: '0',
    ECT_HOME: join(dir, 'home'),
    ECT_FILE_EXPORT_DIR: exportDir,
    OTEL_TRACES_EXPORTER: otlp ? 'otlp' : 'none',
    OTEL_LOGS_EXPORTER: otlp ? 'otlp' : 'none',
    OTEL_METRICS_EXPORTER: 'none',
    ...(otlp ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } : {}),
  },
  stdio: ['ignore', 'pipe', logFd],
});
closeSync(logFd); // the child has its own copy
let reply;
try {
  const url = await new Promise((resolve, reject) => {
    let output = '';
    agent.stdout.on('data', (chunk) => {
      output += chunk;
      const found = /listening on (http:\S+)/.exec(output)?.[1];
      if (found) resolve(found);
    });
    agent.once('exit', (code) => reject(new Error(`the agent exited (code ${code}); see ${dir}/logs`)));
    setTimeout(() => reject(new Error('the agent is not listening after 60 s')), 60_000).unref();
  });
  const response = await fetch(`${url}/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ question: 'Weather in Paris this weekend? Book me a hotel there.', city: 'Paris' }),
  });
  reply = await response.json();
  if (!response.ok) throw new Error(`the agent failed: ${JSON.stringify(reply)}`);
} finally {
  // SIGTERM: the bridge flushes spans and tokens before the process exits.
  if (agent.exitCode === null && agent.signalCode === null) {
    agent.kill('SIGTERM');
    await once(agent, 'exit', { signal: AbortSignal.timeout(10_000) }).catch(() => agent.kill('SIGKILL'));
  }
}
console.log(`answer: ${reply.answer}\n`);

// Each span carries its token (`ect.token`) beside the content attributes the hashes commit to.
const files = readdirSync(exportDir).map((file) => join(exportDir, file));
const { spans } = await readOtlpFiles(files);
const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('base64url');
const mark = (hash, content) =>
  hash === undefined ? '-' : `${hash} ${content === undefined ? '' : sha256(content) === hash ? '=' : '≠ MISMATCH'}`;
console.log(`${spans.length} tokens (exec_act, jti, inp_hash / out_hash; "=": sha256 of the span's content attribute)`);
for (const { attributes: a } of spans.sort((x, y) => Number(x.endTimeUnixNano - y.endTimeUnixNano))) {
  const claims = decodeUnverified(a['ect.token']).payload;
  const input = a['gen_ai.tool.call.arguments'] ?? a['gen_ai.input.messages'];
  const output = a['gen_ai.tool.call.result'] ?? a['gen_ai.output.messages'];
  console.log(`  ${claims.exec_act.padEnd(30)} ${claims.jti.slice(0, 8)}  in  ${mark(claims.inp_hash, input)}`);
  console.log(`  ${''.padEnd(30)} ${''.padEnd(8)}  out ${mark(claims.out_hash, output)}`);
}

// Every signature, every span against its token, and the DAG rules: the `ect` command.
console.log(
  `\n$ ect dag verify ${relative(process.cwd(), exportDir)}/*.jsonl --jwks ${relative(process.cwd(), jwksDir)}`,
);
const ect = join(root, 'dist/cli/main.js');
const { status } = spawnSync(process.execPath, [ect, 'dag', 'verify', ...files, '--jwks', jwksDir], {
  stdio: 'inherit',
});
console.log(`\nect dag verify exit code: ${status} (0 valid, 3 partial, 1 invalid)`);
process.exitCode = status ?? 1;
