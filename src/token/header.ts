import { LIMITS } from '../base/limits.js';
import { EctHeaderLimitError } from '../base/errors.js';

/** Per-message limits of the `Execution-Context` field. */
export interface HeaderLimits {
  /** Tokens per message. Default 8. */
  maxTokens?: number;
  /** Bytes of all values together. Default 8192. */
  maxBytes?: number;
  /** Bytes of one token. Default 4096. */
  maxTokenBytes?: number;
}

function limitsOf(limits: HeaderLimits): Required<HeaderLimits> {
  return {
    maxTokens: limits.maxTokens ?? LIMITS.maxHeaderTokens,
    maxBytes: limits.maxBytes ?? LIMITS.maxHeaderBytes,
    maxTokenBytes: limits.maxTokenBytes ?? LIMITS.maxTokenBytes,
  };
}

/**
 * Splits the `Execution-Context` field of one message into tokens: several field lines (an array,
 * as Node gives repeated lines through `headersDistinct`) and comma-separated lists both work.
 * Throws {@link EctHeaderLimitError} when the message is over the limits; a token is never
 * silently dropped.
 *
 * @example parseExecutionContext(req.headers['execution-context']) // ['eyJ…', 'eyJ…']
 */
export function parseExecutionContext(
  value: string | readonly string[] | undefined,
  limits: HeaderLimits = {},
): string[] {
  if (value === undefined) return [];
  const { maxTokens, maxBytes, maxTokenBytes } = limitsOf(limits);
  const lines = typeof value === 'string' ? [value] : value;
  let bytes = 0;
  const tokens: string[] = [];
  for (const line of lines) {
    bytes += line.length;
    if (bytes > maxBytes) throw new EctHeaderLimitError(`Execution-Context carries over ${maxBytes} bytes`);
    for (const part of line.split(',')) {
      const token = part.trim();
      if (token === '') continue;
      if (token.length > maxTokenBytes)
        throw new EctHeaderLimitError(`an Execution-Context token is over ${maxTokenBytes} bytes`);
      tokens.push(token);
      if (tokens.length > maxTokens)
        throw new EctHeaderLimitError(`Execution-Context carries over ${maxTokens} tokens`);
    }
  }
  return tokens;
}

function checkFits(tokens: readonly string[], limits: HeaderLimits): void {
  const { maxTokens, maxBytes, maxTokenBytes } = limitsOf(limits);
  if (tokens.length > maxTokens)
    throw new EctHeaderLimitError(`${tokens.length} tokens, over ${maxTokens} per message`);
  if (tokens.some((token) => token.length > maxTokenBytes))
    throw new EctHeaderLimitError(`a token is over ${maxTokenBytes} bytes`);
  // Counted as one comma list (the larger of the two forms), so a message that fits as separate
  // lines also fits when a carrier can only take one line.
  const bytes = tokens.reduce((sum, token) => sum + token.length, Math.max(0, tokens.length - 1) * 2);
  if (bytes > maxBytes) throw new EctHeaderLimitError(`${bytes} bytes, over ${maxBytes} per message`);
}

/**
 * Joins tokens into one field value, a comma list: the form for a carrier that can hold only one
 * line per field. Prefer {@link formatExecutionContextLines} where the carrier can repeat a field.
 * Throws {@link EctHeaderLimitError} when they would break the limits, so the caller folds them
 * into a join token first.
 *
 * @example headers.set('execution-context', formatExecutionContext([a, b]));
 */
export function formatExecutionContext(tokens: readonly string[], limits: HeaderLimits = {}): string {
  checkFits(tokens, limits);
  return tokens.join(', ');
}

/**
 * The field lines of one message, one token each: the form the draft and its peers read (a peer
 * that takes each line as one JWT loses every token of a comma list). Same limits as
 * {@link formatExecutionContext}.
 *
 * @example for (const line of formatExecutionContextLines([a, b])) rawHeaders.push('execution-context', line);
 */
export function formatExecutionContextLines(tokens: readonly string[], limits: HeaderLimits = {}): string[] {
  checkFits(tokens, limits);
  return tokens.slice();
}

/**
 * True when `tokens` fit in one message under `limits`.
 *
 * @example if (!fitsExecutionContext(frontierTokens)) foldIntoJoinToken();
 */
export function fitsExecutionContext(tokens: readonly string[], limits: HeaderLimits = {}): boolean {
  const { maxTokens, maxBytes, maxTokenBytes } = limitsOf(limits);
  if (tokens.length > maxTokens) return false;
  let bytes = Math.max(0, tokens.length - 1) * 2;
  for (const token of tokens) {
    if (token.length > maxTokenBytes) return false;
    bytes += token.length;
  }
  return bytes <= maxBytes;
}
