// Shared timing helpers for the benchmarks: rounds interleave the contenders so drift (thermal,
// other load) hits all of them alike; the median round is reported.

/** Runs `fn` repeatedly for `ms` and returns operations per second. */
export async function opsPerSecond(fn, { ms = 400, batch = 64, isAsync = false } = {}) {
  const deadline = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  const started = process.hrtime.bigint();
  let ops = 0;
  while (process.hrtime.bigint() < deadline) {
    if (isAsync) for (let i = 0; i < batch; i++) await fn();
    else for (let i = 0; i < batch; i++) fn();
    ops += batch;
  }
  return ops / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Median ops/s per contender over `rounds` interleaved rounds. */
export async function compare(contenders, { rounds = 5, ms = 400 } = {}) {
  const samples = new Map(contenders.map((c) => [c.name, []]));
  for (const c of contenders) await opsPerSecond(c.fn, { ms: 100, isAsync: c.isAsync }); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      // Start each sample from a collected heap, so no contender pays for another's garbage.
      globalThis.gc?.();
      samples.get(c.name).push(await opsPerSecond(c.fn, { ms, isAsync: c.isAsync }));
    }
  }
  return contenders.map((c) => {
    const sorted = samples.get(c.name).sort((a, b) => a - b);
    return { name: c.name, opsPerSec: sorted[Math.floor(sorted.length / 2)] };
  });
}

/** Prints a table with each row's ratio to the row named `baseline`. */
export function printTable(title, rows, baseline) {
  const base = rows.find((r) => r.name === baseline).opsPerSec;
  console.log(`\n${title}`);
  console.log(`| contender | ops/s | ratio to ${baseline} |`);
  console.log('|---|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${(r.opsPerSec / base).toFixed(2)}× |`,
    );
}
