// A service stopped right after its spans end loses none of them from its own OTLP JSON export.
//
// `BatchSpanProcessor.shutdown` flushes only the spans still in its queue, then shuts its exporter
// down: a batch it had already taken is not waited for. Two windows keep such a batch away from the
// file exporter: the SDK waiting for the resource's asynchronous attributes (host detection, right
// after start-up) before it calls `export`, and the bridge's exporter tagging the batch (signing
// leftover tokens on a later turn; with the crypto pool, a worker round trip, its start-up on first
// use). A SIGTERM sent as soon as the response arrives lands in one of them often; before the fix
// the whole span file was missing in about one run in three under load. Each iteration is one
// process: start, one request, SIGTERM, read the files. test/unit/otel/shutdown-export.test.ts opens
// both windows deterministically.
import { rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOtlpFiles } from '../../src/audit/index.js';
import { exportFiles } from '../helpers/export.js';
import { freshHome, startService } from './fixtures/processes.js';

/** Processes started and stopped, one after the other. */
const ITERATIONS = 4;
/** Spans of one `GET /work` of the fixture service: the server span, `work` and `prepare`. */
const SPANS_PER_REQUEST = 3;

const homes: string[] = [];
afterAll(() => {
  if (!process.env.ECT_KEEP_RUNS) for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('SIGTERM right after the last span: every span and token reaches the OTLP JSON files', () => {
  it.each([
    ['crypto pool on (ECT_CRYPTO_THREADS=1)', '1'],
    ['in the event loop (ECT_CRYPTO_THREADS=0)', '0'],
  ])(
    '%s',
    async (_label, threads) => {
      const lost: string[] = [];
      for (let i = 0; i < ITERATIONS; i++) {
        const home = freshHome();
        homes.push(home);
        const service = await startService(`stop-${threads}-${i}`, home, {
          ECT_CRYPTO_THREADS: threads,
          // The batch processor exports 1 ms after the first span ends: while its tokens are still
          // unsigned (the token pipeline waits 100 ms), so the span exporter signs them itself.
          OTEL_BSP_SCHEDULE_DELAY: '1',
          OTEL_BLRP_SCHEDULE_DELAY: '1',
        });
        const response = await fetch(`${service.url}/work`, { signal: AbortSignal.timeout(10_000) });
        expect(response.status).toBe(200);
        await response.arrayBuffer();
        // At once: no wait between the response and the signal.
        await service.stop();
        const files = exportFiles(join(home, 'export'));
        const { spans } = await readOtlpFiles(files.filter((f) => basename(f).startsWith('spans-')));
        const { logRecords } = await readOtlpFiles(files.filter((f) => basename(f).startsWith('tokens-')));
        const withToken = spans.filter((s) => typeof s.attributes['ect.token'] === 'string');
        if (spans.length !== SPANS_PER_REQUEST || withToken.length !== SPANS_PER_REQUEST)
          lost.push(`#${i}: ${spans.length} spans (${withToken.length} with ect.token): ${spans.map((s) => s.name)}`);
        if (logRecords.length !== SPANS_PER_REQUEST) lost.push(`#${i}: ${logRecords.length} token log records`);
      }
      expect(lost).toEqual([]);
    },
    ITERATIONS * 40_000,
  );
});
