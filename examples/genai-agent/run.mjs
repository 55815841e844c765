// GenAI demo: a planner agent calling three tools, recorded with OpenTelemetry's GenAI semantic
// conventions only (no ECT code in the service). Runs one request, stops the service (SIGTERM),
// prints every token's exec_act and inp_hash/out_hash next to a hash recomputed here from the span's
// content attributes, and has `ect dag verify` check the DAG. Exits with the verifier's exit code.
//
//   npm run build && node examples/genai-agent/run.mjs [--dir DIR] [--otlp URL]
//
// --otlp http://127.0.0.1:4318 also sends spans and token log records to that OTLP/HTTP endpoint
// (a Collector); the local files are written either way and are what is verified here.
//
// Files go to .ect/genai-demo/ (removed and recreated on every run) unless --dir is given.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import { ectDagVerify, REPO_ROOT } from '../agent-workflow/harness.mjs';
import { collectExport, invokeAgent, startGenAiAgent, stopGenAiAgent } from './harness.mjs';

const { values } = parseArgs({ options: { dir: { type: 'string' }, otlp: { type: 'string' } } });
const dir = values.dir ?? join(REPO_ROOT, '.ect/genai-demo');
const rel = (p) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p) || '.');
const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('base64url');
rmSync(dir, { recursive: true, force: true });

console.log('otel-ect GenAI demo: a planner agent with three tool calls, GenAI semantic conventions only');
console.log(
  '  invoke_agent planner → (execute_tool get_weather ∥ execute_tool get_exchange_rate) → execute_tool book_hotel',
);
console.log('  one Node process run as `node --import otel-ect/register examples/genai-agent/agent.mjs`');
console.log(`  files: ${rel(dir)}/\n`);

const agent = await startGenAiAgent({
  dir,
  ...(values.otlp === undefined ? {} : { exporters: 'otlp', otlpEndpoint: values.otlp }),
});
let reply;
try {
  reply = await invokeAgent(agent, {
    question: 'Weather in Paris this weekend? Book me a hotel there.',
    city: 'Paris',
  });
} finally {
  await stopGenAiAgent(agent);
}
console.log(`answer: ${reply.answer}\n`);

const exported = collectExport(agent);
const spanByJti = new Map(exported.spans.map((s) => [s.attributes['ect.jti'], s]));
const rows = exported.tokens.map((t) => decodeJwt(t)).sort((a, b) => a.iat - b.iat);
console.log(
  `${rows.length} tokens (exec_act, jti, inp_hash / out_hash; "=" means it equals sha256 of the span's content attribute):`,
);
for (const c of rows) {
  const a = spanByJti.get(c.jti)?.attributes ?? {};
  const input = a['gen_ai.tool.call.arguments'] ?? a['gen_ai.input.messages'];
  const output = a['gen_ai.tool.call.result'] ?? a['gen_ai.output.messages'];
  const mark = (hash, content) =>
    hash === undefined ? '-' : `${hash}${content === undefined ? '' : sha256(content) === hash ? ' =' : ' ≠ MISMATCH'}`;
  console.log(`  ${String(c.exec_act).padEnd(30)} ${c.jti.slice(0, 8)}  in ${mark(c.inp_hash, input)}`);
  console.log(`  ${''.padEnd(30)} ${''.padEnd(8)}  out ${mark(c.out_hash, output)}`);
}
for (const call of reply.toolCalls) console.log(`  ${call.name}: arguments ${call.arguments}`);

const verify = ectDagVerify({
  files: exported.files,
  jwksDir: agent.jwksDir,
  scratchDir: join(dir, 'verify'),
  tokens: exported.tokens,
  jwks: exported.jwks,
});
if (verify.fallback === undefined)
  console.log(`\n$ ect dag verify ${rel(agent.exportDir)}/*.jsonl --jwks ${rel(agent.jwksDir)}`);
else
  console.log(
    `\n(note: ${verify.fallback})\n$ ect ${verify.args.map((a) => (a.startsWith('/') ? rel(a) : a)).join(' ')}`,
  );
process.stdout.write(verify.stdout);
process.stderr.write(verify.stderr);
console.log(`\nect dag verify exit code: ${verify.status} (0 valid, 3 partial, 1 invalid)`);
process.exitCode = verify.status ?? 1;
