import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { ATTR, TOKEN_LOG_EVENT } from '../../base/conventions.js';
import { otlpRecordsInJson } from '../../base/otlp-json.js';
import type { AuditSourceReader, SourceRecord } from './types.js';

/**
 * A file of exported spans and tokens, read line by line: OTLP JSON lines (the bridge's and the
 * Collector's file exporters, traces and logs, also Jaeger's `{"result": …}` answers saved to a
 * file) or one compact token per line. Only one line is held at a time, so a file of any length
 * streams. Spans are yielded as they are (the engine takes `ect.token` from their attributes);
 * token log records as tokens with the trace and span ids of the record.
 *
 * @example
 * const source = await OtlpFileSource.open('export/spans-api-1.jsonl');
 * for await (const record of source.records()) console.log(record.kind, record.at);
 */
export class OtlpFileSource implements AuditSourceReader {
  readonly kind: 'otlp-file' | 'token-file';
  readonly location: string;
  #size: number | undefined;
  #bytesRead = 0;

  private constructor(path: string, kind: 'otlp-file' | 'token-file') {
    this.location = path;
    this.kind = kind;
  }

  /** Bytes read of the file's size (its size when `records()` began). */
  progress(): { done: number; total: number } | undefined {
    return this.#size === undefined ? undefined : { done: Math.min(this.#bytesRead, this.#size), total: this.#size };
  }

  /**
   * Opens a file, telling OTLP JSON from plain token lines by its first non-blank line. Rejects
   * like `fs.open` when the file cannot be read.
   */
  static async open(path: string): Promise<OtlpFileSource> {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
      const head = buffer.subarray(0, bytesRead).toString('utf8');
      const first = head.split(/\r?\n/).find((line) => line.trim() !== '' && !line.trim().startsWith('#'));
      return new OtlpFileSource(path, first === undefined || first.trim().startsWith('{') ? 'otlp-file' : 'token-file');
    } finally {
      await handle.close();
    }
  }

  /**
   * The file's records in order. A line that starts with `{` but is not JSON throws a
   * `SyntaxError` naming file and line; blank lines and `#` comments are skipped.
   */
  async *records(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    let line = 0;
    this.#bytesRead = 0;
    this.#size = (await stat(this.location)).size;
    for await (const raw of lines(this.location, (bytes) => (this.#bytesRead += bytes))) {
      line++;
      signal?.throwIfAborted();
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) continue;
      const at = `${this.location}:${line}`;
      if (!text.startsWith('{')) {
        yield { kind: 'token', token: text, at };
        continue;
      }
      let request: unknown;
      try {
        request = JSON.parse(text);
      } catch (error) {
        throw new SyntaxError(`${at}: not JSON: ${(error as Error).message}`, { cause: error });
      }
      const { spans, logRecords } = otlpRecordsInJson(request);
      for (const record of logRecords) {
        const body = record.body;
        if (typeof body !== 'string' || (record.eventName !== TOKEN_LOG_EVENT && body.split('.').length !== 3))
          continue;
        const hint = record.attributes[ATTR.jti];
        yield {
          kind: 'token',
          token: body,
          at,
          ...(record.traceId === undefined ? {} : { traceId: record.traceId }),
          ...(record.spanId === undefined ? {} : { spanId: record.spanId }),
          ...(typeof hint === 'string' ? { jti: hint } : {}),
        };
      }
      for (const span of spans) yield { kind: 'span', span, at };
    }
  }
}

/**
 * The lines of a file, read with back-pressure: the next chunk is read only once the lines of the
 * last were consumed. (`readline`'s async iterator, as of Node 20, keeps reading ahead while the
 * consumer is busy: on a 1.3 GB export audited slower than it is read, it buffered the whole file.)
 */
async function* lines(path: string, onChunk: (bytes: number) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    onChunk((chunk as Buffer).length);
    const text = rest + decoder.write(chunk as Buffer);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield text.slice(start, end);
      start = end + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}
