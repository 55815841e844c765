import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonLogsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';

type Serializer<T> = { serializeRequest(items: T[]): Uint8Array | undefined };

/**
 * Appends each batch as one line of OTLP JSON (an `ExportTraceServiceRequest` or
 * `ExportLogsServiceRequest`, the format of the Collector's file exporter) to a file. For the
 * embedded, backend-free setup and for tests; a failing write fails only that batch.
 */
class OtlpJsonFileExporter<T> {
  readonly path: string;
  readonly #serializer: Serializer<T>;
  #stopped = false;

  constructor(path: string, serializer: Serializer<T>) {
    this.path = path;
    this.#serializer = serializer;
    mkdirSync(dirname(path), { recursive: true });
  }

  export(items: T[], resultCallback: (result: ExportResult) => void): void {
    if (this.#stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    try {
      const bytes = this.#serializer.serializeRequest(items);
      if (bytes !== undefined) appendFileSync(this.path, `${Buffer.from(bytes).toString('utf8')}\n`);
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.#stopped = true;
  }
}

/**
 * Span exporter writing OTLP JSON lines.
 *
 * @example new BatchSpanProcessor(new OtlpJsonFileSpanExporter('.ect/export/spans.jsonl'))
 */
export class OtlpJsonFileSpanExporter extends OtlpJsonFileExporter<
  Parameters<typeof JsonTraceSerializer.serializeRequest>[0][number]
> {
  constructor(path: string) {
    super(path, JsonTraceSerializer);
  }
}

/**
 * Log record exporter writing OTLP JSON lines.
 *
 * @example new BatchLogRecordProcessor(new OtlpJsonFileLogExporter('.ect/export/tokens.jsonl'))
 */
export class OtlpJsonFileLogExporter extends OtlpJsonFileExporter<
  Parameters<typeof JsonLogsSerializer.serializeRequest>[0][number]
> {
  constructor(path: string) {
    super(path, JsonLogsSerializer);
  }
}
