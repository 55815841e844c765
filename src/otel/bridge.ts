import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diag, type Span, trace } from '@opentelemetry/api';
import type { EctError } from '../base/errors.js';
import { DirectoryJwksResolver } from '../keys/directory-resolver.js';
import { loadSigningKey, loadVerificationKeys } from '../keys/files.js';
import { generateSigningKey } from '../keys/generate.js';
import { publicJwkOf, verificationKeyOf } from '../keys/jwk.js';
import { RemoteJwksResolver } from '../keys/remote.js';
import type { KeyResolver, SigningKey, VerificationKey } from '../keys/types.js';
import type { DraftVersion } from '../base/algorithms.js';
import { CryptoPool, defaultCryptoThreads } from '../token/crypto-pool.js';
import { EctSigner } from '../token/sign.js';
import { EctVerifier } from '../token/verify.js';
import { type EctEnvConfig, type EctMode, fileSafe } from './config.js';
import { EctSpanExporter, type EctSpanExporterOptions, type SpanExporterLike } from './export/span-exporter.js';
import { FileLedgerTarget } from '../ledger/forward/file-target.js';
import { HttpLedgerTarget } from '../ledger/forward/http-target.js';
import { LedgerSink, type LedgerSinkOptions } from './export/ledger-sink.js';
import { TokenPipeline, type EctLoggerProvider, type SignedTokenConsumer } from './export/token-pipeline.js';
import {
  type HookDeps,
  httpResponseHook,
  type ResponseTokenPolicy,
  undiciResponseHook,
} from './http/response-hooks.js';
import { defaultIssuer } from './processor/span-claims.js';
import { EctSpanProcessor, type EctSpanProcessorOptions } from './processor/span-processor.js';
import { parseSelector, type SpanSelector } from './processor/selector.js';
import { IncomingVerdicts } from './propagation/incoming-verdicts.js';
import { EctPropagator } from './propagation/propagator.js';
import type { EctReadableSpan } from './span-types.js';
import { EctStats } from './stats.js';

/** Options of {@link createEctBridge}: everything the bridge needs, already loaded. */
export interface EctBridgeOptions {
  signingKey: SigningKey;
  /** Keys to verify incoming tokens with (the bridge's own key is always added). */
  keys?: KeyResolver;
  issuer?: string;
  trustDomain?: string;
  /** `aud` of issued tokens; also what this service accepts, with its issuer. */
  audience?: readonly string[];
  /**
   * `record` (default): verification failures are recorded on the server span; `enforce`: such
   * requests are refused, once `installEnforcement(bridge.propagator)` has been called (the
   * zero-code `register` entry does it). Exposed as {@link EctBridge.mode}.
   */
  mode?: EctMode;
  draft?: DraftVersion;
  selector?: SpanSelector;
  ttlSeconds?: number;
  loggerProvider?: EctLoggerProvider;
  /** Extra consumers of signed tokens. */
  tokenSinks?: readonly SignedTokenConsumer[];
  /**
   * The audit ledger every signed token is sent to, through a durable local spool (see
   * {@link LedgerSink}); none by default. {@link createEctBridgeFromConfig} reads it from `ECT_LEDGER`.
   */
  ledger?: Omit<LedgerSinkOptions, 'stats'>;
  /** See {@link EctSpanProcessorOptions.maxLiveSpans}. */
  maxLiveSpans?: number;
  /** See {@link EctSpanProcessorOptions.maxKnownTokens}. */
  maxKnownTokens?: number;
  /**
   * Worker threads that sign the tokens signed after the request (batches, export; see
   * {@link CryptoPool}) and, in record mode, verify incoming ones; 0 does it all in the event loop.
   * Default {@link defaultCryptoThreads} (from the host's cores).
   */
  cryptoThreads?: number;
  /** Which responses carry the server span's token (see {@link ResponseTokenPolicy}). Default `sign`. */
  responseToken?: ResponseTokenPolicy;
}

/** The assembled parts, for a `NodeSDK` or a hand-built provider. */
export interface EctBridge extends HookDeps {
  readonly mode: EctMode;
  /** Register it with the SDK before the exporting span processors. */
  readonly processor: EctSpanProcessor;
  readonly pipeline: TokenPipeline;
  /** The ledger sink, when a ledger is configured. */
  readonly ledger: LedgerSink | undefined;
  readonly verifier: EctVerifier;
  readonly signingKey: SigningKey;
  /**
   * Names tokens received out of band (a queue message, a stored result) as predecessors of a live
   * span: each is verified (synchronously, as a header would be) and added to the span's frontier,
   * replacing what it names (src/otel/DESIGN.md §2). Returns the tokens that failed, which are not
   * added; never throws.
   *
   * @example const refused = bridge.addPredecessors(message.headers['execution-context']);
   */
  addPredecessors(tokens: string | readonly string[], span?: Span): EctError[];
  /** Wraps a span exporter so exported spans carry `ect.token`. */
  wrapExporter<S extends EctReadableSpan>(
    exporter: SpanExporterLike<S>,
    options?: EctSpanExporterOptions,
  ): EctSpanExporter<S>;
  /** Instrumentation-http config with the bridge's response hook (merged with `base`). */
  httpInstrumentationConfig<T extends object>(base?: T): T & { responseHook: ReturnType<typeof httpResponseHook> };
  /** Instrumentation-undici config with the bridge's response hook (merged with `base`). */
  undiciInstrumentationConfig<T extends object>(base?: T): T & { responseHook: ReturnType<typeof undiciResponseHook> };
}

class CombinedResolver implements KeyResolver {
  constructor(
    private readonly own: VerificationKey,
    private readonly others: KeyResolver | undefined,
  ) {}
  resolveSync(kid: string): VerificationKey | undefined {
    return kid === this.own.kid ? this.own : this.others?.resolveSync(kid);
  }
  async resolve(kid: string): Promise<VerificationKey | undefined> {
    if (kid === this.own.kid) return this.own;
    return this.others?.resolve?.(kid) ?? this.others?.resolveSync(kid);
  }
}

/**
 * Assembles processor, propagator, token pipeline and hooks around one signing key.
 *
 * @example
 * const bridge = createEctBridge({ signingKey: await loadSigningKey('key.jwk.json'), keys });
 * const sdk = new NodeSDK({ spanProcessors: [bridge.processor, new BatchSpanProcessor(bridge.wrapExporter(new OTLPTraceExporter()))], textMapPropagator: ... });
 */
export function createEctBridge(options: EctBridgeOptions): EctBridge {
  const stats = new EctStats();
  const trustDomain = options.trustDomain ?? 'example.org';
  const audience = options.audience ?? [`spiffe://${trustDomain}`];
  const pool = new CryptoPool({
    threads: options.cryptoThreads ?? defaultCryptoThreads(),
    onFallback: (error, signatures) => stats.fail('crypto.fallbacks', error, signatures),
  });
  const verdicts = new IncomingVerdicts(options.maxKnownTokens);
  const ledger = options.ledger === undefined ? undefined : new LedgerSink({ ...options.ledger, stats });
  const pipeline = new TokenPipeline({
    stats,
    pool,
    verdicts,
    ...(options.loggerProvider ? { loggerProvider: options.loggerProvider } : {}),
    sinks: [...(options.tokenSinks ?? []), ...(ledger === undefined ? [] : [ledger])],
  });
  const signer = new EctSigner(options.signingKey, { draft: options.draft ?? '01' });
  const processor = new EctSpanProcessor({
    signer,
    verdicts,
    sink: pipeline,
    trustDomain,
    audience,
    stats,
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.selector === undefined ? {} : { selector: options.selector }),
    ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
    ...(options.maxLiveSpans === undefined ? {} : { maxLiveSpans: options.maxLiveSpans }),
    ...(options.maxKnownTokens === undefined ? {} : { maxKnownTokens: options.maxKnownTokens }),
  });
  const keys = new CombinedResolver(verificationKeyOf(options.signingKey), options.keys);
  const verifier = new EctVerifier({
    keys,
    audience: options.issuer === undefined ? audience : [...audience, options.issuer],
  });
  const mode = options.mode ?? 'record';
  const propagator = new EctPropagator({
    frontiers: processor.frontiers,
    verifier,
    stats,
    // Signatures are checked in the pool, off the request path: record mode lets the request
    // through whatever the verdict; enforce mode holds it until the verdict (installEnforcement).
    deferVerification: pool,
  });
  const deps: HookDeps = {
    frontiers: processor.frontiers,
    propagator,
    stats,
    responseToken: options.responseToken ?? 'sign',
    pool,
  };
  return {
    ...deps,
    mode,
    pipeline,
    ledger,
    verifier,
    processor,
    signingKey: options.signingKey,
    addPredecessors: (tokens, span = trace.getActiveSpan()) => {
      if (span === undefined) return [];
      const {
        tokens: verified,
        failures,
        covers,
      } = propagator.verifyValues(typeof tokens === 'string' ? tokens : [...tokens]);
      processor.frontiers.addToFrontier(span, verified, covers);
      return failures;
    },
    wrapExporter: (exporter, exporterOptions) =>
      new EctSpanExporter(exporter, processor.tokens, {
        stats,
        pool,
        verdicts,
        resources: processor.resources,
        ...exporterOptions,
      }),
    httpInstrumentationConfig: (base) => {
      const next = (base as { responseHook?: unknown } | undefined)?.responseHook as Parameters<
        typeof httpResponseHook
      >[1];
      return { ...(base ?? ({} as never)), responseHook: httpResponseHook(deps, next) };
    },
    undiciInstrumentationConfig: (base) => {
      const next = (base as { responseHook?: unknown } | undefined)?.responseHook as Parameters<
        typeof undiciResponseHook
      >[1];
      return { ...(base ?? ({} as never)), responseHook: undiciResponseHook(deps, next) };
    },
  };
}

/**
 * Loads keys and settings as {@link configFromEnv} describes and builds the bridge. With no signing
 * key configured it generates an ephemeral development key, writes its JWK Set into the shared
 * JWK Set folder (so peers on this machine trust it), and warns once.
 *
 * @example const bridge = await createEctBridgeFromConfig(configFromEnv());
 */
export async function createEctBridgeFromConfig(
  config: EctEnvConfig,
  extra: Partial<EctBridgeOptions> = {},
): Promise<EctBridge> {
  let signingKey: SigningKey;
  if (config.signingKeyFile !== undefined) {
    signingKey = await loadSigningKey(config.signingKeyFile);
  } else {
    signingKey = generateSigningKey('ES256');
    mkdirSync(config.jwksDir, { recursive: true });
    const file = join(config.jwksDir, `${fileSafe(config.serviceName)}-${signingKey.kid.slice(0, 12)}.json`);
    writeFileSync(file, `${JSON.stringify({ keys: [publicJwkOf(signingKey)] }, null, 2)}\n`);
    // A process warning, not only `diag`: NodeSDK installs a diag logger only when OTEL_LOG_LEVEL is set.
    process.emitWarning(
      `no ECT_SIGNING_KEY_FILE; signing with an ephemeral development key (kid ${signingKey.kid}), public key in ${file}`,
      {
        code: 'ECT_DEV_KEY',
        detail: 'Set ECT_SIGNING_KEY_FILE (and publish its JWK Set to your peers) outside development.',
      },
    );
  }
  let keys: KeyResolver;
  // Fetch failures are counted on the bridge's stats, which exist once the bridge does.
  let bridge: EctBridge | undefined;
  if (config.jwksUrl !== undefined)
    keys = new RemoteJwksResolver(new URL(config.jwksUrl), {
      onError: (e) =>
        bridge === undefined
          ? diag.warn(`otel-ect: JWKS fetch failed: ${String(e)}`)
          : bridge.stats.fail('jwks.fetch_failed', e),
    });
  else if (config.jwksFile !== undefined) keys = await loadVerificationKeys(config.jwksFile);
  else keys = new DirectoryJwksResolver(config.jwksDir);
  bridge = createEctBridge({
    signingKey,
    keys,
    trustDomain: config.trustDomain,
    draft: config.draft,
    selector: parseSelector(config.selector),
    mode: config.mode === 'enforce' ? 'enforce' : 'record',
    // Known before the SDK's resource settles, so spans need not read resource attributes early.
    issuer: config.issuer ?? defaultIssuer(config.trustDomain, config.serviceName),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
    ...(config.ttlSeconds === undefined ? {} : { ttlSeconds: config.ttlSeconds }),
    ...(config.cryptoThreads === undefined ? {} : { cryptoThreads: config.cryptoThreads }),
    responseToken: config.responseToken,
    ...ledgerOf(config),
    // The span exporter looks tokens up when the batch processor exports: keep every span's token
    // until then, however long its queue is configured.
    maxKnownTokens: Math.max(8192, 4 * (config.batchSpanProcessor.maxQueueSize ?? 2048)),
    ...extra,
  });
  return bridge;
}

/** The ledger sink's settings for `ECT_LEDGER`, or nothing. */
function ledgerOf(config: EctEnvConfig): Pick<EctBridgeOptions, 'ledger'> {
  const setting = config.ledger;
  if (setting.kind === 'none') return {};
  return {
    ledger: {
      target:
        setting.kind === 'file'
          ? new FileLedgerTarget(setting.dir)
          : new HttpLedgerTarget(setting.url, { headers: setting.headers }),
      spoolRoot: config.spoolDir,
      serviceName: config.serviceName,
      ...(config.spoolMaxBytes === undefined ? {} : { maxSpoolBytes: config.spoolMaxBytes }),
    },
  };
}
