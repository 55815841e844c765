#!/usr/bin/env bash
# A throw-away PostgreSQL server for the ledger tests, from Debian's postgresql package (installed
# with apt-get when missing and running as root), on a temporary data directory, listening on
# 127.0.0.1 only.
#   postgres.sh start DATA_DIR PORT   → prints the connection URL once the server accepts connections
#   postgres.sh stop DATA_DIR [immediate]
set -euo pipefail
cmd="${1:?start|stop}"
dir="${2:?data directory}"
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
bin="$(find_bin)"
if [ -z "$bin" ] && [ "$cmd" = start ] && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bin="$(find_bin)"
fi
[ -n "$bin" ] || { echo "postgres.sh: PostgreSQL server binaries not found (Debian: apt-get install postgresql)" >&2; exit 1; }
# PostgreSQL refuses to run as root: as root, run it as the package's postgres user.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port="${3:?port}"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$dir"
      # mkdtemp folders are 0700: let the postgres user reach its data directory.
      chmod o+x "$(dirname "$dir")"
    fi
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir" -A trust -U ect -E UTF8 >/dev/null
    fi
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=60" start >/dev/null
    echo "postgres://ect@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir" -m "${3:-fast}" -w stop >/dev/null
    ;;
  *) echo "usage: postgres.sh start DIR PORT | stop DIR [immediate]" >&2; exit 2 ;;
esac
