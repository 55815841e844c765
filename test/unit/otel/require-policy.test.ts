import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REQUIRE_EXEMPT,
  EctConfigError,
  EctRequirePolicyError,
  parseRequirePolicy,
  requirePolicyFromEnv,
  tokenRequired,
} from '../../../src/otel/index.js';

describe('parseRequirePolicy', () => {
  it('none (or unset) requires nothing; all and prefixes carry the default exemptions', () => {
    expect(parseRequirePolicy(undefined, undefined)).toEqual({ kind: 'none' });
    expect(parseRequirePolicy(' NONE ', undefined)).toEqual({ kind: 'none' });
    expect(parseRequirePolicy('all', undefined)).toEqual({ kind: 'all', exempt: DEFAULT_REQUIRE_EXEMPT });
    expect(parseRequirePolicy('/api, /admin/', undefined)).toEqual({
      kind: 'prefixes',
      prefixes: ['/api', '/admin'],
      exempt: DEFAULT_REQUIRE_EXEMPT,
    });
  });

  it('an empty exemption list exempts nothing; a set one replaces the default', () => {
    expect(parseRequirePolicy('all', '')).toEqual({ kind: 'all', exempt: [] });
    expect(parseRequirePolicy('all', '/ping')).toEqual({ kind: 'all', exempt: ['/ping'] });
  });

  it('refuses what is not a path prefix, naming the variable', () => {
    for (const [require, exempt, variable] of [
      ['api', undefined, 'ECT_REQUIRE'],
      ['/api?x=1', undefined, 'ECT_REQUIRE'],
      [' , ', undefined, 'ECT_REQUIRE'],
      ['all', 'health', 'ECT_REQUIRE_EXEMPT'],
    ] as const) {
      const error = (() => {
        try {
          parseRequirePolicy(require, exempt);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error, `${require} / ${exempt}`).toBeInstanceOf(EctRequirePolicyError);
      // A configuration error like any other, with its stable code.
      expect(error).toBeInstanceOf(EctConfigError);
      expect((error as EctRequirePolicyError).code).toBe('ECT_CONFIG_INVALID');
      expect((error as EctRequirePolicyError).variable).toBe(variable);
    }
  });

  it('reads ECT_REQUIRE and ECT_REQUIRE_EXEMPT', () => {
    expect(requirePolicyFromEnv({ ECT_REQUIRE: '/api', ECT_REQUIRE_EXEMPT: '/api/health' })).toEqual({
      kind: 'prefixes',
      prefixes: ['/api'],
      exempt: ['/api/health'],
    });
  });
});

describe('tokenRequired', () => {
  const api = parseRequirePolicy('/api', '/api/health');
  const all = parseRequirePolicy('all', undefined);

  it('matches whole path segments, ignoring the query', () => {
    expect(tokenRequired(api, '/api')).toBe(true);
    expect(tokenRequired(api, '/api/orders?id=1')).toBe(true);
    expect(tokenRequired(api, '/apix')).toBe(false);
    expect(tokenRequired(api, '/other')).toBe(false);
    expect(tokenRequired(api, '/api/health')).toBe(false);
    expect(tokenRequired(api, '/api/health/deep?x')).toBe(false);
  });

  it('a spelling a router may normalise can make a path required, never exempt', () => {
    expect(tokenRequired(api, '/API/orders')).toBe(true);
    expect(tokenRequired(api, '/%61pi/orders')).toBe(true);
    expect(tokenRequired(api, '/x/../api')).toBe(true);
    expect(tokenRequired(api, '//api')).toBe(true);
    expect(tokenRequired(api, '/x\\..\\api')).toBe(true);
    expect(tokenRequired(api, '/api/health/../orders')).toBe(true);
    expect(tokenRequired(api, '/api/%68ealth')).toBe(true);
    expect(tokenRequired(all, '/healthz/../admin')).toBe(true);
    expect(tokenRequired(all, '/HEALTHZ')).toBe(true);
  });

  it('all: every target but the exempt paths, a CONNECT authority included', () => {
    expect(tokenRequired(all, '/anything')).toBe(true);
    expect(tokenRequired(all, '/healthz')).toBe(false);
    expect(tokenRequired(all, '/metrics?name=x')).toBe(false);
    expect(tokenRequired(all, 'db.internal:5432')).toBe(true);
    expect(tokenRequired(api, 'db.internal:5432')).toBe(false);
    expect(tokenRequired(api, 'http://proxy.example/api/x')).toBe(true);
  });

  it('none: nothing', () => {
    expect(tokenRequired(parseRequirePolicy('none', undefined), '/api')).toBe(false);
  });
});
