import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { EctStats } from '../stats.js';

/** The log record exporter interface of both SDK lines, structurally. */
export interface LogRecordExporterLike<R> {
  export(records: R[], resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/**
 * Wraps a log record exporter to count failed exports of token log records
 * (`ect.token_logs.export_failed`), so a backend outage shows in the bridge's metrics.
 *
 * @example new BatchLogRecordProcessor({ exporter: new CountingLogExporter(new OTLPLogExporter(), bridge.stats) })
 */
export class CountingLogExporter<R> implements LogRecordExporterLike<R> {
  readonly #inner: LogRecordExporterLike<R>;
  readonly #stats: EctStats;

  constructor(inner: LogRecordExporterLike<R>, stats: EctStats) {
    this.#inner = inner;
    this.#stats = stats;
  }

  export(records: R[], resultCallback: (result: ExportResult) => void): void {
    try {
      this.#inner.export(records, (result) => {
        if (result.code !== ExportResultCode.SUCCESS)
          this.#stats.fail('token_logs.export_failed', result.error ?? new Error('export failed'), records.length);
        resultCallback(result);
      });
    } catch (error) {
      this.#stats.fail('token_logs.export_failed', error, records.length);
      resultCallback({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}
