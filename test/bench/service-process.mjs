// The hostile bench's services: otel-service.mjs (or another script) under a preload, started and
// stopped through the benchmarks' shared process plumbing (processes.mjs), with memory read from /proc.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuOf, startNode, stopNode } from './processes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
export const SERVICE = join(here, 'otel-service.mjs');

/**
 * Starts `config.script` (default otel-service.mjs) under `node --import config.preload`, with the
 * caller's environment minus its ECT_/OTEL_ settings, exporters off unless `config.env` says
 * otherwise. Resolves once the service prints `LISTENING <port>` (30 s at most).
 */
export async function startService(config, home, { nodeArgs = [] } = {}) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ECT_') && !k.startsWith('OTEL_')),
  );
  Object.assign(env, {
    ECT_HOME: home,
    ECT_LEDGER: 'none',
    OTEL_SERVICE_NAME: `bench-${config.id}`,
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    ...config.env,
  });
  const started = await startNode({
    name: config.name,
    nodeArgs: [...nodeArgs, '--import', config.preload],
    script: config.script ?? SERVICE,
    env,
    cwd: root,
  });
  return { ...config, ...started };
}

/** SIGTERM (the SDK flushes), SIGKILL after 5 s. */
export function stopService(service) {
  return stopNode(service);
}

/** CPU seconds a child has used (Linux /proc; NaN elsewhere). */
export function cpuSecondsOf(pid) {
  return cpuOf(pid).process;
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
