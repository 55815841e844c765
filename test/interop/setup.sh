#!/usr/bin/env bash
# Builds the two independent implementations the interop test talks to, once per pinned version:
#   - a Python venv with jwcrypto (test/interop/python/requirements.txt, wheels only), cached in
#     ~/.cache/otel-ect/interop-py-<hash of requirements.txt>;
#   - the Go program test/interop/go (go-jose, pinned by go.mod/go.sum), cached in
#     ~/.cache/otel-ect/interop-go-<hash of go.mod, go.sum and the sources>.
# A warm cache costs two directory checks. Each part is built in a temporary directory and moved
# into place in one step, so an interrupted or concurrent run never leaves a half-built cache.
# Progress goes to standard error; the last line on standard output is JSON:
#   {"python": "<venv python>", "pythonScript": "<path>", "go": "<binary>"}
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${OTEL_ECT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-ect}"
mkdir -p "$cache_root"

# A build interrupted half-way leaves no temporary directory behind.
tmp=""
trap 'if [ -n "$tmp" ]; then rm -rf "$tmp"; fi' EXIT

hash_of() { cat "$@" | sha256sum | cut -c1-16; }
log() { echo "interop setup: $*" >&2; }

# Moves a freshly built directory into place; if another run got there first, keeps theirs.
install_dir() {
  local built="$1" target="$2"
  if ! mv -T "$built" "$target" 2>/dev/null; then
    rm -rf "$built"
    [ -d "$target" ] || { log "could not create $target"; exit 1; }
  fi
}

# --- Python: jwcrypto ------------------------------------------------------------------------
py_dir="$cache_root/interop-py-$(hash_of "$here/python/requirements.txt")"
if [ ! -x "$py_dir/bin/python" ]; then
  python="${PYTHON:-$(command -v python3)}"
  [ -n "$python" ] || { log "python3 not found"; exit 1; }
  log "creating the Python venv in $py_dir"
  tmp="$(mktemp -d "$cache_root/.interop-py.XXXXXX")" && chmod 755 "$tmp"
  # The venv is built at its final path name's sibling; scripts inside it must not embed the
  # temporary path, so only `bin/python -m pip` is used (no console scripts).
  "$python" -m venv "$tmp"
  "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: -r "$here/python/requirements.txt" >&2
  "$tmp/bin/python" -c 'import jwcrypto.jws' >&2
  install_dir "$tmp" "$py_dir"
fi

# --- Go: go-jose -----------------------------------------------------------------------------
go_dir="$cache_root/interop-go-$(hash_of "$here/go/go.mod" "$here/go/go.sum" "$here"/go/*.go)"
if [ ! -x "$go_dir/ect-interop" ]; then
  command -v go >/dev/null || { log "go not found"; exit 1; }
  log "building the Go program into $go_dir"
  tmp="$(mktemp -d "$cache_root/.interop-go.XXXXXX")" && chmod 755 "$tmp"
  # -mod=readonly: go.sum must already pin every module; GOTOOLCHAIN=local: never download a Go.
  (cd "$here/go" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -trimpath -o "$tmp/ect-interop" .) >&2
  install_dir "$tmp" "$go_dir"
fi

printf '{"python":"%s","pythonScript":"%s","go":"%s"}\n' \
  "$py_dir/bin/python" "$here/python/ect_interop.py" "$go_dir/ect-interop"
