import { join, resolve } from 'node:path';
import type { DraftVersion } from '../base/algorithms.js';
import type { EctMode } from './propagator.js';

/** Bridge settings as read from the environment (see README, "Configuration"). */
export interface EctEnvConfig {
  /** `off` disables the bridge entirely. */
  mode: EctMode | 'off';
  /** Working folder of the embedded defaults: development keys, JWK Sets, ledger. */
  home: string;
  serviceName: string;
  signingKeyFile: string | undefined;
  jwksFile: string | undefined;
  jwksUrl: string | undefined;
  /** Folder of JWK Set files to trust (default `{home}/jwks`). */
  jwksDir: string;
  issuer: string | undefined;
  trustDomain: string;
  audience: string[] | undefined;
  draft: DraftVersion;
  selector: string | undefined;
  ttlSeconds: number | undefined;
  /** Leave GenAI content attributes, already hashed into the tokens, out of exported spans. */
  dropGenAiContent: boolean;
  /** Also write spans and token log records as OTLP JSON lines here. */
  fileExportDir: string | undefined;
  tracesExporter: string;
  logsExporter: string;
  /**
   * `OTEL_BSP_*`, for the span processors the SDK is started with (the `sdk-trace` processor does
   * not read them itself); `maxQueueSize` also tells the bridge how far behind the exporter may run.
   */
  batchSpanProcessor: BatchSpanProcessorSettings;
}

/** The `OTEL_BSP_*` settings that are set and usable (the SDK's defaults apply to the rest). */
export interface BatchSpanProcessorSettings {
  scheduledDelayMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  exportTimeoutMillis?: number;
}

/** A setting in the environment that cannot be used. */
export class EctConfigError extends Error {
  override name = 'EctConfigError';
}

/**
 * Reads `ECT_*` settings (and the `OTEL_*` ones the bridge needs) from an environment.
 *
 * @example const config = configFromEnv(process.env);
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): EctEnvConfig {
  const home = resolve(env.ECT_HOME ?? '.ect');
  const mode = (env.ECT_MODE ?? 'record').toLowerCase();
  if (mode !== 'record' && mode !== 'enforce' && mode !== 'off')
    throw new EctConfigError(`ECT_MODE must be record, enforce or off, not ${JSON.stringify(env.ECT_MODE)}`);
  const draft = env.ECT_DRAFT ?? '01';
  if (draft !== '00' && draft !== '01')
    throw new EctConfigError(`ECT_DRAFT must be 00 or 01, not ${JSON.stringify(draft)}`);
  const ttl = env.ECT_TTL_SECONDS === undefined ? undefined : Number(env.ECT_TTL_SECONDS);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 60))
    throw new EctConfigError('ECT_TTL_SECONDS must be a whole number above 60');
  const list = (value: string | undefined) =>
    value
      ?.split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  return {
    mode,
    home,
    serviceName: env.OTEL_SERVICE_NAME ?? 'unknown_service',
    signingKeyFile: env.ECT_SIGNING_KEY_FILE,
    jwksFile: env.ECT_JWKS_FILE,
    jwksUrl: env.ECT_JWKS_URL,
    jwksDir: resolve(env.ECT_JWKS_DIR ?? join(home, 'jwks')),
    issuer: env.ECT_ISSUER,
    trustDomain: env.ECT_TRUST_DOMAIN ?? 'example.org',
    audience: list(env.ECT_AUDIENCE),
    draft,
    selector: env.ECT_SELECTOR,
    ttlSeconds: ttl,
    dropGenAiContent: ['1', 'true', 'yes'].includes((env.ECT_DROP_GENAI_CONTENT ?? '').toLowerCase()),
    fileExportDir: env.ECT_FILE_EXPORT_DIR === undefined ? undefined : resolve(env.ECT_FILE_EXPORT_DIR),
    tracesExporter: (env.OTEL_TRACES_EXPORTER ?? 'otlp').toLowerCase(),
    logsExporter: (env.OTEL_LOGS_EXPORTER ?? 'otlp').toLowerCase(),
    batchSpanProcessor: batchSpanProcessorSettings(env),
  };
}

function batchSpanProcessorSettings(env: NodeJS.ProcessEnv): BatchSpanProcessorSettings {
  const settings: BatchSpanProcessorSettings = {};
  for (const [variable, option] of [
    ['OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'],
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'],
    ['OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'],
  ] as const) {
    const value = Number(env[variable]);
    // Unset or unusable: left out, so the SDK's default applies.
    if (env[variable] !== undefined && Number.isFinite(value) && value > 0) settings[option] = value;
  }
  return settings;
}
