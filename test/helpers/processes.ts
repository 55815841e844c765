// Real services as child processes, for the integration and end-to-end tests: each runs as
// `node --import otel-ect/register <script>` from the repository root (so `otel-ect/register`
// resolves to this package), on 127.0.0.1, with its own ECT_HOME, export folder and log file.
// Every wait is bounded: readiness, publishing keys, shutdown (SIGTERM, then SIGKILL and an error).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The repository root (the `otel-ect` package). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built `ect` command (`npm run build`). */
export const ECT_CLI = join(REPO_ROOT, 'dist/cli/main.js');

/** What a service prints once it listens; the examples' services print exactly this. */
const LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

/**
 * Distinct free TCP ports on 127.0.0.1, found by binding port 0 (all at once, so they differ) and
 * releasing them. Another process could take one in between; the service then fails to listen and
 * its readiness rejects, loudly.
 *
 * @example const [api, db] = await freePorts(2);
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', ok);
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  }
}

/** How a service process ended. */
export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A service process started by {@link startService}. */
export interface Service {
  name: string;
  child: ChildProcess;
  pid: number | undefined;
  /** The port it said it listens on (set once ready). */
  port: number | undefined;
  /** Resolves once the service printed its `listening on` line; rejects if it exits or times out first. */
  ready: Promise<Service>;
  exited: Promise<ServiceExit>;
  /** Set once the process has exited. */
  exit: ServiceExit | undefined;
  stdout: string;
  stderr: string;
}

/** What {@link startService} starts. */
export interface ServiceSpec {
  name: string;
  /** The service's script (absolute path). */
  script: string;
  env: Record<string, string>;
  args?: string[];
  /** A folder for `<name>.log` (the process's stdout and stderr). */
  logDir?: string;
  readyTimeoutMs?: number;
}

/**
 * Starts one service with the bridge (`node --import otel-ect/register`) and returns at once; its
 * `ready` resolves when it prints `listening on http://127.0.0.1:<port>`.
 *
 * @example const api = startService({ name: 'api', script, env }); await api.ready;
 */
export function startService(spec: ServiceSpec): Service {
  const { name, script, env, args = [], logDir, readyTimeoutMs = 30_000 } = spec;
  const child = spawn(process.execPath, ['--import', 'otel-ect/register', script, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = logDir === undefined ? undefined : createWriteStream(join(logDir, `${name}.log`));
  const exited = new Promise<ServiceExit>((ok) => {
    child.once('exit', (code, signal) => {
      service.exit = { code, signal };
      ok(service.exit);
    });
  });
  const ready = new Promise<Service>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${name} not ready after ${readyTimeoutMs} ms\n--- stderr ---\n${service.stderr}`)),
      readyTimeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = LISTENING.exec(line);
      if (match === null || service.port !== undefined) return;
      clearTimeout(timer);
      service.port = Number(match[1]);
      ok(service);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})\n${service.stderr}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
  });
  const service: Service = {
    name,
    child,
    pid: child.pid,
    port: undefined,
    ready,
    exited,
    exit: undefined,
    stdout: '',
    stderr: '',
  };
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    service.stdout += text;
    log?.write(text);
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    service.stderr += text;
    log?.write(text);
  });
  // A readiness failure nobody awaits (the caller is stopping everything) must not crash the run.
  ready.catch(() => {});
  void exited.then(() => log?.end());
  return service;
}

/**
 * Stops services with SIGTERM (the bridge flushes spans and tokens on it) and waits for each, at
 * most `timeoutMs`; one that does not exit is killed and named in the thrown error. Safe to call
 * twice and after a failed start.
 *
 * @example const exits = await stopServices(run.services); // [{ name, pid, code: 143, signal: null }, …]
 */
export async function stopServices(
  services: readonly Service[],
  { timeoutMs = 10_000 }: { timeoutMs?: number } = {},
): Promise<({ name: string; pid: number | undefined } & ServiceExit)[]> {
  const problems: string[] = [];
  await Promise.all(
    services.map(async (service) => {
      if (service.exit !== undefined) return;
      service.child.kill('SIGTERM');
      const timedOut = Symbol('timeout');
      const abort = new AbortController();
      const result = await Promise.race([service.exited, sleep(timeoutMs, timedOut, { signal: abort.signal })]);
      abort.abort();
      if (result === timedOut) {
        service.child.kill('SIGKILL');
        await service.exited;
        problems.push(`${service.name} (pid ${service.pid}) did not exit within ${timeoutMs} ms of SIGTERM; killed`);
      }
    }),
  );
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return services.map((s) => ({ name: s.name, pid: s.pid, ...s.exit! }));
}

/** The caller's environment without any `OTEL_*`/`ECT_*` setting, so nothing outside changes a run. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OTEL_') && !key.startsWith('ECT_') && value !== undefined) env[key] = value;
  }
  return env;
}

/** The bridge's settings for a run's processes (see {@link bridgeEnv}). */
export interface BridgeEnvOptions {
  home: string;
  exportDir?: string | undefined;
  exporters?: 'none' | 'otlp';
  otlpEndpoint?: string | undefined;
  mode?: 'record' | 'enforce' | 'off';
  extraEnv?: Record<string, string>;
}

/**
 * The environment of a run's processes: the caller's without any `OTEL_*`/`ECT_*` settings (so
 * nothing outside changes the run), then ECT_HOME, ECT_MODE, the exporters, ECT_FILE_EXPORT_DIR and
 * the OTLP endpoint, then `extraEnv`.
 */
export function bridgeEnv(options: BridgeEnvOptions): Record<string, string> {
  const { home, exportDir, exporters = 'none', otlpEndpoint, mode = 'record', extraEnv = {} } = options;
  const env = cleanEnv();
  Object.assign(env, {
    ECT_HOME: home,
    ECT_MODE: mode,
    OTEL_TRACES_EXPORTER: exporters,
    OTEL_LOGS_EXPORTER: exporters,
    OTEL_METRICS_EXPORTER: 'none',
  });
  if (exportDir !== undefined) env.ECT_FILE_EXPORT_DIR = exportDir;
  if (otlpEndpoint !== undefined) env.OTEL_EXPORTER_OTLP_ENDPOINT = otlpEndpoint;
  return { ...env, ...extraEnv };
}

/** The folders of one run. */
export interface RunDirs {
  dir: string;
  /** ECT_HOME: the development keys; every process publishes its JWK Set into `home/jwks`. */
  home: string;
  jwksDir: string;
  /** ECT_FILE_EXPORT_DIR (OTLP JSON lines), unless file export is off. */
  exportDir: string | undefined;
  /** `<service>.log` per process. */
  logDir: string;
}

/** Creates a run's folders under `dir`, fresh (`home/`, `export/` unless `fileExport` is false, `logs/`). */
export function prepareRunDir(dir: string, fileExport = true): RunDirs {
  const runDir = resolve(dir);
  const home = join(runDir, 'home');
  const exportDir = fileExport ? join(runDir, 'export') : undefined;
  const logDir = join(runDir, 'logs');
  for (const d of [home, exportDir, logDir]) {
    if (d === undefined) continue;
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
  return { dir: runDir, home, jwksDir: join(home, 'jwks'), exportDir, logDir };
}

/** Waits (bounded) until `count` processes have published their JWK Sets into the folder. */
export async function waitForKeys(jwksDir: string, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const have = existsSync(jwksDir) ? readdirSync(jwksDir).filter((f) => f.endsWith('.json')).length : 0;
    if (have >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${have} of ${count} JWK Sets in ${jwksDir} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Starts services, waits until all are listening and have published their keys; on any failure
 * stops whatever started before throwing.
 */
export async function startAll(services: Service[], jwksDir: string, timeoutMs: number): Promise<void> {
  try {
    await Promise.all(services.map((s) => s.ready));
    await waitForKeys(jwksDir, services.length, timeoutMs);
  } catch (error) {
    await stopServices(services).catch(() => {});
    throw error;
  }
}

/** Runs the built `ect` CLI (bounded, 60 s). */
export function ect(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [ECT_CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
