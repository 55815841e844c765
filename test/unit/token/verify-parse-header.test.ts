/**
 * Verification steps 1–5 of the profile (ect.md "Verification"): parse with the size cap, `typ`,
 * `alg` allowlist, `kid` and key resolution, signature. Every case runs on both paths.
 */
import { describe, expect, it } from 'vitest';
import { JwksResolver } from '../../../src/keys/index.js';
import {
  EctFormatError,
  EctHeaderError,
  EctSignatureError,
  EctVerifier,
  HeaderMemo,
  LIMITS,
  parseCompact,
  type EctAlgorithm,
} from '../../../src/token/index.js';
import {
  expectAcceptedBoth,
  expectRejectedBoth,
  headerFor,
  makeIssuer,
  Raw,
  sharedIssuer,
  signCompact,
  validClaims,
  verifyOptions,
} from '../../helpers/ect.js';

const es256 = sharedIssuer('ES256');
const options = verifyOptions(es256.resolver);
const good = es256.signer.sign(validClaims());

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

describe('a well-formed token', () => {
  it('verifies on both paths with the claims, header and draft as signed', async () => {
    const claims = validClaims({ wid: '0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e6f' });
    const token = es256.signer.sign(claims);
    const result = await expectAcceptedBoth(options, token);
    expect(result.token).toBe(token);
    expect(result.header).toEqual({ alg: 'ES256', typ: 'exec+jwt', kid: es256.key.kid });
    expect(result.claims).toEqual(claims);
    expect(result.draft).toBe('01');
  });

  it.each<EctAlgorithm>(['ES256', 'ES384', 'EdDSA'])('verifies %s tokens', async (alg) => {
    const issuer = sharedIssuer(alg);
    const result = await expectAcceptedBoth(verifyOptions(issuer.resolver), issuer.signer.sign(validClaims()));
    expect(result.header.alg).toBe(alg);
  });
});

describe('step 1: parse (size cap before decoding, compact JWS, JSON header and payload)', () => {
  it('refuses a token over the 4 KiB cap with ECT_TOO_LARGE, before looking at its content', async () => {
    // Not even base64url: the cap must come first.
    await expectRejectedBoth(options, '!'.repeat(LIMITS.maxTokenBytes + 1), 'ECT_TOO_LARGE', EctFormatError);
  });

  it('accepts a token of exactly the cap and refuses one byte more', async () => {
    // Pad exec_act so that the token lands exactly on the cap (base64url: 3 bytes -> 4 chars).
    let act = 'x';
    let token = es256.signer.sign(validClaims({ exec_act: act }));
    while (token.length < LIMITS.maxTokenBytes) {
      act += 'x';
      token = es256.signer.sign(validClaims({ exec_act: act }));
    }
    if (token.length === LIMITS.maxTokenBytes) {
      await expectAcceptedBoth(options, token);
      act += 'x';
      token = es256.signer.sign(validClaims({ exec_act: act }));
    }
    expect(token.length).toBeGreaterThan(LIMITS.maxTokenBytes);
    await expectRejectedBoth(options, token, 'ECT_TOO_LARGE');
    // The cap is configurable.
    await expectAcceptedBoth({ ...options, maxTokenBytes: token.length }, token);
    await expectRejectedBoth({ ...options, maxTokenBytes: 100 }, good, 'ECT_TOO_LARGE');
  });

  it.each([
    ['the empty string', ''],
    ['one part', 'abc'],
    ['two parts', 'abc.def'],
    ['four parts', `${good}.AAAA`],
    ['five parts', `${good}.AAAA.AAAA`],
    ['an empty header', `.${good.split('.').slice(1).join('.')}`],
    ['an empty payload', `${good.split('.')[0]}..${good.split('.')[2]}`],
    ['padding', `${good.split('.')[0]}=.${good.split('.').slice(1).join('.')}`],
    ['a standard-base64 character', `${good.split('.').slice(0, 2).join('.')}.+${good.split('.')[2]?.slice(1)}`],
    ['a slash', `${good.split('.').slice(0, 2).join('.')}./${good.split('.')[2]?.slice(1)}`],
    ['whitespace', ` ${good}`],
    ['a trailing newline', `${good}\n`],
    ['non-ASCII', `é${good}`],
  ])('refuses %s with ECT_MALFORMED', async (_name, token) => {
    await expectRejectedBoth(options, token, 'ECT_MALFORMED', EctFormatError);
  });

  it('refuses a non-string token with ECT_MALFORMED', async () => {
    await expectRejectedBoth(options, 42 as unknown as string, 'ECT_MALFORMED');
    await expectRejectedBoth(options, undefined as unknown as string, 'ECT_MALFORMED');
  });

  it('refuses non-canonical base64url (unused low bits set) in any part with ECT_MALFORMED', async () => {
    const [h, p, s] = good.split('.') as [string, string, string];
    // A final char whose unused bits are not zero decodes to the same bytes under a lenient decoder.
    const lastBitsSet = (part: string): string | undefined => {
      const rest = part.length % 4;
      if (rest === 0) return undefined;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const index = alphabet.indexOf(part[part.length - 1] ?? 'A');
      const changed = alphabet[index + 1];
      return changed === undefined ? undefined : part.slice(0, -1) + changed;
    };
    const variants: string[] = [];
    const hh = lastBitsSet(h);
    if (hh !== undefined) variants.push(`${hh}.${p}.${s}`);
    const pp = lastBitsSet(p);
    if (pp !== undefined) variants.push(`${h}.${pp}.${s}`);
    const ss = lastBitsSet(s);
    if (ss !== undefined) variants.push(`${h}.${p}.${ss}`);
    expect(variants.length).toBeGreaterThan(0);
    for (const variant of variants) {
      expect(Buffer.from(variant.split('.').join(''), 'base64url').length).toBeGreaterThan(0);
      await expectRejectedBoth(options, variant, 'ECT_MALFORMED');
    }
  });

  it('refuses a header that is not JSON, or JSON but not an object', async () => {
    const [, p, s] = good.split('.') as [string, string, string];
    for (const header of ['not json', '[1,2]', '"exec+jwt"', 'null', '42', '{"alg":"ES256"']) {
      await expectRejectedBoth(options, `${b64(header)}.${p}.${s}`, 'ECT_MALFORMED', EctFormatError);
    }
  });

  it('refuses a signed payload that is not JSON, or JSON but not an object (after the signature)', async () => {
    for (const payload of ['not json', '[]', '"a string"', 'null', '1']) {
      const token = signCompact(headerFor(es256.key), new Raw(payload), es256.key);
      await expectRejectedBoth(options, token, 'ECT_MALFORMED', EctFormatError);
    }
  });

  it('refuses crit and b64 header parameters (no extension is understood)', async () => {
    for (const extra of [{ crit: ['exp'] }, { crit: [] }, { b64: false }, { b64: true }]) {
      const token = signCompact({ ...headerFor(es256.key), ...extra }, validClaims(), es256.key);
      await expectRejectedBoth(options, token, 'ECT_MALFORMED');
    }
  });

  it('ignores unknown, non-critical header parameters', async () => {
    const token = signCompact(
      { ...headerFor(es256.key), x5u: 'https://example.org', cty: 'x' },
      validClaims(),
      es256.key,
    );
    await expectAcceptedBoth(options, token);
  });
});

describe('the header memo: a verifier decodes each header text once', () => {
  it('a verifier that accepted a header still refuses every other text of it, with the same code', () => {
    const verifier = new EctVerifier(options);
    const [h, p, s] = good.split('.') as [string, string, string];
    const first = verifier.verifySync(good);
    const again = verifier.verifySync(es256.signer.sign(validClaims()));
    // Tokens of one key share the header object, so it is frozen.
    expect(again.header).toBe(first.header);
    expect(Object.isFrozen(first.header)).toBe(true);
    const lastBitSet = `${h.slice(0, -1)}${String.fromCharCode(h.charCodeAt(h.length - 1) + 1)}`;
    for (const [token, code] of [
      [`${lastBitSet}.${p}.${s}`, 'ECT_MALFORMED'],
      [`${b64('{"alg":"ES256"')}.${p}.${s}`, 'ECT_MALFORMED'],
      [`${b64(JSON.stringify({ ...headerFor(es256.key), typ: 'jwt' }))}.${p}.${s}`, 'ECT_TYP_INVALID'],
      [`${h}.${p}.${s}x`, 'ECT_MALFORMED'],
    ] as const) {
      // Twice: a refused header text is not remembered.
      for (let round = 0; round < 2; round++)
        expect(() => verifier.verifySync(token)).toThrow(expect.objectContaining({ code }));
    }
    expect(verifier.verifySync(good).header).toBe(first.header);
  });

  it('keeps a bounded number of header texts and parses correctly past the bound', () => {
    const memo = new HeaderMemo();
    const parseOptions = { maxTokenBytes: LIMITS.maxTokenBytes, algorithms: ['ES256'] as EctAlgorithm[] };
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 600; i++) {
        const token = signCompact({ ...headerFor(es256.key), x: i }, validClaims(), es256.key);
        expect(parseCompact(token, parseOptions, memo).header).toEqual({
          alg: 'ES256',
          typ: 'exec+jwt',
          kid: es256.key.kid,
        });
      }
    }
    const typo = signCompact({ ...headerFor(es256.key), typ: 'JWT' }, validClaims(), es256.key);
    expect(() => parseCompact(typo, parseOptions, memo)).toThrow(expect.objectContaining({ code: 'ECT_TYP_INVALID' }));
  });
});

describe('step 2: typ', () => {
  it.each([
    ['missing', undefined],
    ['JWT', 'JWT'],
    ['at+jwt', 'at+jwt'],
    ['empty', ''],
    ['a number', 1],
    ['an array', ['exec+jwt']],
    ['another media type', 'application/json'],
  ])('refuses typ %s with ECT_TYP_INVALID', async (_name, typ) => {
    const header: Record<string, unknown> = { ...headerFor(es256.key) };
    if (typ === undefined) delete header.typ;
    else header.typ = typ;
    const error = await expectRejectedBoth(
      options,
      signCompact(header, validClaims(), es256.key),
      'ECT_TYP_INVALID',
      EctHeaderError,
    );
    expect(error.claim).toBe('typ');
  });

  it('accepts exec+jwt (-01) and wimse-exec+jwt (-00)', async () => {
    for (const typ of ['exec+jwt', 'wimse-exec+jwt']) {
      await expectAcceptedBoth(options, signCompact(headerFor(es256.key, typ), validClaims(), es256.key));
    }
  });

  it('checks typ before alg', async () => {
    const token = signCompact({ alg: 'none', typ: 'JWT', kid: es256.key.kid }, validClaims(), es256.key);
    await expectRejectedBoth(options, token, 'ECT_TYP_INVALID');
  });
});

describe('step 3: alg in the allowlist', () => {
  it.each(['none', 'None', 'HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES512', 'ES256K', 'Ed25519', '', 7, null])(
    'refuses alg %s with ECT_ALG_NOT_ALLOWED',
    async (alg) => {
      const token = signCompact({ ...headerFor(es256.key), alg }, validClaims(), es256.key);
      const error = await expectRejectedBoth(options, token, 'ECT_ALG_NOT_ALLOWED', EctHeaderError);
      expect(error.claim).toBe('alg');
    },
  );

  it('refuses a missing alg', async () => {
    const token = signCompact({ typ: 'exec+jwt', kid: es256.key.kid }, validClaims(), es256.key);
    await expectRejectedBoth(options, token, 'ECT_ALG_NOT_ALLOWED');
  });

  it('refuses an unsigned alg:none token as not allowed, with an empty signature part or any other', async () => {
    const payload = b64(JSON.stringify(validClaims()));
    for (const typ of ['exec+jwt', 'wimse-exec+jwt']) {
      const header = b64(JSON.stringify({ alg: 'none', typ, kid: es256.key.kid }));
      for (const signature of ['', 'AAAA']) {
        const error = await expectRejectedBoth(options, `${header}.${payload}.${signature}`, 'ECT_ALG_NOT_ALLOWED');
        expect(error).toBeInstanceOf(EctHeaderError);
        expect(error.claim).toBe('alg');
      }
    }
    // Without a kid, too: alg is checked before kid.
    const bare = b64(JSON.stringify({ alg: 'none', typ: 'exec+jwt' }));
    await expectRejectedBoth(options, `${bare}.${payload}.`, 'ECT_ALG_NOT_ALLOWED');
  });

  it('refuses an allowed alg with an empty signature part as a bad signature', async () => {
    for (const alg of ['ES256', 'ES384', 'EdDSA'] as const) {
      const issuer = sharedIssuer(alg);
      const token = issuer.signer.sign(validClaims());
      const unsigned = token.slice(0, token.lastIndexOf('.') + 1);
      await expectRejectedBoth(verifyOptions(issuer.resolver), unsigned, 'ECT_SIGNATURE_INVALID', EctSignatureError);
    }
  });

  it('refuses an HS256 token MACed with the public key bytes (algorithm confusion)', async () => {
    const { createHmac } = await import('node:crypto');
    const pem = es256.verificationKey.publicKey.export({ type: 'spki', format: 'pem' });
    const input = `${b64(JSON.stringify({ alg: 'HS256', typ: 'exec+jwt', kid: es256.key.kid }))}.${b64(JSON.stringify(validClaims()))}`;
    const token = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    await expectRejectedBoth(options, token, 'ECT_ALG_NOT_ALLOWED');
  });

  it('honours a narrower configured allowlist', async () => {
    const ed = sharedIssuer('EdDSA');
    const token = ed.signer.sign(validClaims());
    await expectAcceptedBoth(verifyOptions(ed.resolver), token);
    await expectRejectedBoth(verifyOptions(ed.resolver, { algorithms: ['ES256'] }), token, 'ECT_ALG_NOT_ALLOWED');
  });

  it('never allows an algorithm outside the supported set, even if configured', async () => {
    const token = signCompact({ ...headerFor(es256.key), alg: 'HS256' }, validClaims(), es256.key);
    await expectRejectedBoth(
      verifyOptions(es256.resolver, { algorithms: ['HS256' as EctAlgorithm, 'ES256'] }),
      token,
      'ECT_ALG_NOT_ALLOWED',
    );
  });

  it('refuses an allowed alg that does not match the key the kid names', async () => {
    const es384 = sharedIssuer('ES384');
    const ed = sharedIssuer('EdDSA');
    const both = new JwksResolver([es256.verificationKey, es384.verificationKey, ed.verificationKey]);
    // Header says ES384 but the kid is an ES256 key (signed with that key so only the alg is wrong).
    for (const [header, key] of [
      [{ ...headerFor(es256.key), alg: 'ES384' }, es256.key],
      [{ ...headerFor(es256.key), alg: 'EdDSA' }, es256.key],
      [{ ...headerFor(ed.key), alg: 'ES256' }, ed.key],
      [{ ...headerFor(es384.key), alg: 'ES256' }, es384.key],
    ] as const) {
      await expectRejectedBoth(
        verifyOptions(both),
        signCompact(header, validClaims(), key),
        'ECT_ALG_NOT_ALLOWED',
        EctHeaderError,
      );
    }
  });
});

describe('step 4: kid present and resolving to a key', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 12],
    ['null', null],
    ['an object', { kid: 'x' }],
  ])('refuses a kid that is %s with ECT_KID_MISSING', async (_name, kid) => {
    const header: Record<string, unknown> = { ...headerFor(es256.key) };
    if (kid === undefined) delete header.kid;
    else header.kid = kid;
    const error = await expectRejectedBoth(
      options,
      signCompact(header, validClaims(), es256.key),
      'ECT_KID_MISSING',
      EctHeaderError,
    );
    expect(error.claim).toBe('kid');
  });

  it('refuses an unknown kid with ECT_KEY_UNKNOWN', async () => {
    const token = signCompact({ ...headerFor(es256.key), kid: 'no-such-key' }, validClaims(), es256.key);
    const error = await expectRejectedBoth(options, token, 'ECT_KEY_UNKNOWN', EctHeaderError);
    expect(error.claim).toBe('kid');
  });

  it('refuses a token from a key the verifier does not hold', async () => {
    const stranger = makeIssuer('ES256');
    await expectRejectedBoth(options, stranger.signer.sign(validClaims()), 'ECT_KEY_UNKNOWN');
  });

  it('uses the async resolver on the jose path when there is one', async () => {
    const calls: string[] = [];
    const keys = {
      resolveSync: () => undefined,
      resolve: async (kid: string) => {
        calls.push(kid);
        return es256.resolver.resolveSync(kid);
      },
    };
    const verifier = new EctVerifier(verifyOptions(keys));
    await expect(verifier.verify(good)).resolves.toMatchObject({ draft: '01' });
    expect(calls).toEqual([es256.key.kid]);
    expect(() => verifier.verifySync(good)).toThrow(expect.objectContaining({ code: 'ECT_KEY_UNKNOWN' }));
  });
});

describe('step 5: signature', () => {
  const [h, p, s] = good.split('.') as [string, string, string];

  it('refuses a token whose signature was made by another key under the same kid', async () => {
    const attacker = makeIssuer('ES256');
    const forged = signCompact(headerFor(es256.key), validClaims(), attacker.key);
    await expectRejectedBoth(options, forged, 'ECT_SIGNATURE_INVALID', EctSignatureError);
  });

  it('refuses a payload changed after signing', async () => {
    const changed = Buffer.from(JSON.stringify({ ...validClaims(), exec_act: 'transfer_funds' })).toString('base64url');
    await expectRejectedBoth(options, `${h}.${changed}.${s}`, 'ECT_SIGNATURE_INVALID');
  });

  it('refuses a header changed after signing (same meaning, other bytes)', async () => {
    const reordered = b64(JSON.stringify({ kid: es256.key.kid, typ: 'exec+jwt', alg: 'ES256' }));
    await expectRejectedBoth(options, `${reordered}.${p}.${s}`, 'ECT_SIGNATURE_INVALID');
  });

  it('refuses signatures of the wrong length, all zeros or all ones', async () => {
    for (const bytes of [0, 1, 63, 65, 96, 128]) {
      if (bytes === 0) continue;
      await expectRejectedBoth(
        options,
        `${h}.${p}.${Buffer.alloc(bytes, 7).toString('base64url')}`,
        'ECT_SIGNATURE_INVALID',
      );
    }
    await expectRejectedBoth(
      options,
      `${h}.${p}.${Buffer.alloc(64, 0).toString('base64url')}`,
      'ECT_SIGNATURE_INVALID',
    );
    await expectRejectedBoth(
      options,
      `${h}.${p}.${Buffer.alloc(64, 0xff).toString('base64url')}`,
      'ECT_SIGNATURE_INVALID',
    );
  });

  it('refuses a DER-encoded ECDSA signature (JWS needs r||s)', async () => {
    const { sign } = await import('node:crypto');
    const der = sign('sha256', Buffer.from(`${h}.${p}`), es256.key.privateKey);
    await expectRejectedBoth(options, `${h}.${p}.${der.toString('base64url')}`, 'ECT_SIGNATURE_INVALID');
  });

  it('refuses a signature of another token', async () => {
    const other = es256.signer.sign(validClaims()).split('.')[2];
    await expectRejectedBoth(options, `${h}.${p}.${other}`, 'ECT_SIGNATURE_INVALID');
  });

  it('checks the signature before the claims (an unsigned bad payload is a signature failure)', async () => {
    await expectRejectedBoth(options, `${h}.${b64('{}')}.${s}`, 'ECT_SIGNATURE_INVALID');
    await expectRejectedBoth(options, `${h}.${b64('not json')}.${s}`, 'ECT_SIGNATURE_INVALID');
  });

  it('serialises its refusal as a 403 body with a stable code', async () => {
    const error = await expectRejectedBoth(
      options,
      `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`,
      'ECT_SIGNATURE_INVALID',
    );
    expect(error.status).toBe(403);
    expect(error.toJSON()).toEqual({ code: 'ECT_SIGNATURE_INVALID', message: 'signature verification failed' });
  });
});
