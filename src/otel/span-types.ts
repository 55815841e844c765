import type { Attributes, AttributeValue, HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { SettlingResource } from './export/unsettled-resources.js';

/**
 * The parts of an SDK span this package uses, typed structurally so the same processor and
 * exporter serve both SDK lines (`sdk-trace-base` 2.x and `sdk-trace` 3.x), whose `Span` and
 * `ReadableSpan` classes are distinct types with the same shape.
 */
export interface EctReadableSpan {
  readonly name: string;
  readonly kind: SpanKind;
  spanContext(): SpanContext;
  readonly parentSpanContext?: SpanContext | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links: Link[];
  readonly ended: boolean;
  readonly resource: { readonly attributes: Attributes } & SettlingResource;
}

/** A span that can still be written (in `onStart` and `onEnding`). */
export interface EctWritableSpan extends EctReadableSpan {
  setAttribute(key: string, value?: AttributeValue): unknown;
  addLink(link: Link): unknown;
  addEvent(name: string, attributes?: Attributes): unknown;
}
