import { afterEach, describe, expect, it, vi } from 'vitest';
import { configFromEnv, EctConfigError } from '../../../src/otel/index.js';

afterEach(() => vi.unstubAllEnvs());

/** The error `configFromEnv` throws with `env` set, or undefined when it accepts it. */
function refusal(env: Record<string, string>): unknown {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  try {
    configFromEnv();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    vi.unstubAllEnvs();
  }
}

describe('configFromEnv: a setting that cannot be used is refused, never guessed', () => {
  it.each([
    [{ ECT_MODE: 'enforced' }, /ECT_MODE must be record, enforce or off/],
    [{ ECT_DRAFT: '02' }, /ECT_DRAFT/],
    [{ ECT_TTL_SECONDS: '30' }, /ECT_TTL_SECONDS/],
    [{ ECT_CRYPTO_THREADS: '-1' }, /ECT_CRYPTO_THREADS must be a whole number/],
    [{ ECT_ENFORCE_MAX_WAITING: '0' }, /ECT_ENFORCE_MAX_WAITING must be a whole number ≥ 1/],
    [{ ECT_ENFORCE_MAX_WAITING: 'lots' }, /ECT_ENFORCE_MAX_WAITING/],
    [{ ECT_RESPONSE_TOKEN: 'always' }, /ECT_RESPONSE_TOKEN must be sign, traced, off/],
    [{ ECT_LEDGER: 'ftp://ledger' }, /ECT_LEDGER must be none, file:DIR/],
    [{ ECT_REQUIRE: 'api' }, /ECT_REQUIRE: /],
  ])('%j: EctConfigError with code ECT_CONFIG_INVALID naming the setting', (env, message) => {
    const error = refusal(env);
    expect(error).toBeInstanceOf(EctConfigError);
    expect((error as EctConfigError).code).toBe('ECT_CONFIG_INVALID');
    expect((error as Error).message).toMatch(message);
  });

  it('reads ECT_ENFORCE_MAX_WAITING, unset by default (the enforcement guard then holds 1,024)', () => {
    expect(refusal({})).toBeUndefined();
    vi.stubEnv('ECT_ENFORCE_MAX_WAITING', '64');
    expect(configFromEnv().enforceMaxWaiting).toBe(64);
    vi.unstubAllEnvs();
    expect(configFromEnv().enforceMaxWaiting).toBeUndefined();
  });

  it('reads ECT_LEDGER_HEADERS for a ledger server as OTEL_EXPORTER_OTLP_HEADERS is read (pairs, values URL-encoded)', () => {
    vi.stubEnv('ECT_LEDGER', 'https://ledger.internal:8443');
    vi.stubEnv('ECT_LEDGER_HEADERS', 'authorization=Bearer%20s3cret,x-tenant=payments');
    expect(configFromEnv().ledger).toEqual({
      kind: 'http',
      url: new URL('https://ledger.internal:8443'),
      headers: { authorization: 'Bearer s3cret', 'x-tenant': 'payments' },
    });
    vi.stubEnv('ECT_LEDGER_HEADERS', '');
    expect(configFromEnv().ledger).toMatchObject({ kind: 'http', headers: {} });
  });
});
