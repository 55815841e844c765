import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// The CLI contract (README, "The `ect` command": exit 0 valid, 1 invalid, 2 usage, 3 partial; --json;
// no stack trace for bad input), exercised on the built binary exactly as other tools call it.
const bin = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));
const ect = (args: string[], input?: string) => {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

const dir = mkdtempSync(join(tmpdir(), 'ect-cli-'));
const key = join(dir, 'k', 'private.jwk.json');
const jwks = join(dir, 'k', 'jwks.json');
const wid = '0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e6f';
const create = (execAct: string, pred: string[] = [], extra: string[] = []) =>
  ect([
    'token',
    'create',
    '--key',
    key,
    '--iss',
    'spiffe://example.org/a',
    '--aud',
    'spiffe://example.org,spiffe://ledger',
    '--exec-act',
    execAct,
    '--wid',
    wid,
    ...pred.flatMap((p) => ['--pred', p]),
    ...extra,
  ]);
const jtiOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;

beforeAll(() => {
  const generated = ect(['keys', 'generate', '--out', join(dir, 'k')]);
  expect(generated.code).toBe(0);
});

describe('ect keys generate', () => {
  it('writes DIR/private.jwk.json (0600) and DIR/jwks.json', () => {
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(jwks, 'utf8')).keys).toHaveLength(1);
  });

  it.each(['EdDSA', 'ES384'])('supports --alg %s', (alg) => {
    const out = join(dir, alg);
    expect(ect(['keys', 'generate', '--alg', alg, '--out', out]).code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'jwks.json'), 'utf8')).keys[0].alg).toBe(alg);
  });

  it('refuses an unknown algorithm with exit 2', () => {
    expect(ect(['keys', 'generate', '--alg', 'HS256', '--out', dir]).code).toBe(2);
  });
});

describe('ect token create / verify', () => {
  it('creates one compact token that verifies, with the decoded claims', () => {
    const inp = join(dir, 'in.txt');
    writeFileSync(inp, 'hello');
    const created = create('fetch_data', [], ['--inp-file', inp]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const verified = ect(['token', 'verify', token, '--jwks', jwks, '--audience', 'spiffe://ledger', '--json']);
    expect(verified.code).toBe(0);
    const out = JSON.parse(verified.stdout);
    expect(out.claims).toMatchObject({
      exec_act: 'fetch_data',
      wid,
      pred: [],
      inp_hash: 'LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ',
      aud: ['spiffe://example.org', 'spiffe://ledger'],
    });
  });

  it('reads the token from standard input with - and writes -00 claims with --draft 00', () => {
    const token = create('analyze', [], ['--draft', '00']).stdout.trim();
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload.par).toEqual([]);
    const verified = ect(['token', 'verify', '-', '--jwks', jwks, '--json'], `${token}\n`);
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, draft: '00' });
  });

  it('exit 1 with { valid: false, code, message } for an invalid token', () => {
    const token = create('x').stdout.trim();
    const tampered = `${token.slice(0, -4)}AAAA`;
    const verified = ect(['token', 'verify', tampered, '--jwks', jwks, '--json']);
    expect(verified.code).toBe(1);
    expect(JSON.parse(verified.stdout)).toEqual({
      valid: false,
      code: 'ECT_SIGNATURE_INVALID',
      message: expect.any(String),
    });
    const wrongAudience = ect(['token', 'verify', token, '--jwks', jwks, '--audience', 'spiffe://else', '--json']);
    expect(JSON.parse(wrongAudience.stdout).code).toBe('ECT_AUD_MISMATCH');
    expect(
      ect(['token', 'verify', token, '--jwks', jwks, '--audience', 'spiffe://else', '--audit', '--json']).code,
    ).toBe(0);
  });

  it('exit 2, a message and no stack trace for usage errors', () => {
    for (const args of [
      ['token', 'verify', 'abc', '--jwks', join(dir, 'missing.json')],
      ['token', 'create', '--key', key, '--iss', 'i', '--aud', 'a', '--exec-act', 'x', '--wid', 'not-a-uuid'],
      ['token', 'create', '--key', jwks, '--iss', 'i', '--aud', 'a', '--exec-act', 'x'],
      ['token', 'verify'],
      ['nonsense'],
    ]) {
      const result = ect(args, '');
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('--help works on every subcommand', () => {
    for (const args of [
      [],
      ['keys'],
      ['keys', 'generate'],
      ['token'],
      ['token', 'create'],
      ['token', 'verify'],
      ['dag'],
      ['dag', 'verify'],
    ]) {
      const result = ect([...args, '--help']);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/Usage: ect/);
    }
  });
});

describe('ect dag verify', () => {
  const chain = () => {
    const a = create('fetch_data').stdout.trim();
    const b = create('analyze_risk', [jtiOf(a)]).stdout.trim();
    const c = create('check_credit', [jtiOf(a)]).stdout.trim();
    const d = create('verify_compliance', [jtiOf(b), jtiOf(c)]).stdout.trim();
    return [a, b, c, d];
  };

  it('exit 0 and the DAG for a valid set', () => {
    const file = join(dir, 'valid.txt');
    writeFileSync(file, `# a comment\n${chain().join('\n')}\n\n`);
    const result = ect(['dag', 'verify', file, '--jwks', jwks]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/verdict: VALID \(4 tokens, 4 edges\)/);
    expect(result.stdout).toMatch(/verify_compliance .* ← #2, #3/);
  });

  it('exit 3 (partial) when a predecessor is missing', () => {
    const [, b, c, d] = chain();
    const file = join(dir, 'partial.txt');
    writeFileSync(file, [b, c, d].join('\n'));
    const result = ect(['dag', 'verify', file, '--jwks', jwks, '--json']);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({
      verdict: 'partial',
      missing: [expect.any(Object), expect.any(Object)],
    });
  });

  it('exit 1 naming the failing token and rule', () => {
    const [a, b] = chain();
    const forged = `${b!.slice(0, -4)}AAAA`;
    const file = join(dir, 'invalid.txt');
    const sameJti = create('replayed', [], ['--jti', jtiOf(a!)]).stdout.trim();
    writeFileSync(file, [a, forged, sameJti, a].join('\n'));
    const result = ect(['dag', 'verify', file, '--jwks', jwks, '--json']);
    expect(result.code).toBe(1);
    const out = JSON.parse(result.stdout);
    expect(out.verdict).toBe('invalid');
    expect(out.failures).toEqual([
      { file, line: 2, jti: jtiOf(b!), code: 'ECT_SIGNATURE_INVALID', message: expect.any(String) },
    ]);
    expect(out.violations).toEqual([expect.objectContaining({ code: 'ECT_DAG_DUPLICATE_JTI', jti: jtiOf(a!) })]);
  });
});

describe('ect dag verify on OTLP JSON exports', () => {
  it('reads token log bodies from several files, each token once, with a JWK Set folder', () => {
    const a = create('fetch_data').stdout.trim();
    const b = create('analyze_risk', [jtiOf(a)]).stdout.trim();
    const logs = {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: a } }, { body: { stringValue: b } }] }] }],
    };
    const spans = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: b } }] }] }] };
    const logsFile = join(dir, 'tokens.jsonl');
    const spansFile = join(dir, 'spans.jsonl');
    writeFileSync(logsFile, `${JSON.stringify(logs)}\n`);
    writeFileSync(spansFile, `${JSON.stringify(spans)}\n`);
    const result = ect(['dag', 'verify', logsFile, spansFile, '--jwks', join(dir, 'k'), '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ verdict: 'valid', tokens: 2, edges: 1 });
  });

  it('exit 2 for a line that looks like JSON but is not', () => {
    const file = join(dir, 'broken.jsonl');
    writeFileSync(file, '{"resourceLogs": [\n');
    expect(ect(['dag', 'verify', file]).code).toBe(2);
  });
});

describe('ect dag verify checks exported spans against their tokens', () => {
  const spanDoc = (token: string, overrides: Record<string, unknown> = {}) => {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    return {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'a'.repeat(32),
                  spanId: 'b'.repeat(16),
                  name: 'fetch_data',
                  kind: 2,
                  attributes: [
                    { key: 'ect.jti', value: { stringValue: claims.jti } },
                    { key: 'ect.pred', value: { arrayValue: { values: [] } } },
                    { key: 'ect.token', value: { stringValue: token } },
                  ],
                  ...overrides,
                },
              ],
            },
          ],
        },
      ],
    };
  };
  // Bound to span bbbb… of trace aaaa…, as the bridge binds its tokens.
  const binding = {
    'io.opentelemetry.span': {
      trace_id: 'a'.repeat(32),
      span_id: 'b'.repeat(16),
      name: 'fetch_data',
      kind: 'SERVER',
      status: 'UNSET',
    },
  };

  it('a span edited after export (its name) fails as ECT_SPAN_MISMATCH, naming the span', async () => {
    const { EctSigner, newClaims } = await import('../../../src/token/index.js');
    const { parseSigningKey } = await import('../../../src/keys/index.js');
    const signer = new EctSigner(parseSigningKey(readFileSync(key, 'utf8')));
    const token = signer.sign(
      newClaims({
        iss: 'spiffe://example.org/a',
        aud: 'spiffe://example.org',
        exec_act: 'fetch_data',
        ect_ext: binding,
      }),
    );
    const good = join(dir, 'span-good.jsonl');
    const edited = join(dir, 'span-edited.jsonl');
    writeFileSync(good, `${JSON.stringify(spanDoc(token))}\n`);
    writeFileSync(edited, `${JSON.stringify(spanDoc(token, { name: 'something_else' }))}\n`);
    expect(ect(['dag', 'verify', good, '--jwks', jwks]).code).toBe(0);
    const result = ect(['dag', 'verify', edited, '--jwks', jwks, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).failures).toEqual([
      expect.objectContaining({
        code: 'ECT_SPAN_MISMATCH',
        message: expect.stringMatching(
          /span something_else .*name: span says "something_else", token says "fetch_data"/,
        ),
      }),
    ]);
  });
});
