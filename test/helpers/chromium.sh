#!/usr/bin/env bash
# Finds a headless-capable Chromium for the HTML report tests and benchmark, installing Debian's
# `chromium` package with apt-get when it is missing and the script runs as root. Prints the
# executable's path on stdout (everything else goes to stderr) and exits 0; exits 1 when no Chromium
# can be found or installed.
#
#   bash test/helpers/chromium.sh            # → /usr/bin/chromium
#
# Order: $ECT_CHROMIUM (an explicit path), then `chromium` / `chromium-browser` on PATH, then
# apt-get (root only). The package manager is the cache: a second run finds the installed binary and
# does nothing. Concurrent runs (parallel test files, benches) are serialised on a lock file under
# ~/.cache/otel-ect/chromium so only one of them installs.
set -euo pipefail

find_chromium() {
  if [ -n "${ECT_CHROMIUM:-}" ] && [ -x "$ECT_CHROMIUM" ]; then
    echo "$ECT_CHROMIUM"
    return 0
  fi
  local candidate
  for candidate in chromium chromium-browser; do
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if find_chromium; then exit 0; fi

if [ "$(id -u)" != 0 ]; then
  echo "chromium.sh: Chromium not found and not root (Debian: apt-get install chromium, or set ECT_CHROMIUM)" >&2
  exit 1
fi

cache="${HOME:-/root}/.cache/otel-ect/chromium"
mkdir -p "$cache"
exec 9>"$cache/install.lock"
flock -w 900 9 || { echo "chromium.sh: timed out waiting for another install" >&2; exit 1; }
# Another run may have installed it while this one waited for the lock.
if find_chromium; then exit 0; fi

export DEBIAN_FRONTEND=noninteractive
# Other jobs on the machine may hold dpkg's lock (PostgreSQL, build tools): wait for it.
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >&2
date -u +%FT%TZ >"$cache/installed-at"

find_chromium || { echo "chromium.sh: apt-get finished but no chromium executable is on PATH" >&2; exit 1; }
