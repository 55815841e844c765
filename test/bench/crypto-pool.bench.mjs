// Crypto pool benchmark (node test/bench/crypto-pool.bench.mjs): what signing in the pool's worker
// threads (CryptoPool, ECT_CRYPTO_THREADS) costs against signing in the event loop, on distinct
// token-sized claims. Reported per signature: wall time, CPU of the whole process, and CPU of the main thread
// alone (read from /proc/self/task/<pid>/stat, so the pool's threads are not counted in it).
// Environment: BENCH_POOL_TOKENS (4000 per sample), BENCH_POOL_ROUNDS (5; the median is shown).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { generateSigningKey } from '../../dist/keys/index.js';
import { CryptoPool, defaultCryptoThreads, EctSigner, newClaims, PendingEct } from '../../dist/token/index.js';

const TOKENS = Number(process.env.BENCH_POOL_TOKENS ?? 4000);
const ROUNDS = Number(process.env.BENCH_POOL_ROUNDS ?? 5);
const TICKS = 100; // USER_HZ: /proc reports CPU in clock ticks of 10 ms

const signer = new EctSigner(generateSigningKey('ES256'));

function mainThreadCpuMs() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

function pendingTokens() {
  return Array.from({ length: TOKENS }, (_, i) => {
    const claims = newClaims({
      iss: 'spiffe://example.org/service/bench',
      aud: 'spiffe://example.org',
      exec_act: `GET /api/orders/${i}`,
      pred: [crypto.randomUUID(), crypto.randomUUID()],
      wid: crypto.randomUUID(),
      ect_ext: {
        'io.opentelemetry.span': {
          trace_id: 'a'.repeat(32),
          span_id: 'b'.repeat(16),
          name: 'x',
          kind: 'SERVER',
          status: 'OK',
        },
      },
    });
    return new PendingEct(signer, claims.jti, claims);
  });
}

async function sample(pool) {
  const tokens = pendingTokens();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const t0 = process.hrtime.bigint();
  await Promise.all(tokens.map((t) => pool.sign(t)));
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainMs = mainThreadCpuMs() - main0;
  return { wall: wallUs / TOKENS, cpu: (cpu.user + cpu.system) / TOKENS, main: (mainMs * 1000) / TOKENS };
}

const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
const configs = [0, 1, 2, defaultCryptoThreads()].filter((t, i, all) => all.indexOf(t) === i);
const results = new Map(configs.map((t) => [t, []]));
// One pool per setting, started and warmed before the rounds: worker start-up is not per token.
const pools = new Map(configs.map((t) => [t, new CryptoPool({ threads: t })]));
for (const pool of pools.values()) await sample(pool);
for (let round = 0; round < ROUNDS; round++) for (const t of configs) results.get(t).push(await sample(pools.get(t)));
for (const pool of pools.values()) await pool.close();

console.log(
  `crypto pool: ${TOKENS} distinct ES256 tokens per sample, median of ${ROUNDS}; ${availableParallelism()} cores, default threads here: ${defaultCryptoThreads()}`,
);
console.log('threads | µs wall/token | µs process CPU/token | µs main-thread CPU/token | CPU vs in-thread');
const base = median(results.get(0).map((r) => r.cpu));
for (const t of configs) {
  const rs = results.get(t);
  const cpu = median(rs.map((r) => r.cpu));
  console.log(
    `${String(t).padStart(7)} | ${median(rs.map((r) => r.wall))
      .toFixed(1)
      .padStart(13)} | ${cpu.toFixed(1).padStart(20)} | ${median(rs.map((r) => r.main))
      .toFixed(1)
      .padStart(24)} | ${(cpu / base).toFixed(2)}×`,
  );
}
