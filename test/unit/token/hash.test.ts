/** `inp_hash`/`out_hash` helpers: plain SHA-256, salted and keyed variants, streams. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hashOctets, hashStream, isHashValue } from '../../../src/token/index.js';

const hexToB64url = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');

describe('hashOctets', () => {
  it('matches known SHA-256 vectors, base64url without padding', () => {
    expect(hashOctets('hello')).toBe('LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ');
    expect(hashOctets('hello')).toBe(hexToB64url('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'));
    expect(hashOctets('')).toBe(hexToB64url('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'));
    expect(hashOctets('abc')).toBe(hexToB64url('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'));
  });

  it('hashes strings as UTF-8 and bytes as given', () => {
    expect(hashOctets('é')).toBe(hashOctets(Buffer.from([0xc3, 0xa9])));
    expect(hashOctets(new Uint8Array([1, 2, 3]))).toBe(
      createHash('sha256')
        .update(Buffer.from([1, 2, 3]))
        .digest('base64url'),
    );
  });

  it('gives 43-char values that pass isHashValue', () => {
    for (const input of ['', 'a', 'hello', 'x'.repeat(10_000)]) {
      const value = hashOctets(input);
      expect(value).toHaveLength(43);
      expect(value).not.toMatch(/[=+/]/);
      expect(isHashValue(value)).toBe(true);
    }
  });
});

describe('salted and keyed hashing', () => {
  const salt = Buffer.from('0123456789abcdef');
  const key = Buffer.from('Jefe');

  it('differ from the plain hash and from each other, and are valid hash values', () => {
    const plain = hashOctets('4111 1111 1111 1111');
    const salted = hashOctets('4111 1111 1111 1111', { kind: 'salted', salt });
    const keyed = hashOctets('4111 1111 1111 1111', { kind: 'keyed', key });
    expect(new Set([plain, salted, keyed]).size).toBe(3);
    for (const value of [salted, keyed]) {
      expect(value).toHaveLength(43);
      expect(isHashValue(value)).toBe(true);
    }
  });

  it('salted is SHA-256(salt || octets)', () => {
    expect(hashOctets('data', { kind: 'salted', salt })).toBe(hashOctets(Buffer.concat([salt, Buffer.from('data')])));
    expect(hashOctets('data', { kind: 'salted', salt: Buffer.from('other salt') })).not.toBe(
      hashOctets('data', { kind: 'salted', salt }),
    );
  });

  it('keyed is HMAC-SHA-256 (RFC 4231 test case 2)', () => {
    expect(hashOctets('what do ya want for nothing?', { kind: 'keyed', key })).toBe(
      hexToB64url('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'),
    );
  });
});

describe('hashStream', () => {
  const chunks = ['hel', 'lo', ' ', 'wörld', '', Buffer.from([0, 1, 2]).toString('latin1')];

  it('equals hashOctets of the concatenation, for string and byte chunks', async () => {
    const whole = chunks.join('');
    expect(await hashStream(Readable.from(chunks))).toBe(hashOctets(whole));
    const bytes = chunks.map((chunk) => new Uint8Array(Buffer.from(chunk)));
    expect(await hashStream(Readable.from(bytes))).toBe(hashOctets(whole));
    expect(await hashStream(Readable.from([]))).toBe(hashOctets(''));
  });

  it('supports the salted and keyed modes', async () => {
    const salted = { kind: 'salted', salt: Buffer.from('s') } as const;
    const keyed = { kind: 'keyed', key: Buffer.from('k') } as const;
    expect(await hashStream(Readable.from(['a', 'b']), salted)).toBe(hashOctets('ab', salted));
    expect(await hashStream(Readable.from(['a', 'b']), keyed)).toBe(hashOctets('ab', keyed));
  });

  it('works on any async iterable', async () => {
    async function* gen() {
      yield 'hel';
      yield new TextEncoder().encode('lo');
    }
    expect(await hashStream(gen())).toBe('LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ');
  });
});
