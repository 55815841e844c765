/**
 * Zero-code entry: `node --import otel-ect/register app.js`.
 *
 * Registers OTel's ESM loader hook (so `import`ed modules are instrumented too), then starts the SDK
 * with the bridge from the environment. Spans and tokens are flushed on `beforeExit` and on
 * SIGTERM/SIGINT; if the application has no handler of its own for the signal, the process then
 * exits as the signal would have made it. A bridge that cannot start leaves the application
 * untraced, or, under `ECT_MODE=enforce`, refusing every request (`installRefusal`).
 */
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const { startEctNodeSdk } = await import('./sdk.js');
const { diag } = await import('@opentelemetry/api');

try {
  const { shutdown } = await startEctNodeSdk();
  process.once('beforeExit', () => void shutdown());
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    const onSignal = () => {
      const theirs = process.listenerCount(signal) > 0;
      void shutdown().finally(() => {
        if (!theirs) process.exit(code);
      });
    };
    process.once(signal, onSignal);
  }
} catch (error) {
  // A broken setting must not take the application down: it runs untraced, and says why. Under
  // ECT_MODE=enforce it runs closed instead: every request is answered 503 ECT_NOT_ENFORCING, since
  // serving the routes unguarded would make a typo an open door (DESIGN.md §3).
  // Trimmed, unlike configFromEnv: ` enforce` is refused there, and must then fail closed here.
  const enforce = process.env.ECT_MODE?.trim().toLowerCase() === 'enforce';
  const reason = error instanceof Error ? error.message : String(error);
  const outcome = enforce
    ? 'every request is refused (503 ECT_NOT_ENFORCING) until the setting is fixed'
    : 'the application runs untraced';
  if (enforce) {
    const { installRefusal } = await import('./http/enforcement.js');
    installRefusal();
  }
  diag.error(`otel-ect: not started: ${reason}; ${outcome}`);
  process.stderr.write(`otel-ect: not started: ${reason}; ${outcome}\n`);
}
