/**
 * Interoperability with two implementations that share no code with this project: jwcrypto
 * (Python) and go-jose (Go), built by test/interop/setup.sh into ~/.cache/otel-ect. Both ways:
 * - our tokens, of every algorithm and both drafts, verify there: signature, `typ`, and a `kid`
 *   equal to *their* RFC 7638 thumbprint of our public JWK (they pick the key by thumbprint);
 * - their tokens verify here, on both paths (`verifySync` and `verify`);
 * - bad tokens they sign (wrong `typ`, `alg` none/HS256/RS256, DER-encoded ECDSA signatures,
 *   missing claims, expired, wrong `aud`) are refused here with the expected codes.
 * The protocol spoken with each side is in test/interop/README.md.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { EctSigner, type EctAlgorithm, type EctErrorCode } from '../../src/token/index.js';
import { JwksResolver, jwkThumbprint, publicJwkOf, type JwkSet } from '../../src/keys/index.js';
import {
  decodePart,
  expectAcceptedBoth,
  expectRejectedBoth,
  headerFor,
  ISS,
  makeIssuer,
  NOW,
  PRED_A,
  signCompact,
  validClaims,
  verifyOptions,
  WID,
} from '../helpers/ect.js';

/** A cold setup downloads jwcrypto's wheels and go-jose and compiles both (about 25 s here). */
const SETUP_TIMEOUT_MS = 15 * 60_000;
const SIDE_TIMEOUT_MS = 60_000;

const ALGS: readonly EctAlgorithm[] = ['ES256', 'ES384', 'EdDSA'];
const DRAFTS = [
  { draft: '00', typ: 'wimse-exec+jwt' },
  { draft: '01', typ: 'exec+jwt' },
] as const;
const EXT = { 'org.example.trace_id': '4bf92f3577b34da6a3ce929d0e0e4736', 'org.example.n': { a: [1, 2] } };

/** What one side is asked to sign: its own key for `alg`, the header `typ`, these claims. */
interface SignSpec {
  name: string;
  alg: EctAlgorithm | 'none' | 'HS256' | 'RS256';
  typ?: string;
  payload: Record<string, unknown>;
  /** Replace the IEEE P1363 signature by a DER-encoded one over the same input. */
  der?: boolean;
}

interface ForeignVerdict {
  ok: boolean;
  error?: string;
  alg?: string;
  typ?: string;
  kid?: string;
  payload?: Record<string, unknown>;
}

interface ForeignResponse {
  library: string;
  verified: ForeignVerdict[];
  jwks: JwkSet;
  signed: Record<string, string>;
}

interface Side {
  name: string;
  command: string;
  args: string[];
}

/** Claims in the spelling of `draft`: -00 `par`/`ext`, -01 `pred`/`ect_ext`. */
function payloadFor(draft: '00' | '01', overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { pred, ect_ext, ...rest } = validClaims({ pred: [PRED_A], wid: WID, ect_ext: EXT });
  const claims = draft === '00' ? { ...rest, par: pred, ext: ect_ext } : { ...rest, pred, ect_ext };
  return { ...claims, ...overrides };
}

function without(payload: Record<string, unknown>, name: string): Record<string, unknown> {
  const copy = { ...payload };
  delete copy[name];
  return copy;
}

const goodSpecs: SignSpec[] = ALGS.flatMap((alg) =>
  DRAFTS.map(({ draft, typ }) => ({ name: `good-${alg}-${draft}`, alg, typ, payload: payloadFor(draft) })),
);

/** Bad tokens they sign, and the code this project must refuse each with. */
const badSpecs: (SignSpec & { code: EctErrorCode; claim?: string })[] = [
  { name: 'typ-jwt', alg: 'ES256', typ: 'JWT', payload: payloadFor('01'), code: 'ECT_TYP_INVALID', claim: 'typ' },
  { name: 'typ-absent', alg: 'ES256', payload: payloadFor('01'), code: 'ECT_TYP_INVALID', claim: 'typ' },
  { name: 'alg-none', alg: 'none', typ: 'exec+jwt', payload: payloadFor('01'), code: 'ECT_ALG_NOT_ALLOWED' },
  { name: 'alg-hs256', alg: 'HS256', typ: 'exec+jwt', payload: payloadFor('01'), code: 'ECT_ALG_NOT_ALLOWED' },
  { name: 'alg-rs256', alg: 'RS256', typ: 'exec+jwt', payload: payloadFor('01'), code: 'ECT_ALG_NOT_ALLOWED' },
  {
    name: 'der-es256',
    alg: 'ES256',
    typ: 'exec+jwt',
    payload: payloadFor('01'),
    der: true,
    code: 'ECT_SIGNATURE_INVALID',
  },
  {
    name: 'der-es384',
    alg: 'ES384',
    typ: 'exec+jwt',
    payload: payloadFor('01'),
    der: true,
    code: 'ECT_SIGNATURE_INVALID',
  },
  {
    name: 'missing-exec_act',
    alg: 'ES256',
    typ: 'exec+jwt',
    payload: without(payloadFor('01'), 'exec_act'),
    code: 'ECT_CLAIM_MISSING',
    claim: 'exec_act',
  },
  {
    name: 'missing-par',
    alg: 'EdDSA',
    typ: 'wimse-exec+jwt',
    payload: without(payloadFor('00'), 'par'),
    code: 'ECT_CLAIM_MISSING',
    claim: 'par',
  },
  {
    name: 'missing-jti',
    alg: 'ES384',
    typ: 'exec+jwt',
    payload: without(payloadFor('01'), 'jti'),
    code: 'ECT_CLAIM_MISSING',
    claim: 'jti',
  },
  {
    name: 'expired',
    alg: 'ES256',
    typ: 'exec+jwt',
    payload: payloadFor('01', { iat: NOW - 1200, exp: NOW - 600 }),
    code: 'ECT_EXPIRED',
    claim: 'exp',
  },
  {
    name: 'wrong-aud',
    alg: 'EdDSA',
    typ: 'exec+jwt',
    payload: payloadFor('01', { aud: 'spiffe://other.example' }),
    code: 'ECT_AUD_MISMATCH',
    claim: 'aud',
  },
];

/** Our tokens for them to verify, what each must verify as, and controls that must fail there. */
const ours = ALGS.flatMap((alg) =>
  DRAFTS.map(({ draft, typ }) => {
    const issuer = makeIssuer(alg, { draft });
    const token = issuer.signer.sign(validClaims({ pred: [PRED_A], wid: WID, ect_ext: EXT }));
    return { name: `${alg} -${draft}`, alg, typ, issuer, token };
  }),
);
const control = makeIssuer('ES256');
const controls = [
  // The signature of another token: a verifier that checks nothing would take it.
  {
    name: 'a forged signature',
    token: `${ours[1]!.token.split('.').slice(0, 2).join('.')}.${ours[0]!.token.split('.')[2]}`,
  },
  // A kid that is not the thumbprint of any key of the set.
  {
    name: 'a kid that is not the thumbprint',
    token: new EctSigner({ ...control.key, kid: 'not-a-thumbprint' }).sign(validClaims()),
  },
  { name: 'typ JWT', token: signCompact(headerFor(control.key, 'JWT'), validClaims(), control.key) },
];
const ourJwks: JwkSet = {
  // ect_iss rides along as it does in published sets: an unknown member they must tolerate.
  keys: [...ours.map(({ issuer }) => publicJwkOf(issuer.key, [ISS])), publicJwkOf(control.key)],
};

const here = fileURLToPath(new URL('.', import.meta.url));
const SIDE_NAMES = ['Python jwcrypto', 'Go go-jose'] as const;
const sides = new Map<string, Side>();

beforeAll(() => {
  const out = execFileSync('bash', [`${here}setup.sh`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: SETUP_TIMEOUT_MS,
  });
  const paths = JSON.parse(out.trim().split('\n').at(-1) ?? '') as { python: string; pythonScript: string; go: string };
  sides.set('Python jwcrypto', { name: 'Python jwcrypto', command: paths.python, args: [paths.pythonScript] });
  sides.set('Go go-jose', { name: 'Go go-jose', command: paths.go, args: [] });
}, SETUP_TIMEOUT_MS);

function ask(side: Side, request: unknown): ForeignResponse {
  const out = execFileSync(side.command, side.args, {
    encoding: 'utf8',
    input: JSON.stringify(request),
    stdio: ['pipe', 'pipe', 'inherit'],
    timeout: SIDE_TIMEOUT_MS,
  });
  return JSON.parse(out) as ForeignResponse;
}

describe.each(SIDE_NAMES)('interop with %s', (sideName) => {
  let side: Side;
  let response: ForeignResponse;
  let resolver: JwksResolver;

  beforeAll(() => {
    side = sides.get(sideName)!;
    response = ask(side, {
      verify: { jwks: ourJwks, tokens: [...ours.map(({ token }) => token), ...controls.map(({ token }) => token)] },
      sign: [...goodSpecs, ...badSpecs.map(({ code: _code, claim: _claim, ...spec }) => spec)],
    });
    resolver = JwksResolver.fromJwks(response.jwks);
  }, SIDE_TIMEOUT_MS);

  it('is the library it claims to be, and publishes one key per algorithm with its thumbprint as kid', () => {
    expect(response.library).toMatch(side.name.includes('Python') ? /^jwcrypto \d/ : /go-jose/);
    expect(response.jwks.keys.map((jwk) => (jwk as { alg?: string }).alg)).toEqual(ALGS);
    for (const jwk of response.jwks.keys) expect((jwk as { kid?: string }).kid).toBe(jwkThumbprint(jwk));
  });

  it.each(ours.map((entry, i) => [entry.name, i] as const))(
    'verifies our %s token: signature, typ, and kid = its own thumbprint of our JWK',
    (_name, i) => {
      const { alg, typ, issuer, token } = ours[i]!;
      const verdict = response.verified[i]!;
      expect(verdict.error, `${side.name} refused it`).toBeUndefined();
      expect(verdict.ok).toBe(true);
      expect(verdict.alg).toBe(alg);
      expect(verdict.typ).toBe(typ);
      expect(verdict.kid).toBe(issuer.key.kid);
      expect(verdict.payload).toEqual(decodePart(token, 1));
    },
  );

  it.each(controls.map((entry, i) => [entry.name, i] as const))('refuses our control token with %s', (_name, i) => {
    const verdict = response.verified[ours.length + i]!;
    expect(verdict.ok).toBe(false);
    expect(verdict.error).toEqual(expect.any(String));
  });

  it.each(goodSpecs.map(({ name }) => name))('signs %s, which verifies here on both paths', async (name) => {
    const spec = goodSpecs.find((s) => s.name === name)!;
    const token = response.signed[name]!;
    const header = decodePart(token, 0);
    expect(header).toMatchObject({ alg: spec.alg, typ: spec.typ });
    expect(resolver.resolveSync(header.kid as string)?.alg).toBe(spec.alg);
    const verified = await expectAcceptedBoth(verifyOptions(resolver), token);
    const draft = spec.typ === 'wimse-exec+jwt' ? '00' : '01';
    expect(verified.draft).toBe(draft);
    expect(verified.claims).toEqual(validClaims({ pred: [PRED_A], wid: WID, ect_ext: EXT, jti: verified.claims.jti }));
    expect(verified.claims.jti).toBe(spec.payload.jti);
  });

  it.each(badSpecs.map(({ name, code }) => [name, code] as const))(
    'signs %s, refused here as %s',
    async (name, code) => {
      const spec = badSpecs.find((s) => s.name === name)!;
      const token = response.signed[name]!;
      expect(decodePart(token, 0).alg).toBe(spec.alg);
      const error = await expectRejectedBoth(verifyOptions(resolver), token, code);
      if (spec.claim !== undefined) expect(error.claim).toBe(spec.claim);
      if (spec.alg === 'none') expect(token.endsWith('.')).toBe(true);
      if (spec.der) expect(Buffer.from(token.split('.')[2]!, 'base64url')[0]).toBe(0x30);
    },
  );
});
