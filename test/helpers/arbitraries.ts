/**
 * fast-check arbitraries for the property tests: valid claims, mutations of a compact token, and
 * adversarial header/payload objects signed with real keys.
 */
import fc from 'fast-check';
import { JwksResolver } from '../../src/keys/index.js';
import { EctSigner, hashOctets, jsonDepth, LIMITS, type EctClaims, type JsonObject } from '../../src/token/index.js';
import { AUD, ISS, makeIssuer, NOW, Raw, sharedIssuer, signCompact, type Issuer } from './ect.js';

/** The keys of the property tests: one per algorithm, plus an ES256 key bound to {@link ISS}. */
export const issuers: Issuer[] = [
  sharedIssuer('ES256'),
  sharedIssuer('ES384'),
  sharedIssuer('EdDSA'),
  makeIssuer('ES256', { issuers: [ISS] }),
];
/** A resolver holding every key of {@link issuers}. */
export const allKeys = new JwksResolver(issuers.map((issuer) => issuer.verificationKey));

/** Any text: printable graphemes (unicode included) or arbitrary UTF-16 (lone surrogates included). */
export const anyText = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength }),
    fc.string({ unit: 'binary', minLength: 1, maxLength }),
  );

/** Reverse-DNS style extension keys. */
const extKey = fc.oneof(
  fc.constantFrom('org.example.trace_id', 'org.example.span_id', 'pol', 'pol_decision', 'com.acme.x'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

/** An `ect_ext` within the limits (≤ 4096 bytes serialised, depth ≤ 5). */
export const extArb: fc.Arbitrary<JsonObject> = fc
  .dictionary(extKey, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5, noNullPrototype: true })
  .map((ext) => JSON.parse(JSON.stringify(ext)) as JsonObject)
  .filter(
    (ext) =>
      Buffer.byteLength(JSON.stringify(ext)) <= LIMITS.maxExtBytes &&
      jsonDepth(ext, LIMITS.maxExtDepth + 1) <= LIMITS.maxExtDepth,
  );

/** Claims that pass every check at {@link NOW} for a verifier of {@link AUD} (token size aside). */
export const claimsArb: fc.Arbitrary<EctClaims> = fc
  .record(
    {
      iss: fc.oneof({ weight: 3, arbitrary: fc.constant(ISS) }, { weight: 1, arbitrary: anyText() }),
      aud: fc.oneof(
        fc.constant(AUD),
        fc
          .array(anyText(), { maxLength: 3 })
          .chain((others) => fc.shuffledSubarray([AUD, ...others], { minLength: others.length + 1 })),
      ),
      iat: fc.integer({ min: NOW - 800, max: NOW + 20 }),
      // exp lands after NOW whatever iat is, so the claims are live at NOW.
      expAfterNow: fc.integer({ min: 1, max: 3600 }),
      jti: fc.uuid(),
      wid: fc.option(fc.uuid(), { nil: undefined }),
      exec_act: anyText(60),
      pred: fc.uniqueArray(fc.uuid(), { maxLength: 12, selector: (u) => u.toLowerCase() }),
      inp_hash: fc.option(
        fc.string().map((s) => hashOctets(s)),
        { nil: undefined },
      ),
      out_hash: fc.option(
        fc.string().map((s) => hashOctets(s)),
        { nil: undefined },
      ),
      ect_ext: fc.option(extArb, { nil: undefined }),
    },
    { noNullPrototype: true },
  )
  .filter((c) => !c.pred.some((p) => p.toLowerCase() === c.jti.toLowerCase()))
  .map(({ expAfterNow, iat, wid, inp_hash, out_hash, ect_ext, ...rest }) => {
    const claims: EctClaims = { ...rest, iat, exp: Math.max(iat, NOW) + expAfterNow };
    if (wid !== undefined) claims.wid = wid;
    if (inp_hash !== undefined) claims.inp_hash = inp_hash;
    if (out_hash !== undefined) claims.out_hash = out_hash;
    if (ect_ext !== undefined) claims.ect_ext = ect_ext;
    return claims;
  });

/** -00 signers for the same keys. */
const legacySigners = issuers.map((issuer) => new EctSigner(issuer.key, { draft: '00' }));

/**
 * Signs `claims` with issuer `index` in the given draft; a key bound to {@link ISS} signs them
 * with that `iss`, so that the result is valid.
 */
export function signValid(claims: EctClaims, index: number, draft: '00' | '01'): { token: string; claims: EctClaims } {
  const issuer = issuers[index]!;
  const signed = issuer.verificationKey.issuers === undefined ? claims : { ...claims, iss: ISS };
  return { token: (draft === '00' ? legacySigners[index]! : issuer.signer).sign(signed), claims: signed };
}

/** A valid token: claims from {@link claimsArb} signed by one of {@link issuers}, -01 or -00. */
export const validTokenArb: fc.Arbitrary<string> = fc
  .tuple(claimsArb, fc.nat({ max: issuers.length - 1 }), fc.constantFrom<'00' | '01'>('00', '01'))
  .map(([claims, index, draft]) => signValid(claims, index, draft).token);

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const mutationChar = fc.oneof(
  fc.constantFrom(...B64URL.split('')),
  fc.constantFrom('.', '=', '+', '/', ' ', '\n', 'é', '\u0000'),
);

/** One change to a compact token; the result always differs from the input. */
export function mutate(token: string): fc.Arbitrary<string> {
  const parts = token.split('.');
  const [h = '', p = '', s = ''] = parts;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
  const len = token.length;
  const b64 = (value: unknown) =>
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const options: fc.Arbitrary<string>[] = [
    // Flip a character anywhere.
    fc.tuple(fc.nat({ max: len - 1 }), mutationChar).map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1)),
    // Insert a character anywhere.
    fc.tuple(fc.nat({ max: len }), mutationChar).map(([i, c]) => token.slice(0, i) + c + token.slice(i)),
    // Delete one or more characters anywhere.
    fc
      .tuple(fc.nat({ max: len - 1 }), fc.integer({ min: 1, max: 8 }))
      .map(([i, n]) => token.slice(0, i) + token.slice(i + n)),
    // Truncate.
    fc.nat({ max: len - 1 }).map((n) => token.slice(0, n)),
    // Swap, drop or duplicate parts.
    fc.constantFrom(
      `${p}.${h}.${s}`,
      `${h}.${s}.${p}`,
      `${s}.${p}.${h}`,
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}.${h}.${s}`,
      `${h}.${p}.${h}`,
      `${p}.${p}.${s}`,
    ),
    // Re-encode the header with a changed, added or removed field, or only another key order or spacing.
    fc
      .oneof(
        fc
          .record({
            field: fc.constantFrom('alg', 'typ', 'kid', 'crit', 'b64', 'x5u', 'jwk', 'zip'),
            value: fc.jsonValue({ maxDepth: 1 }),
          })
          .map(({ field, value }) => b64({ ...header, [field]: value })),
        fc.constantFrom('alg', 'typ', 'kid').map((field) => {
          const copy = { ...header };
          delete copy[field];
          return b64(copy);
        }),
        fc.constant(b64(Object.fromEntries(Object.entries(header).reverse()))),
        fc.constant(b64(JSON.stringify(header, null, 1))),
        fc.constant(b64(`${JSON.stringify(header)} `)),
        fc.constantFrom('ES256', 'ES384', 'EdDSA', 'none', 'HS256').map((alg) => b64({ ...header, alg })),
        fc.constantFrom('exec+jwt', 'wimse-exec+jwt').map((typ) => b64({ ...header, typ })),
      )
      .map((newHeader) => `${newHeader}.${p}.${s}`),
    // Re-encode the payload as the same JSON with other bytes (spacing).
    fc.constant(`${h}.${b64(JSON.stringify(JSON.parse(Buffer.from(p, 'base64url').toString('utf8')), null, 1))}.${s}`),
    // Strip the signature, as an unsecured JWS (alg none, RFC 7515 A.5) is written, under another alg or the same.
    fc.constantFrom('none', 'None', 'ES256', 'EdDSA').map((alg) => `${b64({ ...header, alg })}.${p}.`),
    fc.constant(`${h}.${p}.`),
    // Replace the signature with random bytes of a plausible or odd length.
    fc
      .uint8Array({ minLength: 0, maxLength: 130 })
      .map((bytes) => `${h}.${p}.${Buffer.from(bytes).toString('base64url')}`),
    fc
      .constantFrom(64, 96)
      .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
      .map((bytes) => `${h}.${p}.${Buffer.from(bytes).toString('base64url')}`),
  ];
  return fc.oneof(...options).filter((mutated) => mutated !== token);
}

/** A valid token and one mutation of it. */
export const mutatedTokenArb: fc.Arbitrary<{ original: string; mutated: string }> = validTokenArb.chain((original) =>
  mutate(original).map((mutated) => ({ original, mutated })),
);

const CLAIM_NAMES = [
  'iss',
  'aud',
  'iat',
  'exp',
  'jti',
  'wid',
  'exec_act',
  'pred',
  'par',
  'inp_hash',
  'out_hash',
  'ect_ext',
  'ext',
  'nbf',
] as const;

/** Values likely to trip type checks and limits. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1e308,
    -0,
    0.5,
    '',
    [],
    {},
    [[]],
    NOW,
    NOW + 100_000,
    NOW - 100_000,
    'x'.repeat(5000),
    '00000000-0000-0000-0000-000000000000',
  ),
  fc.integer({ min: NOW - 2000, max: NOW + 2000 }),
  fc.double({ min: NOW - 2000, max: NOW + 2000, noNaN: true }),
  fc.uuid(),
  fc.constantFrom(
    'task-1',
    'sha-256:LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ',
    'LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCB',
    '3f2504e0-4f89-41d3-9a0c-0305e82c330',
  ),
  fc.array(fc.uuid(), { maxLength: 120 }),
  fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 3 }),
  fc.array(fc.oneof(fc.uuid(), fc.jsonValue({ maxDepth: 1 })), { maxLength: 5 }),
  fc.nat({ max: 12 }).map((depth) => {
    let value: unknown = {};
    for (let i = 0; i < depth; i++) value = { n: value };
    return value;
  }),
  fc.nat({ max: 6000 }).map((n) => ({ 'org.example.pad': 'y'.repeat(n) })),
);

/** A header: mostly near-valid, with arbitrary values and extra parameters mixed in. */
const headerArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record(
        {
          alg: fc.oneof(
            fc.constantFrom('ES256', 'ES384', 'EdDSA', 'none', 'HS256', 'RS256', 'Ed25519', 'es256'),
            fc.jsonValue({ maxDepth: 1 }),
          ),
          typ: fc.oneof(
            fc.constantFrom('exec+jwt', 'wimse-exec+jwt', 'JWT', 'application/exec+jwt'),
            fc.jsonValue({ maxDepth: 1 }),
          ),
          kid: fc.oneof(
            fc.constantFrom(...issuers.map((issuer) => issuer.key.kid), 'unknown'),
            fc.jsonValue({ maxDepth: 1 }),
          ),
          crit: fc.oneof(fc.constant(['exp']), fc.jsonValue({ maxDepth: 1 })),
          b64: fc.boolean(),
          extra: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), {
            maxKeys: 3,
            noNullPrototype: true,
          }),
        },
        { requiredKeys: ['alg', 'typ', 'kid'], noNullPrototype: true },
      )
      .map(({ extra, ...fields }) => ({ ...extra, ...fields })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string().map((text) => new Raw(text)) },
);

/** A payload: valid claims with some claims removed or replaced by hostile values, or anything. */
const payloadArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        claimsArb,
        fc.dictionary(fc.constantFrom(...CLAIM_NAMES), fc.option(hostileValue, { nil: undefined, freq: 4 }), {
          maxKeys: 3,
          noNullPrototype: true,
        }),
      )
      .map(([claims, overrides]) => {
        const payload: Record<string, unknown> = { ...claims };
        for (const [name, value] of Object.entries(overrides)) {
          if (value === undefined) delete payload[name];
          else payload[name] = value;
        }
        return payload;
      }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string().map((text) => new Raw(text)) },
);

/**
 * An arbitrary header and payload signed with a real key. The header is mostly the right one for
 * the key (so that the payload reaches the claim checks), otherwise arbitrary and chosen
 * independently of the key (alg mismatch, unknown kid, crit, wrong types).
 */
export const adversarialTokenArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...issuers),
    fc.constantFrom(true, true, false),
    headerArb,
    fc.constantFrom('exec+jwt', 'wimse-exec+jwt'),
    payloadArb,
  )
  .map(([issuer, coherent, header, typ, payload]) =>
    signCompact(coherent ? { alg: issuer.key.alg, typ, kid: issuer.key.kid } : header, payload, issuer.key),
  );

/** Strings that break one format rule (UUID, hash value). */
const badFormat = fc.oneof(
  fc.string({ minLength: 1, maxLength: 50 }),
  fc.constantFrom(
    'task-1',
    '3f2504e0-4f89-41d3-9a0c-0305e82c330',
    '3f2504e04f8941d39a0c0305e82c3301',
    'sha-256:LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ',
    'LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCB',
  ),
);

/**
 * A valid token with exactly one targeted defect: an unknown `kid`, one claim removed or replaced
 * by a hostile value, or one format broken. Reaches the later verification steps far more often
 * than fully arbitrary input.
 */
export const targetedTokenArb: fc.Arbitrary<string> = fc
  .tuple(
    claimsArb,
    fc.nat({ max: issuers.length - 1 }),
    fc.oneof(
      fc.record({
        kind: fc.constant('kid' as const),
        value: fc.oneof(
          fc.constant('unknown'),
          fc.string({ maxLength: 50 }),
          fc.constantFrom<unknown>(undefined, null, 7, ['k'], { kid: 'k' }),
        ),
      }),
      fc.record({
        kind: fc.constant('claim' as const),
        name: fc.constantFrom(...CLAIM_NAMES),
        value: fc.option(hostileValue, { nil: undefined }),
      }),
      fc.record({
        kind: fc.constant('format' as const),
        name: fc.constantFrom('jti', 'wid', 'inp_hash', 'out_hash', 'pred'),
        value: badFormat,
      }),
    ),
  )
  .map(([generated, index, defect]) => {
    const { claims } = signValid(generated, index, '01');
    const key = issuers[index]!.key;
    const header: Record<string, unknown> = { alg: key.alg, typ: 'exec+jwt', kid: key.kid };
    const payload: Record<string, unknown> = { ...claims };
    if (defect.kind === 'kid') {
      if (defect.value === undefined) delete header.kid;
      else header.kid = defect.value;
    } else if (defect.kind === 'format')
      payload[defect.name] = defect.name === 'pred' ? [...claims.pred, defect.value] : defect.value;
    else if (defect.value === undefined) delete payload[defect.name];
    else payload[defect.name] = defect.value;
    return signCompact(header, payload, key);
  });
