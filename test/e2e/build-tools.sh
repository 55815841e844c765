#!/usr/bin/env bash
# Builds the real OpenTelemetry Collector ("otelcol-ect", from
# collector-config/builder-config.yaml) and Jaeger v2 from the Go module
# proxy, for the ECT end-to-end tests. Optionally Tempo (ECT_BUILD_TEMPO=1).
#
# Usage:
#   bash test/e2e/build-tools.sh            # build what is missing, print KEY=path lines
#   bash test/e2e/build-tools.sh --env-file # same, but print only the tools.env path
#
# Output (stdout, everything else goes to stderr):
#   OTELCOL_BIN=/.../bin/otelcol-ect
#   JAEGER_BIN=/.../bin/jaeger
#   TEMPO_BIN=/.../bin/tempo-v1.5.0-go1.20.14  (only with ECT_BUILD_TEMPO=1 and a successful build)
#   TOOLS_ENV=/.../tools.env           (the same assignments, sourceable)
#
# Caching: binaries live outside the repo in
#   ${ECT_TOOLS_CACHE:-$HOME/.cache/ect-otel-tools}/<key>/
# where <key> hashes the pins below, builder-config.yaml and the Go toolchain,
# so a fresh clone on the same machine reuses them and a pin/config change
# gets a fresh directory. Each binary is built only if it is missing there.
# Delete the directory (or the whole cache root) to force a rebuild.
#
# Only `go install` / `go build` against the module proxy is used: no git
# clones, no vendored code, nothing is written into the repository.
set -euo pipefail

# ---------------------------------------------------------------------------
# Pins. Changing any of these (or builder-config.yaml) changes the cache key.
# ---------------------------------------------------------------------------

# OpenTelemetry Collector Builder; must share the minor version of the core
# modules in builder-config.yaml (see the comment there for why v0.162.0).
OCB_VERSION=v0.162.0

# Jaeger v2. The module path has no /v2 suffix, so v2.x tags are not valid Go
# versions for it: a v2 release is only reachable as a commit pseudo-version.
# Primary: v2.20.0 (commit 798e4b0fcf22...) as a pseudo-version; its go.mod
# has no replace directives, so plain `go install` works where the proxy
# serves it.
JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_PRIMARY_VERSION=v1.76.1-0.20260720033334-798e4b0fcf22
JAEGER_PRIMARY_LABEL=v2.20.0
JAEGER_PRIMARY_COMMIT=798e4b0fcf22609e381df764a01461affd813e1e
# Fallback: the v1.76.0 tag, the same commit as v2.13.0 (63b27e18...). Its
# go.mod has a replace directive, which `go install mod@version` refuses, so
# it is built through a generated wrapper module that repeats the replace.
JAEGER_FALLBACK_VERSION=v1.76.0
JAEGER_FALLBACK_LABEL=v2.13.0
JAEGER_FALLBACK_COMMIT=63b27e1810a710ac54dc4522da0538e540bdc545

# Tempo (optional, ECT_BUILD_TEMPO=1). Same /v2-less module path problem;
# v1.5.0 is the only version the proxy serves (see collector-config/README.md).
# It must be compiled by a Go < 1.21 toolchain (fetched from the proxy as the
# golang.org/toolchain module): built with go1.26 the distributor panics on
# the first push ("invalid Go type tempopb.PreallocBytes for field
# tempopb.PushBytesRequest.traces"), most likely because Go 1.21 changed the
# package init order and grpc's default "proto" codec now replaces Tempo's
# gogo codec.
TEMPO_MODULE=github.com/grafana/tempo
TEMPO_VERSION=v1.5.0
TEMPO_GOTOOLCHAIN=go1.20.14

# Bump when the build recipe below changes in a way that needs a rebuild.
RECIPE_REV=1

# ---------------------------------------------------------------------------

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
BUILDER_CONFIG="$REPO_ROOT/collector-config/builder-config.yaml"
CACHE_ROOT=${ECT_TOOLS_CACHE:-$HOME/.cache/ect-otel-tools}
BUILD_TEMPO=${ECT_BUILD_TEMPO:-0}

PRINT_MODE=vars
case "${1:-}" in
  "") ;;
  --env-file) PRINT_MODE=envfile ;;
  -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "unknown argument: $1" >&2; exit 2 ;;
esac

log() { printf '[build-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go not found in PATH"
[[ -f "$BUILDER_CONFIG" ]] || die "missing $BUILDER_CONFIG"

# Static binaries, no C toolchain needed, and smaller/reproducible output.
export CGO_ENABLED=0
GO_LDFLAGS_BASE="-s -w"

GO_ID=$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')
KEY_INPUT=$(
  printf '%s\n' "recipe=$RECIPE_REV" "go=$GO_ID" "ocb=$OCB_VERSION" \
    "jaeger=$JAEGER_PRIMARY_VERSION,$JAEGER_FALLBACK_VERSION"
  cat "$BUILDER_CONFIG"
)
KEY_HASH=$(printf '%s' "$KEY_INPUT" | sha256sum | cut -c1-12)
KEY="otelcol-${OCB_VERSION}_jaeger-${JAEGER_FALLBACK_LABEL}_${KEY_HASH}"
KEY_DIR="$CACHE_ROOT/$KEY"
BIN_DIR="$KEY_DIR/bin"
WORK_DIR="$KEY_DIR/work"
LOG_DIR="$KEY_DIR/logs"
# Tempo is optional and pinned separately, so its pins name the binary
# instead of entering the key: changing them never rebuilds the other tools.
TEMPO_BIN="$BIN_DIR/tempo-$TEMPO_VERSION-$TEMPO_GOTOOLCHAIN"
TEMPO_FAILED="$KEY_DIR/tempo-$TEMPO_VERSION-$TEMPO_GOTOOLCHAIN.failed"
mkdir -p "$BIN_DIR" "$WORK_DIR" "$LOG_DIR"
printf '%s\n' "$KEY_INPUT" > "$KEY_DIR/key-input.txt"

# Parallel test runs may call this script at the same time; serialise per key
# so two builds never write the same work dirs. Bounded wait (cold builds of
# both tools take well under an hour on 2 cores).
if command -v flock >/dev/null; then
  exec 9>"$KEY_DIR/.lock"
  flock -w 3600 9 || die "timed out waiting for another build-tools.sh run ($KEY_DIR/.lock)"
fi

# Records one cold build time per tool (only written when a build happens).
record_time() { printf '%s %ss %s\n' "$1" "$2" "$(date -u +%FT%TZ)" >> "$KEY_DIR/build-times.txt"; }

# Appends every replace directive of a dependency's go.mod to the wrapper
# module in the current directory. A module's own replace lines are ignored
# when it is a dependency, so the wrapper must restate them to build what
# upstream builds. Only module=>module replaces are expected; a local-path
# replace cannot be honoured and aborts the build.
copy_replaces() {
  local src_gomod=$1 line old new
  while IFS= read -r line; do
    old=${line%%=>*}; new=${line#*=>}
    old=$(echo $old); new=$(echo $new)          # trim / squeeze whitespace
    [[ "$new" == ./* || "$new" == ../* || "$new" == /* ]] && { log "local replace in $src_gomod: $line"; return 1; }
    old=${old/ /@}; new=${new/ /@}                # "path ver" -> "path@ver"
    go mod edit -replace="$old=$new" || return 1
  done < <(go mod edit -print "$src_gomod" | sed -e 's://.*$::' -e 's/^replace[[:space:]]*//' | grep '=>' || true)
}

# Builds <module>/<pkg>@<version> through a generated wrapper module that
# requires the module, restates its replace directives and starts from its
# own go.sum (the proxy's checksum-database mirror answers 404 for some of
# Jaeger's dependencies, and upstream's recorded hashes are stronger than
# switching verification off).
build_via_wrapper() {
  local module=$1 version=$2 pkg=$3 out=$4 ldflags=$5 dir=$6 toolchain=${7:-}
  local info gomod moddir godirective
  rm -rf "$dir"; mkdir -p "$dir"
  # Failures return instead of exiting: for optional tools the caller decides.
  info=$(cd "$dir" && go mod download -json "$module@$version") || { log "cannot download $module@$version"; return 1; }
  gomod=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  moddir=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "$gomod" && -d "$moddir" ]] || { log "could not locate go.mod/dir of $module@$version"; return 1; }
  godirective=$(go mod edit -json "$gomod" | sed -n 's/^[[:space:]]*"Go": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
  (
    cd "$dir"
    go mod init ect-tools/wrapper >/dev/null 2>&1
    go mod edit -go="${godirective:-1.22}" -require="$module@$version"
    copy_replaces "$gomod" || exit 1
    if [[ -f "$moddir/go.sum" ]]; then cp "$moddir/go.sum" go.sum && chmod u+w go.sum; fi
    env ${toolchain:+GOTOOLCHAIN="$toolchain"} go build -mod=mod -trimpath -ldflags="$ldflags" -o "$out" "$pkg"
  )
}

# --- 1. OpenTelemetry Collector (ocb) --------------------------------------
build_otelcol() {
  local bin="$BIN_DIR/otelcol-ect" start dir="$WORK_DIR/otelcol"
  [[ -x "$bin" ]] && { log "otelcol-ect: cached ($bin)"; return 0; }
  log "otelcol-ect: cold build (ocb $OCB_VERSION); log: $LOG_DIR/otelcol.log"
  start=$SECONDS
  rm -rf "$dir"; mkdir -p "$dir"
  GOBIN="$WORK_DIR/gobin" go install -trimpath "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION" \
    >"$LOG_DIR/ocb-install.log" 2>&1 || { tail -n 30 "$LOG_DIR/ocb-install.log" >&2; die "installing ocb failed"; }
  # Run from $dir so builder-config.yaml's relative output_path lands here.
  # GOFLAGS=-e reaches only ocb's `go mod tidy`: tidy also resolves the test
  # imports of every component, and the proxy refuses some test-only
  # modules (e.g. fileexporter's test dep otlpencodingextension); the
  # compile step still fails loudly if a module the binary needs is missing.
  # (Appended to the effective GOFLAGS, so flags from `go env -w` survive.)
  if ! (cd "$dir" && GOFLAGS="$(go env GOFLAGS) -e" "$WORK_DIR/gobin/builder" --config "$BUILDER_CONFIG") \
      >"$LOG_DIR/otelcol.log" 2>&1; then
    grep -v '^go: downloading' "$LOG_DIR/otelcol.log" | tail -n 40 >&2
    die "ocb build failed (full log: $LOG_DIR/otelcol.log)"
  fi
  mv "$dir/otelcol-ect-dist/otelcol-ect" "$bin"
  record_time otelcol-ect $((SECONDS - start))
  log "otelcol-ect: built in $((SECONDS - start))s"
}

# --- 2. Jaeger v2 ----------------------------------------------------------
jaeger_ldflags() { # label commit
  echo "$GO_LDFLAGS_BASE -X $JAEGER_MODULE/internal/version.latestVersion=$1 -X $JAEGER_MODULE/internal/version.commitSHA=$2"
}
build_jaeger() {
  local bin="$BIN_DIR/jaeger" start
  [[ -x "$bin" ]] && { log "jaeger: cached ($bin)"; return 0; }
  log "jaeger: cold build; log: $LOG_DIR/jaeger.log"
  start=$SECONDS
  rm -rf "$WORK_DIR/jaeger-gobin"
  if GOBIN="$WORK_DIR/jaeger-gobin" go install -trimpath \
       -ldflags="$(jaeger_ldflags "$JAEGER_PRIMARY_LABEL" "$JAEGER_PRIMARY_COMMIT")" \
       "$JAEGER_MODULE/cmd/jaeger@$JAEGER_PRIMARY_VERSION" >"$LOG_DIR/jaeger.log" 2>&1; then
    mv "$WORK_DIR/jaeger-gobin/jaeger" "$bin"
    echo "JAEGER_VERSION=$JAEGER_PRIMARY_LABEL" > "$KEY_DIR/jaeger.version"
  else
    log "jaeger: $JAEGER_PRIMARY_VERSION ($JAEGER_PRIMARY_LABEL) not available from the proxy:"
    grep -v '^go: downloading' "$LOG_DIR/jaeger.log" | head -n 3 >&2
    log "jaeger: falling back to $JAEGER_FALLBACK_VERSION (= $JAEGER_FALLBACK_LABEL) via wrapper module"
    build_via_wrapper "$JAEGER_MODULE" "$JAEGER_FALLBACK_VERSION" "$JAEGER_MODULE/cmd/jaeger" \
      "$bin.tmp" "$(jaeger_ldflags "$JAEGER_FALLBACK_LABEL" "$JAEGER_FALLBACK_COMMIT")" \
      "$WORK_DIR/jaeger-wrapper" >>"$LOG_DIR/jaeger.log" 2>&1 \
      || { grep -v '^go: downloading' "$LOG_DIR/jaeger.log" | tail -n 40 >&2; die "jaeger build failed (log: $LOG_DIR/jaeger.log)"; }
    mv "$bin.tmp" "$bin"
    echo "JAEGER_VERSION=$JAEGER_FALLBACK_LABEL" > "$KEY_DIR/jaeger.version"
  fi
  record_time jaeger $((SECONDS - start))
  log "jaeger: built in $((SECONDS - start))s ($(cat "$KEY_DIR/jaeger.version"))"
}

# --- 3. Tempo (optional) ---------------------------------------------------
# Failure here is not fatal: Tempo is optional for the test-suite. A failed
# attempt is remembered ($TEMPO_FAILED) so later runs do not retry the long
# build; delete that file to try again.
build_tempo() {
  local bin=$TEMPO_BIN start
  [[ -x "$bin" ]] && { log "tempo: cached ($bin)"; return 0; }
  if [[ -f "$TEMPO_FAILED" ]]; then
    log "tempo: skipped, an earlier build failed (see $LOG_DIR/tempo.log; rm $TEMPO_FAILED to retry)"
    return 0
  fi
  log "tempo: cold build of $TEMPO_MODULE@$TEMPO_VERSION with $TEMPO_GOTOOLCHAIN via wrapper module; log: $LOG_DIR/tempo.log"
  start=$SECONDS
  # The old toolchain also avoids the Go >= 1.23 linker's rejection of the
  # go:linkname in Tempo's 2022 golang.org/x/net ("invalid reference to
  # syscall.recvmsg").
  if build_via_wrapper "$TEMPO_MODULE" "$TEMPO_VERSION" "$TEMPO_MODULE/cmd/tempo" "$bin.tmp" \
       "$GO_LDFLAGS_BASE" "$WORK_DIR/tempo-wrapper" "$TEMPO_GOTOOLCHAIN" >"$LOG_DIR/tempo.log" 2>&1; then
    mv "$bin.tmp" "$bin"
    record_time tempo $((SECONDS - start))
    log "tempo: built in $((SECONDS - start))s"
  else
    touch "$TEMPO_FAILED"
    grep -v '^go: downloading' "$LOG_DIR/tempo.log" | tail -n 15 >&2
    log "tempo: build FAILED after $((SECONDS - start))s; continuing without Tempo"
  fi
}

log "cache: $KEY_DIR"
log "go: $GO_ID"
build_otelcol
build_jaeger
[[ "$BUILD_TEMPO" == 1 ]] && build_tempo

{
  echo "OTELCOL_BIN=$BIN_DIR/otelcol-ect"
  echo "JAEGER_BIN=$BIN_DIR/jaeger"
  [[ -x "$TEMPO_BIN" ]] && echo "TEMPO_BIN=$TEMPO_BIN"
  cat "$KEY_DIR/jaeger.version"
} > "$KEY_DIR/tools.env.tmp"
mv "$KEY_DIR/tools.env.tmp" "$KEY_DIR/tools.env"

if [[ "$PRINT_MODE" == envfile ]]; then
  echo "$KEY_DIR/tools.env"
else
  cat "$KEY_DIR/tools.env"
  echo "TOOLS_ENV=$KEY_DIR/tools.env"
fi
