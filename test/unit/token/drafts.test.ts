/**
 * Draft versions: -01 is emitted by default (`exec+jwt`, `pred`, `ect_ext`); a signer set to -00
 * emits `wimse-exec+jwt`, `par`, `ext` for peers that only know -00. Both are read and normalised
 * to the -01 shape, with the draft reported.
 */
import { describe, expect, it } from 'vitest';
import { TYP_00, TYP_01 } from '../../../src/token/index.js';
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
    expect(error.claim).toBe('pred');
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
