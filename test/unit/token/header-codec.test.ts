/** The `Execution-Context` HTTP field: parsing field lines and comma lists, limits, formatting. */
import { describe, expect, it } from 'vitest';
import {
  EctHeaderLimitError,
  EXECUTION_CONTEXT_HEADER,
  fitsExecutionContext,
  formatExecutionContext,
  formatExecutionContextLines,
  LIMITS,
  parseExecutionContext,
} from '../../../src/token/index.js';
import { sharedIssuer, validClaims } from '../../helpers/ect.js';

const issuer = sharedIssuer('ES256');
const tokens = Array.from({ length: 9 }, () => issuer.signer.sign(validClaims()));
const [a, b, c] = tokens as [string, string, string];

function expectLimit(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(EctHeaderLimitError);
  expect(caught).toMatchObject({ code: 'ECT_HEADER_LIMIT', status: 403 });
}

describe('parseExecutionContext', () => {
  it('is named as Node presents it', () => {
    expect(EXECUTION_CONTEXT_HEADER).toBe('execution-context');
  });

  it('returns [] for no field, an empty value or only separators', () => {
    expect(parseExecutionContext(undefined)).toEqual([]);
    expect(parseExecutionContext('')).toEqual([]);
    expect(parseExecutionContext([])).toEqual([]);
    expect(parseExecutionContext(' , ,, ')).toEqual([]);
  });

  it('reads one token, several field lines, comma lists and both mixed, in order', () => {
    expect(parseExecutionContext(a)).toEqual([a]);
    expect(parseExecutionContext([a, b, c])).toEqual([a, b, c]);
    expect(parseExecutionContext(`${a},${b}`)).toEqual([a, b]);
    expect(parseExecutionContext([`${a}, ${b}`, c])).toEqual([a, b, c]);
  });

  it('trims whitespace and skips empty entries', () => {
    expect(parseExecutionContext([`  ${a}\t,\t ,${b}  `, '', ' ', `,${c},`])).toEqual([a, b, c]);
  });

  it('accepts 8 tokens and refuses 9 with ECT_HEADER_LIMIT', () => {
    expect(parseExecutionContext(tokens.slice(0, LIMITS.maxHeaderTokens))).toHaveLength(8);
    expectLimit(() => parseExecutionContext(tokens));
    expectLimit(() => parseExecutionContext(tokens.join(',')));
    expectLimit(() => parseExecutionContext([tokens.slice(0, 4).join(','), tokens.slice(4).join(',')]));
  });

  it('refuses a token over 4 KiB, and accepts one of exactly 4 KiB', () => {
    expect(parseExecutionContext('x'.repeat(4096))).toHaveLength(1);
    expectLimit(() => parseExecutionContext('x'.repeat(4097)));
    expectLimit(() => parseExecutionContext([a, `${b}, ${'y'.repeat(4097)}`]));
  });

  it('refuses a message over 8 KiB across its lines, and accepts exactly 8 KiB', () => {
    const half = 'x'.repeat(4096);
    expect(parseExecutionContext([half, half])).toHaveLength(2);
    expectLimit(() => parseExecutionContext([half, half, 'z']));
    expectLimit(() => parseExecutionContext([half, `${'x'.repeat(4000)}, ${'x'.repeat(100)}`]));
  });

  it('honours configured limits', () => {
    expectLimit(() => parseExecutionContext([a, b], { maxTokens: 1 }));
    expectLimit(() => parseExecutionContext(a, { maxTokenBytes: a.length - 1 }));
    expectLimit(() => parseExecutionContext([a, b], { maxBytes: a.length + b.length - 1 }));
    expect(parseExecutionContext([a, b], { maxBytes: a.length + b.length })).toEqual([a, b]);
  });
});

describe('formatExecutionContext and fitsExecutionContext', () => {
  it('joins tokens as a comma list that parses back to the same tokens', () => {
    const value = formatExecutionContext([a, b, c]);
    expect(value).toBe(`${a}, ${b}, ${c}`);
    expect(parseExecutionContext(value)).toEqual([a, b, c]);
    expect(formatExecutionContext([])).toBe('');
    expect(fitsExecutionContext([])).toBe(true);
  });

  it('gives one line per token under the same limits, and the lines parse back to the same tokens', () => {
    const lines = formatExecutionContextLines([a, b, c]);
    expect(lines).toEqual([a, b, c]);
    expect(parseExecutionContext(lines)).toEqual([a, b, c]);
    expectLimit(() => formatExecutionContextLines(tokens));
    expectLimit(() => formatExecutionContextLines(['x'.repeat(4097)]));
    const t = 'x'.repeat(4095);
    expect(formatExecutionContextLines([t, t])).toHaveLength(2);
    expectLimit(() => formatExecutionContextLines([t, `${t}x`]));
  });

  it('refuses and reports not fitting: over 8 tokens, a token over 4 KiB, over 8 KiB together', () => {
    expectLimit(() => formatExecutionContext(tokens));
    expect(fitsExecutionContext(tokens)).toBe(false);
    expect(fitsExecutionContext(tokens.slice(0, 8))).toBe(true);
    expectLimit(() => formatExecutionContext(['x'.repeat(4097)]));
    expect(fitsExecutionContext(['x'.repeat(4097)])).toBe(false);
    // Two tokens of 4095 plus ", " is 8192: fits; one more byte does not.
    const t = 'x'.repeat(4095);
    expect(fitsExecutionContext([t, t])).toBe(true);
    expect(formatExecutionContext([t, t])).toHaveLength(8192);
    expect(fitsExecutionContext([t, `${t}x`])).toBe(false);
    expectLimit(() => formatExecutionContext([t, `${t}x`]));
  });

  it('agrees with format and round-trips through parse for many sizes', () => {
    for (let count = 0; count <= 10; count++) {
      for (const size of [1, 700, 1000, 1023, 1024, 2000, 4095, 4096, 4097]) {
        const list = Array.from({ length: count }, (_, i) => String.fromCharCode(97 + i).repeat(size));
        const fits = fitsExecutionContext(list);
        let formatted: string | undefined;
        try {
          formatted = formatExecutionContext(list);
        } catch (error) {
          expect(error).toBeInstanceOf(EctHeaderLimitError);
        }
        expect(formatted !== undefined, `${count} x ${size}`).toBe(fits);
        if (formatted !== undefined) expect(parseExecutionContext(formatted)).toEqual(list);
      }
    }
  });
});
