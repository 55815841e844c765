// Summarises a V8 .cpuprofile (node --cpu-prof): the top functions by self time, and the total
// (inclusive) time of functions whose name matches a pattern.
//
// node test/bench/cpuprofile-top.mjs /tmp/prof/CPU.*.cpuprofile [top=25] [inclusive-pattern]
// Several files (a process writes one per thread) are summarised one after another, largest first.
import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';

const args = process.argv.slice(2);
const files = args.filter((a) => a.endsWith('.cpuprofile')).sort((a, b) => statSync(b).size - statSync(a).size);
const [topArg = '25', pattern = '#start|#ending|#issue|onStart|onEnding|_onEnd|startSpan|startActiveSpan|\\bend$'] =
  args.filter((a) => !a.endsWith('.cpuprofile'));
if (files.length === 0) {
  console.error('usage: cpuprofile-top.mjs <file.cpuprofile>... [top] [inclusive-pattern]');
  process.exit(2);
}
for (const file of files) summarise(file);

function summarise(file) {
  console.log(`\n== ${file}`);
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

  // Sample time per node: timeDeltas[i] is the time before samples[i].
  const selfUs = new Map();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    totalUs += dt;
  });

  const label = (n) => {
    const f = n.callFrame;
    const where = f.url ? `${relative(process.cwd(), f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };

  const bySelf = new Map();
  for (const [id, us] of selfUs) {
    const key = label(nodes.get(id));
    bySelf.set(key, (bySelf.get(key) ?? 0) + us);
  }
  const idle = [...bySelf].filter(([k]) => /^\((idle|program|garbage collector)\)/.test(k));
  console.log(
    `profile: ${(totalUs / 1e6).toFixed(2)} s sampled; ${idle.map(([k, us]) => `${k} ${((100 * us) / totalUs).toFixed(1)}%`).join(', ')}`,
  );
  console.log('\nTop functions by self time');
  console.log('| self % | self ms | function |');
  console.log('|---:|---:|---|');
  for (const [k, us] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) {
    console.log(`| ${((100 * us) / totalUs).toFixed(1)} | ${(us / 1e3).toFixed(0)} | ${k} |`);
  }

  // Inclusive time: a sample counts once for a function however deep the recursion.
  const re = new RegExp(pattern);
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parentOf.get(cur)) {
      const n = nodes.get(cur);
      if (!re.test(n.callFrame.functionName)) continue;
      const key = label(n);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  console.log(`\nInclusive time of functions matching /${pattern}/`);
  console.log('| total % | total ms | function |');
  console.log('|---:|---:|---|');
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`| ${((100 * us) / totalUs).toFixed(1)} | ${(us / 1e3).toFixed(0)} | ${k} |`);
  }
}
