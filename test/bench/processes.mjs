// Child processes of the benchmarks: started from a node script that prints `LISTENING <port>`,
// stopped (and killed if they linger) on exit of the bench whatever happens, and their CPU read
// from Linux /proc: the whole process, and its main thread alone (the task whose tid is the pid),
// so worker threads are told apart from the event loop.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const children = new Set();
const killAll = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('exit', killAll);
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.once(signal, () => {
    killAll();
    process.exit(code);
  });
}

/**
 * Starts `node [nodeArgs] script` and resolves once it prints `LISTENING <port>` (30 s at most);
 * `onStderrLine` sees each line of its standard error.
 * Resolves to { child, port, pid, stderr() }.
 */
export function startNode({ name, nodeArgs = [], script, env, cwd, onStderrLine }) {
  const child = spawn(process.execPath, [...nodeArgs, script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  let partial = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 64_000) stderr = stderr.slice(-32_000);
    if (onStderrLine === undefined) return;
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const line of lines) onStderrLine(line);
  });
  return new Promise((resolveStart, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error('did not listen within 30 s')), 30_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      children.delete(child);
      reject(new Error(`${name}: ${error.message}\n${stderr}`));
    };
    child.once('exit', (code, signal) => fail(new Error(`exited (${code ?? signal}) before listening`)));
    child.stdout.on('data', (d) => {
      stdout += d;
      const match = /LISTENING (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolveStart({ name, child, pid: child.pid, port: Number(match[1]), stderr: () => stderr });
      }
    });
  });
}

/**
 * Sends SIGTERM, lets `settle()` (a promise: e.g. "the sink has its final export") or the exit come
 * first, and kills the process if it is still there after `graceMs`. The official zero-code register
 * shuts its SDK down on SIGTERM but does not exit: it needs the kill.
 */
export async function stopNode(proc, { graceMs = 5000, settle } = {}) {
  const { child } = proc;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    let timer;
    const grace = new Promise((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([exited, grace, settle?.() ?? exited]);
    // A settled export is enough; give the process a moment to exit by itself (longer when it
    // writes a CPU profile on exit: BENCH_EXIT_GRACE_MS), then kill it.
    const exitGrace = Number(process.env.BENCH_EXIT_GRACE_MS ?? 300);
    await Promise.race([exited, new Promise((r) => setTimeout(r, exitGrace))]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  children.delete(child);
}

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function cpuSecondsFrom(path) {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) of a process and of its main thread, from /proc (NaN elsewhere). */
export function cpuOf(pid) {
  return { process: cpuSecondsFrom(`/proc/${pid}/stat`), main: cpuSecondsFrom(`/proc/${pid}/task/${pid}/stat`) };
}
