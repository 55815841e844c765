/**
 * Draft versions: -01 is emitted by default (`exec+jwt`, `pred`, `ect_ext`); a signer set to -00
 * emits `wimse-exec+jwt`, `par`, `ext` for peers that only know -00. Both are read and normalised
 * to the -01 shape, with the draft reported.
 */
import { describe, expect, it } from 'vitest';
import { TYP_00, TYP_01, type EctErrorCode } from '../../../src/token/index.js';
import {
  decodePart,
  expectAcceptedBoth,
  expectRejectedBoth,
  headerFor,
  makeIssuer,
  PRED_A,
  PRED_B,
  signCompact,
  validClaims,
  verifyOptions,
  WID,
} from '../../helpers/ect.js';

const ext = { 'org.example.trace_id': '4bf92f3577b34da6a3ce929d0e0e4736', 'org.example.nested': { a: [1, 2] } };

describe('-01 (default)', () => {
  const issuer = makeIssuer('ES256');

  it('emits typ exec+jwt with pred and ect_ext', async () => {
    expect(issuer.signer.draft).toBe('01');
    const claims = validClaims({ pred: [PRED_A], ect_ext: ext, wid: WID });
    const token = issuer.signer.sign(claims);
    expect(decodePart(token, 0)).toEqual({ alg: 'ES256', typ: TYP_01, kid: issuer.key.kid });
    const payload = decodePart(token, 1);
    expect(payload.pred).toEqual([PRED_A]);
    expect(payload.ect_ext).toEqual(ext);
    expect(payload).not.toHaveProperty('par');
    expect(payload).not.toHaveProperty('ext');
    const result = await expectAcceptedBoth(verifyOptions(issuer.resolver), token);
    expect(result.draft).toBe('01');
    expect(result.claims).toEqual(claims);
  });

  it('reads a hand-built -01 token that uses the -00 typ', async () => {
    const claims = validClaims({ pred: [PRED_A, PRED_B], ect_ext: ext });
    const token = signCompact(headerFor(issuer.key, TYP_00), claims, issuer.key);
    const result = await expectAcceptedBoth(verifyOptions(issuer.resolver), token);
    expect(result.draft).toBe('01');
    expect(result.header.typ).toBe(TYP_00);
    expect(result.claims).toEqual(claims);
  });
});

describe('-00 (by setting)', () => {
  const issuer = makeIssuer('EdDSA', { draft: '00' });

  it('emits typ wimse-exec+jwt with par and ext', () => {
    expect(issuer.signer.draft).toBe('00');
    const token = issuer.signer.sign(validClaims({ pred: [PRED_A], ect_ext: ext }));
    expect(decodePart(token, 0)).toEqual({ alg: 'EdDSA', typ: TYP_00, kid: issuer.key.kid });
    const payload = decodePart(token, 1);
    expect(payload.par).toEqual([PRED_A]);
    expect(payload.ext).toEqual(ext);
    expect(payload).not.toHaveProperty('pred');
    expect(payload).not.toHaveProperty('ect_ext');
  });

  it('verifies and normalises to pred/ect_ext with draft 00 reported', async () => {
    const claims = validClaims({ pred: [PRED_A], ect_ext: ext, wid: WID });
    const result = await expectAcceptedBoth(verifyOptions(issuer.resolver), issuer.signer.sign(claims));
    expect(result.draft).toBe('00');
    expect(result.header.typ).toBe(TYP_00);
    expect(result.claims).toEqual(claims);
    expect(result.claims).not.toHaveProperty('par');
    expect(result.claims).not.toHaveProperty('ext');
  });

  it('omits ext when there is no extension, and a root has par = []', async () => {
    const token = issuer.signer.sign(validClaims());
    const payload = decodePart(token, 1);
    expect(payload.par).toEqual([]);
    expect(payload).not.toHaveProperty('ext');
    const result = await expectAcceptedBoth(verifyOptions(issuer.resolver), token);
    expect(result.claims.pred).toEqual([]);
    expect(result.claims).not.toHaveProperty('ect_ext');
  });

  it('applies the ect_ext limits and formats to ext and par', async () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 5; i++) deep = { n: deep };
    await expectRejectedBoth(
      verifyOptions(issuer.resolver),
      issuer.signer.sign(validClaims({ ect_ext: deep as never })),
      'ECT_EXT_TOO_DEEP',
    );
    const { pred: _pred, ...rest } = validClaims();
    const token = signCompact(headerFor(issuer.key, TYP_00), { ...rest, par: ['not-a-uuid'] }, issuer.key);
    const error = await expectRejectedBoth(verifyOptions(issuer.resolver), token, 'ECT_FORMAT_INVALID');
    expect(error.claim).toBe('par');
  });

  it('refuses a -00 token that also carries pred', async () => {
    const token = signCompact(headerFor(issuer.key, TYP_00), { ...validClaims(), par: [] }, issuer.key);
    await expectRejectedBoth(verifyOptions(issuer.resolver), token, 'ECT_CLAIM_INVALID');
  });

  it('reads -00 claim names under the -01 typ as -00', async () => {
    const { pred: _pred, ...rest } = validClaims();
    const token = signCompact(headerFor(issuer.key, TYP_01), { ...rest, par: [PRED_B] }, issuer.key);
    const result = await expectAcceptedBoth(verifyOptions(issuer.resolver), token);
    expect(result.draft).toBe('00');
    expect(result.claims.pred).toEqual([PRED_B]);
  });
});

describe('errors name the claim as the token spells it', () => {
  const issuer = makeIssuer('ES256');
  const JTI = '5f0c6a1e-2b3d-4c5e-8f9a-0b1c2d3e4f50';

  /** A -00 token (typ wimse-exec+jwt, par, ext) with `par` and `ext` as given (undefined: left out). */
  function token00(par: unknown, extValue?: unknown): string {
    const { pred: _pred, ...rest } = validClaims({ jti: JTI });
    const payload: Record<string, unknown> = { ...rest };
    if (par !== undefined) payload.par = par;
    if (extValue !== undefined) payload.ext = extValue;
    return signCompact(headerFor(issuer.key, TYP_00), payload, issuer.key);
  }

  /** The same claims in the -01 spelling. */
  function token01(pred: unknown, extValue?: unknown): string {
    const payload: Record<string, unknown> = { ...validClaims({ jti: JTI }), pred };
    if (extValue !== undefined) payload.ect_ext = extValue;
    return signCompact(headerFor(issuer.key, TYP_01), payload, issuer.key);
  }

  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 6; i++) deep = { n: deep };
  const cases: [string, EctErrorCode, 'pred' | 'ext', unknown, unknown][] = [
    [
      'too many predecessors',
      'ECT_PRED_TOO_MANY',
      'pred',
      [PRED_A, PRED_B, '0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e61'],
      undefined,
    ],
    ['a predecessor that is not a UUID', 'ECT_FORMAT_INVALID', 'pred', ['not-a-uuid'], undefined],
    ['a predecessor listed twice', 'ECT_FORMAT_INVALID', 'pred', [PRED_A, PRED_A], undefined],
    ['the token as its own predecessor', 'ECT_FORMAT_INVALID', 'pred', [JTI], undefined],
    ['predecessors that are not an array', 'ECT_CLAIM_INVALID', 'pred', PRED_A, undefined],
    ['an extension over the size limit', 'ECT_EXT_TOO_LARGE', 'ext', [], { 'org.example.big': 'x'.repeat(200) }],
    ['an extension nested too deep', 'ECT_EXT_TOO_DEEP', 'ext', [], deep],
    ['an extension that is not an object', 'ECT_CLAIM_INVALID', 'ext', [], ['a']],
  ];
  const options = verifyOptions(issuer.resolver, { maxPred: 2, maxExtBytes: 100 });

  it.each(cases)('-00: %s names par/ext', async (_name, code, which, pred, extValue) => {
    const error = await expectRejectedBoth(options, token00(pred, extValue), code);
    const [spelled, other] = which === 'pred' ? ['par', /\bpred\b/] : ['ext', /ect_ext/];
    expect(error.claim).toBe(spelled);
    expect(error.message).not.toMatch(other);
    expect(error.message).toMatch(new RegExp(`\\b${spelled}\\b|own predecessor`));
  });

  it.each(cases)('-01: %s names pred/ect_ext', async (_name, code, which, pred, extValue) => {
    const error = await expectRejectedBoth(options, token01(pred, extValue), code);
    expect(error.claim).toBe(which === 'pred' ? 'pred' : 'ect_ext');
  });

  it('a -00 token without par is missing par; a -01 token without pred is missing pred', async () => {
    const missing00 = await expectRejectedBoth(options, token00(undefined), 'ECT_CLAIM_MISSING');
    expect(missing00.claim).toBe('par');
    expect(missing00.message).toBe('required claim par is missing');
    const { pred: _pred, ...rest } = validClaims();
    const missing01 = await expectRejectedBoth(
      options,
      signCompact(headerFor(issuer.key, TYP_01), rest, issuer.key),
      'ECT_CLAIM_MISSING',
    );
    expect(missing01.claim).toBe('pred');
  });

  it('a -00 token carrying both spellings is refused naming par and ext', async () => {
    const both = signCompact(headerFor(issuer.key, TYP_00), { ...validClaims(), par: [] }, issuer.key);
    expect((await expectRejectedBoth(options, both, 'ECT_CLAIM_INVALID')).claim).toBe('par');
    const { pred: _pred, ...rest } = validClaims();
    const bothExt = signCompact(headerFor(issuer.key, TYP_00), { ...rest, par: [], ext: {}, ect_ext: {} }, issuer.key);
    expect((await expectRejectedBoth(options, bothExt, 'ECT_CLAIM_INVALID')).claim).toBe('ext');
  });
});
