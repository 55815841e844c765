// Child-process plumbing shared by the HTTP benchmarks: start otel-service.mjs (or another script)
// under a preload, wait for `LISTENING <port>`, stop it, and read its CPU time and memory from /proc.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
export const SERVICE = join(here, 'otel-service.mjs');

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
// Interrupted: exit through the handler above, so no service is left running.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

/**
 * Starts `config.script` (default otel-service.mjs) under `node --import config.preload`, with the
 * caller's environment minus its ECT_/OTEL_ settings, exporters off unless `config.env` says
 * otherwise. Resolves once the service prints `LISTENING <port>` (30 s at most).
 */
export function startService(config, home, { nodeArgs = [] } = {}) {
  const childEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ECT_') && !k.startsWith('OTEL_')),
  );
  Object.assign(childEnv, {
    ECT_HOME: home,
    OTEL_SERVICE_NAME: `bench-${config.id}`,
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    ...config.env,
  });
  const child = spawn(process.execPath, [...nodeArgs, '--import', config.preload, config.script ?? SERVICE], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolveStart, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error('did not listen within 30 s')), 30_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${config.name}: ${error.message}\n${stderr}`));
    };
    child.once('exit', (code, signal) => fail(new Error(`exited (${code ?? signal}) before listening`)));
    child.stdout.on('data', (d) => {
      stdout += d;
      const match = /LISTENING (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveStart({ ...config, child, port: Number(match[1]), stderr: () => stderr });
      }
    });
  });
}

/** SIGTERM (the SDK flushes), SIGKILL after 5 s. */
export async function stopService(service) {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return children.delete(child);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds a child has used (Linux /proc; NaN elsewhere). */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
  } catch {
    return Number.NaN;
  }
}

/** Resident set size now and its peak so far (VmRSS, VmHWM), MiB (Linux /proc; NaN elsewhere). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  } catch {
    return { rss: Number.NaN, peak: Number.NaN };
  }
}
