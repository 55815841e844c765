import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const hooks = new URL('./unresolvable-hooks.mjs', import.meta.url).href;
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  name: string;
  exports: Record<string, unknown>;
};

/** Every `@opentelemetry/*` package. */
const ANY_OTEL = ['^@opentelemetry/'];
/** The SDK and its exporters: everything of OpenTelemetry but the API and `core` (required peers of `./otel`). */
const OTEL_SDK = ['^@opentelemetry/(?!api$|core$)'];

/** Imports `otel-ect{subpath}` (the built package, by its own name) in a process where `patterns` cannot be resolved. */
function importWithout(subpath: string, patterns: readonly string[]): { status: number | null; stderr: string } {
  const register = `import { register } from 'node:module'; register(${JSON.stringify(hooks)}, { data: { patterns: ${JSON.stringify(patterns)} } });`;
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(`${manifest.name}${subpath}`)}); if (Object.keys(m).length === 0) process.exit(3);`,
    ],
    { cwd: root, encoding: 'utf8', timeout: 30_000 },
  );
  return { status: result.status, stderr: result.stderr };
}

describe('package entry points load only what they need', () => {
  it.each(['', '/token', '/keys', '/dag', '/audit'])(
    'otel-ect%s loads with no OpenTelemetry package resolvable',
    (subpath) => {
      expect(manifest.exports[`.${subpath}`], `exports has .${subpath}`).toBeDefined();
      const result = importWithout(subpath, ANY_OTEL);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
  );

  it('otel-ect/otel loads with only the OpenTelemetry API and core resolvable', () => {
    const result = importWithout('/otel', OTEL_SDK);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('the check itself fails where the SDK is needed: otel-ect/sdk without the SDK', () => {
    const result = importWithout('/sdk', OTEL_SDK);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/made unresolvable by the test/);
  });
});
