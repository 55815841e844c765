/** Building blocks: base64url, format predicates, JSON depth, errors, options, unverified decoding. */
import { describe, expect, it } from 'vitest';
import {
  base64url,
  decodeJsonObject,
  decodeUnverified,
  EctClaimError,
  EctDagError,
  EctError,
  EctFormatError,
  EctHeaderError,
  EctHeaderLimitError,
  EctKeyError,
  EctReplayError,
  EctSignatureError,
  EctTimeError,
  hashOctets,
  isCanonicalBase64url,
  isEctError,
  isHashValue,
  isUuid,
  jsonDepth,
  LIMITS,
  resolveVerifyOptions,
} from '../../../src/token/index.js';
import { sharedIssuer, validClaims } from '../../helpers/ect.js';

describe('base64url', () => {
  it('encodes text as UTF-8 and bytes as given, without padding', () => {
    expect(base64url('{"alg":"ES256"}')).toBe('eyJhbGciOiJFUzI1NiJ9');
    expect(base64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    const view = new Uint8Array([9, 0xfb, 0xff, 9]).subarray(1, 3);
    expect(base64url(view)).toBe('-_8');
  });

  it('accepts only the canonical encoding of each byte string', () => {
    expect(isCanonicalBase64url('')).toBe(true);
    expect(isCanonicalBase64url('AQ')).toBe(true);
    expect(isCanonicalBase64url('AR')).toBe(false);
    expect(isCanonicalBase64url('AQI')).toBe(true);
    expect(isCanonicalBase64url('AQJ')).toBe(false);
    expect(isCanonicalBase64url('A')).toBe(false);
    expect(isCanonicalBase64url('AQ==')).toBe(false);
    expect(isCanonicalBase64url('a+b/')).toBe(false);
    for (let n = 0; n < 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + 255) & 0xff));
      expect(isCanonicalBase64url(bytes.toString('base64url'))).toBe(true);
    }
  });
});

describe('format predicates', () => {
  it('isUuid', () => {
    expect(isUuid('0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e6f')).toBe(true);
    expect(isUuid('0190B7A4-8D6E-7CC4-9A7E-3C1F5B2D4E6F')).toBe(true);
    expect(isUuid('0190b7a48d6e7cc49a7e3c1f5b2d4e6f')).toBe(false);
    expect(isUuid('0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e6f\n')).toBe(false);
    expect(isUuid(42)).toBe(false);
  });

  it('isHashValue', () => {
    expect(isHashValue(hashOctets('x'))).toBe(true);
    expect(isHashValue(hashOctets('x').slice(1))).toBe(false);
    expect(isHashValue(`${hashOctets('x').slice(0, 42)}B`)).toBe(false);
    expect(isHashValue(null)).toBe(false);
  });

  it('jsonDepth', () => {
    expect(jsonDepth(1)).toBe(0);
    expect(jsonDepth(null)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth([])).toBe(1);
    expect(jsonDepth({ a: { b: 1 } })).toBe(2);
    expect(jsonDepth({ a: 1, b: [1, [2, { c: {} }]] })).toBe(5);
    let deep: unknown = 0;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    // Bounded by the limit: never walks the whole hostile value.
    expect(jsonDepth(deep as never, 6)).toBe(7);
  });
});

describe('errors', () => {
  it('carry a stable code, a 403 status (401 only for ECT_MISSING), the class name and a JSON body', () => {
    const cases: [EctError, string][] = [
      [new EctFormatError('ECT_MALFORMED', 'm'), 'EctFormatError'],
      [new EctHeaderError('ECT_TYP_INVALID', 'm', { claim: 'typ' }), 'EctHeaderError'],
      [new EctSignatureError(), 'EctSignatureError'],
      [new EctClaimError('ECT_CLAIM_MISSING', 'm', { claim: 'iss' }), 'EctClaimError'],
      [new EctTimeError('ECT_EXPIRED', 'm'), 'EctTimeError'],
      [new EctReplayError('j'), 'EctReplayError'],
      [new EctDagError('ECT_DAG_CYCLE', 'j', 'm'), 'EctDagError'],
      [new EctHeaderLimitError('m'), 'EctHeaderLimitError'],
      [new EctKeyError('m'), 'EctKeyError'],
    ];
    for (const [error, name] of cases) {
      expect(error).toBeInstanceOf(EctError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(error.status).toBe(403);
      expect(isEctError(error)).toBe(true);
      expect(isEctError(error, error.code)).toBe(true);
      expect(isEctError(error, 'ECT_MISSING')).toBe(false);
    }
    expect(new EctError('ECT_MISSING', 'no token').status).toBe(401);
    expect(new EctReplayError('j').toJSON()).toEqual({
      code: 'ECT_REPLAY',
      message: 'token j was already presented',
      claim: 'jti',
    });
    expect(new EctKeyError('m').code).toBe('ECT_KEY_INVALID');
    expect(isEctError(new Error('x'))).toBe(false);
    expect(isEctError({ code: 'ECT_MALFORMED' })).toBe(false);
  });
});

describe('resolveVerifyOptions', () => {
  it('fills in the profile defaults', () => {
    const keys = { resolveSync: () => undefined };
    const resolved = resolveVerifyOptions({ keys });
    expect(resolved).toMatchObject({
      algorithms: ['ES256', 'ES384', 'EdDSA'],
      audience: [],
      audit: false,
      issuers: {},
      strictIssuerBinding: false,
      clockSkewSeconds: LIMITS.clockSkewSeconds,
      maxAgeSeconds: LIMITS.maxAgeSeconds,
      maxTokenBytes: LIMITS.maxTokenBytes,
      maxExtBytes: LIMITS.maxExtBytes,
      maxExtDepth: LIMITS.maxExtDepth,
      maxPred: LIMITS.maxPred,
    });
    expect(resolveVerifyOptions({ keys, audience: 'a' }).audience).toEqual(['a']);
    expect(resolveVerifyOptions({ keys, audience: ['a', 'b'] }).audience).toEqual(['a', 'b']);
  });
});

describe('decodeUnverified and decodeJsonObject', () => {
  it('reads header and payload without verifying', () => {
    const issuer = sharedIssuer('ES256');
    const claims = validClaims();
    const token = issuer.signer.sign(claims);
    const forged = `${token.split('.').slice(0, 2).join('.')}.AAAA`;
    expect(decodeUnverified(forged)).toEqual({
      header: { alg: 'ES256', typ: 'exec+jwt', kid: issuer.key.kid },
      payload: claims,
    });
  });

  it('still refuses what is not a token at all', () => {
    expect(() => decodeUnverified('a.b')).toThrow(expect.objectContaining({ code: 'ECT_MALFORMED' }));
    expect(() => decodeUnverified('x'.repeat(5000))).toThrow(expect.objectContaining({ code: 'ECT_TOO_LARGE' }));
  });

  it('decodes JSON objects from text or bytes and refuses other JSON', () => {
    expect(decodeJsonObject('eyJhIjoxfQ', 'payload')).toEqual({ a: 1 });
    expect(decodeJsonObject(new Uint8Array(Buffer.from('{"a":1}')), 'payload')).toEqual({ a: 1 });
    expect(() => decodeJsonObject(base64url('[1]'), 'header')).toThrow(
      expect.objectContaining({ code: 'ECT_MALFORMED' }),
    );
    expect(() => decodeJsonObject(base64url('{'), 'header')).toThrow(EctFormatError);
  });
});
