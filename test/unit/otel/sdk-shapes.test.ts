import type { Context } from '@opentelemetry/api';
import type { LoggerProvider, LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import type {
  CountingLogExporter,
  EctLoggerProvider,
  EctReadableSpan,
  EctSpanExporter,
  EctSpanProcessor,
  EctWritableSpan,
  LogRecordExporterLike,
  SpanExporterLike,
} from '../../../src/otel/index.js';

// Type-level checks: the bridge re-declares SDK interfaces structurally so one build serves both
// SDK lines (2.x and 3.x). These assignments stop compiling (`npm run typecheck`, and the SDK 3.x
// run in test/compat/) as soon as either line's real interface and ours drift apart.
type Assert<T extends true> = T;
type Extends<A, B> = [A] extends [B] ? true : false;

type Shapes = [
  // The SDK's spans are what the processor and the exporter read and write.
  Assert<Extends<ReadableSpan, EctReadableSpan>>,
  Assert<Extends<Span, EctWritableSpan>>,
  // Our processor is an SDK span processor; our exporters are SDK exporters and wrap SDK exporters.
  Assert<Extends<EctSpanProcessor, SpanProcessor>>,
  Assert<Extends<SpanExporter, SpanExporterLike<ReadableSpan>>>,
  Assert<Extends<EctSpanExporter<ReadableSpan>, SpanExporter>>,
  Assert<Extends<LogRecordExporter, LogRecordExporterLike<ReadableLogRecord>>>,
  Assert<Extends<CountingLogExporter<ReadableLogRecord>, LogRecordExporter>>,
  // The SDK's logger provider is what the token pipeline emits through.
  Assert<Extends<LoggerProvider, EctLoggerProvider>>,
  // onStart receives the SDK's span and context.
  Assert<Extends<Parameters<SpanProcessor['onStart']>, [Span, Context]>>,
];

describe('structural SDK interfaces', () => {
  it('are checked at compile time (this file type-checks on both SDK lines)', () => {
    const checked: Shapes['length'] = 9;
    expect(checked).toBe(9);
  });
});
