import { SpanKind } from '@opentelemetry/api';
import { GEN_AI_OPERATION } from '../../base/conventions.js';
import type { EctReadableSpan } from '../span-types.js';

/** Decides which spans get a token; the others pass their frontier through. */
export type SpanSelector = (span: EctReadableSpan) => boolean;

const KINDS: Record<string, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/** Every span gets a token (the default). */
export const ALL_SPANS: SpanSelector = () => true;

/**
 * Parses the `ECT_SELECTOR` syntax: `all` (default), or a comma list of span kinds
 * (`server,client,internal,producer,consumer`) and `genai` (spans with `gen_ai.operation.name`).
 * Throws on an unknown word, so a typo does not silently sign nothing.
 *
 * @example parseSelector('server,client,genai')
 */
export function parseSelector(text: string | undefined): SpanSelector {
  const words = (text ?? 'all')
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w !== '');
  if (words.length === 0 || words.includes('all')) return ALL_SPANS;
  const kinds = new Set<SpanKind>();
  let genAi = false;
  for (const word of words) {
    if (word === 'genai') genAi = true;
    else if (word in KINDS) kinds.add(KINDS[word]!);
    else
      throw new Error(
        `ECT_SELECTOR: unknown word ${JSON.stringify(word)} (all, server, client, internal, producer, consumer, genai)`,
      );
  }
  return (span) => kinds.has(span.kind) || (genAi && span.attributes[GEN_AI_OPERATION] !== undefined);
}
