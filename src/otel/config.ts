import { join, resolve } from 'node:path';
import {
  getBooleanFromEnv,
  getNumberFromEnv,
  getStringFromEnv,
  getStringListFromEnv,
  parseKeyPairsIntoRecord,
} from '@opentelemetry/core';
import type { DraftVersion } from '../base/algorithms.js';
import { type OtlpProtocol, parseOtlpProtocol } from './export/otlp-exporters.js';
import { type RequirePolicy, requirePolicyFromEnv } from './http/require-policy.js';
import { EctConfigError } from './config-error.js';
import type { ResponseTokenPolicy } from './http/response-hooks.js';

/** What the receiving side does with tokens that fail verification: record them, or refuse the request. */
export type EctMode = 'record' | 'enforce';

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
  /** `ECT_REQUIRE`, `ECT_REQUIRE_EXEMPT`: which requests must carry a token (throws `EctRequirePolicyError`). */
  require: RequirePolicy;
  /** `ECT_RESPONSE_TOKEN`: which responses carry the server span's token (`sign`, `traced`, `off`). */
  responseToken: ResponseTokenPolicy;
  /** `ECT_CRYPTO_THREADS`: signatures run off the event loop at once; 0 = in the event loop. Default from the cores. */
  cryptoThreads: number | undefined;
  /** `ECT_ENFORCE_MAX_WAITING`: requests enforce mode holds at once for their verdict, past which 503 `ECT_BUSY`. */
  enforceMaxWaiting: number | undefined;
  /** Leave GenAI content attributes, already hashed into the tokens, out of exported spans. */
  dropGenAiContent: boolean;
  /**
   * `ECT_LEDGER`: the audit ledger signed tokens go to: `none`, `file:DIR` (a ledger directory,
   * shared by the services of a machine) or an `http(s)://` ledger server. Default: the embedded
   * `file:{home}/ledger` when `ECT_HOME` is set, else none.
   */
  ledger: LedgerSetting;
  /** `ECT_LEDGER_SPOOL_DIR`: where tokens wait for the ledger (default `{home}/spool`). */
  spoolDir: string;
  /** `ECT_LEDGER_SPOOL_MAX_BYTES`: bytes spooled at most while the ledger is away (default 256 MiB). */
  spoolMaxBytes: number | undefined;
  /** Also write spans and token log records as OTLP JSON lines here. */
  fileExportDir: string | undefined;
  tracesExporter: string;
  logsExporter: string;
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. */
  tracesProtocol: OtlpProtocol;
  /** `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. */
  logsProtocol: OtlpProtocol;
  /**
   * `OTEL_BSP_*`, for the span processors the SDK is started with (the `sdk-trace` processor does
   * not read them itself); `maxQueueSize` also tells the bridge how far behind the exporter may run.
   */
  batchSpanProcessor: BatchSpanProcessorSettings;
}

/** Where signed tokens are kept: nowhere, a ledger directory, or a ledger server. */
export type LedgerSetting =
  | { kind: 'none' }
  | { kind: 'file'; dir: string }
  /** `headers`: `ECT_LEDGER_HEADERS`, sent with every request (a write token, a gateway's credentials). */
  | { kind: 'http'; url: URL; headers: Record<string, string> };

/** The `OTEL_BSP_*` settings that are set and usable (the SDK's defaults apply to the rest). */
export interface BatchSpanProcessorSettings {
  scheduledDelayMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  exportTimeoutMillis?: number;
}

export { EctConfigError } from './config-error.js';

/**
 * Reads `ECT_*` settings (and the `OTEL_*` ones the bridge needs) from `process.env`, through
 * `@opentelemetry/core`'s environment readers, as the SDK reads its own. Throws
 * {@link EctConfigError} for a value that cannot be used, so a typo does not silently sign nothing.
 *
 * @example const config = configFromEnv();
 */
export function configFromEnv(): EctEnvConfig {
  const home = resolve(getStringFromEnv('ECT_HOME') ?? '.ect');
  const mode = (getStringFromEnv('ECT_MODE') ?? 'record').toLowerCase();
  if (mode !== 'record' && mode !== 'enforce' && mode !== 'off') {
    throw new EctConfigError(`ECT_MODE must be record, enforce or off, not ${JSON.stringify(mode)}`);
  }
  const draft = getStringFromEnv('ECT_DRAFT') ?? '01';
  if (draft !== '00' && draft !== '01') {
    throw new EctConfigError(`ECT_DRAFT must be 00 or 01, not ${JSON.stringify(draft)}`);
  }
  const ttlText = getStringFromEnv('ECT_TTL_SECONDS');
  const ttl = ttlText === undefined ? undefined : Number(ttlText);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 60)) {
    throw new EctConfigError('ECT_TTL_SECONDS must be a whole number above 60');
  }
  const fileExportDir = getStringFromEnv('ECT_FILE_EXPORT_DIR');
  return {
    mode,
    home,
    serviceName: getStringFromEnv('OTEL_SERVICE_NAME') ?? 'unknown_service',
    signingKeyFile: getStringFromEnv('ECT_SIGNING_KEY_FILE'),
    jwksFile: getStringFromEnv('ECT_JWKS_FILE'),
    jwksUrl: getStringFromEnv('ECT_JWKS_URL'),
    jwksDir: resolve(getStringFromEnv('ECT_JWKS_DIR') ?? join(home, 'jwks')),
    issuer: getStringFromEnv('ECT_ISSUER'),
    trustDomain: getStringFromEnv('ECT_TRUST_DOMAIN') ?? 'example.org',
    audience: getStringListFromEnv('ECT_AUDIENCE')?.filter((audience) => audience !== ''),
    draft,
    selector: getStringFromEnv('ECT_SELECTOR'),
    ttlSeconds: ttl,
    cryptoThreads: wholeNumberFromEnv('ECT_CRYPTO_THREADS'),
    enforceMaxWaiting: positiveNumberFromEnv('ECT_ENFORCE_MAX_WAITING'),
    require: requirePolicyFromEnv(),
    responseToken: oneOf('ECT_RESPONSE_TOKEN', ['sign', 'traced', 'off'], 'sign'),
    dropGenAiContent: getBooleanFromEnv('ECT_DROP_GENAI_CONTENT'),
    ledger: ledgerFromEnv(home),
    spoolDir: resolve(getStringFromEnv('ECT_LEDGER_SPOOL_DIR') ?? join(home, 'spool')),
    spoolMaxBytes: wholeNumberFromEnv('ECT_LEDGER_SPOOL_MAX_BYTES'),
    fileExportDir: fileExportDir === undefined ? undefined : resolve(fileExportDir),
    tracesExporter: (getStringFromEnv('OTEL_TRACES_EXPORTER') ?? 'otlp').toLowerCase(),
    logsExporter: (getStringFromEnv('OTEL_LOGS_EXPORTER') ?? 'otlp').toLowerCase(),
    tracesProtocol: otlpProtocolFromEnv('TRACES'),
    logsProtocol: otlpProtocolFromEnv('LOGS'),
    batchSpanProcessor: batchSpanProcessorSettings(),
  };
}

/**
 * A service name as a file-name part (development key files, export files): anything outside
 * `[A-Za-z0-9_.-]` becomes `_`.
 *
 * @example fileSafe('agent/fetch data') // 'agent_fetch_data'
 */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function ledgerFromEnv(home: string): LedgerSetting {
  const text = getStringFromEnv('ECT_LEDGER');
  if (text === undefined) {
    // The embedded ledger is the default of a service that was given a working folder.
    return getStringFromEnv('ECT_HOME') === undefined ? { kind: 'none' } : { kind: 'file', dir: join(home, 'ledger') };
  }
  const lower = text.toLowerCase();
  if (lower === 'none' || lower === 'off') return { kind: 'none' };
  if (lower.startsWith('file:') && text.length > 5) return { kind: 'file', dir: resolve(text.slice(5)) };
  if (lower.startsWith('http://') || lower.startsWith('https://')) {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      // reported below
    }
    // As OTEL_EXPORTER_OTLP_HEADERS: `key=value` pairs, comma-separated, values URL-encoded.
    if (url !== undefined)
      return { kind: 'http', url, headers: parseKeyPairsIntoRecord(getStringFromEnv('ECT_LEDGER_HEADERS')) };
  }
  throw new EctConfigError(
    `ECT_LEDGER must be none, file:DIR or an http(s):// ledger server URL, not ${JSON.stringify(text)}`,
  );
}

function oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
  const text = getStringFromEnv(name)?.toLowerCase() ?? fallback;
  const value = values.find((v) => v === text);
  if (value === undefined)
    throw new EctConfigError(`${name} must be ${values.join(', ')}, not ${JSON.stringify(text)}`);
  return value;
}

function wholeNumberFromEnv(name: string): number | undefined {
  const text = getStringFromEnv(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0)
    throw new EctConfigError(`${name} must be a whole number ≥ 0, not ${JSON.stringify(text)}`);
  return value;
}

function positiveNumberFromEnv(name: string): number | undefined {
  const value = wholeNumberFromEnv(name);
  if (value === 0) throw new EctConfigError(`${name} must be a whole number ≥ 1, not "0"`);
  return value;
}

function otlpProtocolFromEnv(signal: 'TRACES' | 'LOGS'): OtlpProtocol {
  const own = getStringFromEnv(`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`);
  const general = getStringFromEnv('OTEL_EXPORTER_OTLP_PROTOCOL');
  const protocol = parseOtlpProtocol(own, general);
  if (protocol === undefined) {
    throw new EctConfigError(
      `OTEL_EXPORTER_OTLP_${own === undefined ? '' : `${signal}_`}PROTOCOL must be http/protobuf, http/json or grpc, not ${JSON.stringify(own ?? general)}`,
    );
  }
  return protocol;
}

function batchSpanProcessorSettings(): BatchSpanProcessorSettings {
  const settings: BatchSpanProcessorSettings = {};
  for (const [variable, option] of [
    ['OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'],
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'],
    ['OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'],
  ] as const) {
    const value = getNumberFromEnv(variable);
    // Unset or unusable: left out, so the SDK's default applies.
    if (value !== undefined && value > 0) settings[option] = value;
  }
  return settings;
}
