#!/usr/bin/env bash
# Builds the independent Go check of the ledger (modules pinned in go.mod / go.sum, fetched from
# the Go module proxy) into ~/.cache/otel-ect/ledger-go-<hash of the sources>, once; prints the
# binary's path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v go >/dev/null || { echo "ledger-go: the go toolchain is needed (https://go.dev/dl)" >&2; exit 1; }
hash="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-16)"
out="${HOME}/.cache/otel-ect/ledger-go-${hash}"
if [ ! -x "$out/ledger-check" ]; then
  mkdir -p "$out"
  (cd "$here" && GOFLAGS=-mod=readonly go build -trimpath -o "$out/ledger-check.tmp" .)
  mv "$out/ledger-check.tmp" "$out/ledger-check"
fi
echo "$out/ledger-check"
