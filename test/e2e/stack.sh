#!/usr/bin/env bash
# Local end-to-end stack for the ECT bridge: Jaeger v2 (in-memory) behind the
# real OpenTelemetry Collector (otelcol-ect), both on 127.0.0.1 only.
#
#   bash test/e2e/stack.sh start    # build tools if needed, start, wait until ready
#   bash test/e2e/stack.sh status   # exit 0 only if both processes are running
#   bash test/e2e/stack.sh env      # print the stack.env of the running stack
#   bash test/e2e/stack.sh stop     # stop both (TERM, then KILL after 10 s)
#   bash test/e2e/stack.sh stop-collector   # stop only otelcol-ect (outage tests); Jaeger keeps running
#   bash test/e2e/stack.sh start-collector  # start otelcol-ect again on the same endpoints
#
# stop-collector/start-collector/status/env/stop take the endpoints, files and
# binaries from the running stack's stack.env (only ECT_STACK_DIR is needed).
# The Collector's file exporter truncates ECT_TRACES_FILE / ECT_LOGS_FILE when
# it starts, so copy them before start-collector if you still need them.
#
# Data path:  app --OTLP--> otelcol-ect (:4318/:4317) --OTLP/gRPC--> Jaeger (:14317)
#                              |-> $ECT_TRACES_FILE (OTLP/JSON lines, spans)
#                              '-> $ECT_LOGS_FILE   (OTLP/JSON lines, token log records)
# Read back:  Jaeger query API on $ECT_JAEGER_QUERY_HTTP_ENDPOINT
#             (/api/traces/<id>, /api/v3/traces/<id>, /api/services).
#
# Everything is configurable through the same env vars the configs read
# (defaults shown; export them before `start`):
#   ECT_STACK_DIR                   state dir (pids, logs, outputs)  ${TMPDIR:-/tmp}/ect-e2e-stack
#   ECT_OTLP_HTTP_ENDPOINT          Collector OTLP/HTTP              127.0.0.1:4318
#   ECT_OTLP_GRPC_ENDPOINT          Collector OTLP/gRPC              127.0.0.1:4317
#   ECT_JAEGER_OTLP_GRPC_ENDPOINT   Jaeger OTLP/gRPC                 127.0.0.1:14317
#   ECT_JAEGER_OTLP_HTTP_ENDPOINT   Jaeger OTLP/HTTP                 127.0.0.1:14318
#   ECT_JAEGER_QUERY_HTTP_ENDPOINT  Jaeger query HTTP (API + UI)     127.0.0.1:16686
#   ECT_JAEGER_QUERY_GRPC_ENDPOINT  Jaeger query gRPC                127.0.0.1:16685
#   ECT_TRACES_FILE / ECT_LOGS_FILE file exporter outputs            $ECT_STACK_DIR/{traces,logs}.jsonl
#   ECT_COLLECTOR_CONFIG            Collector config file(s), space-separated
#                                                                    collector-config/jaeger.yaml
#   ECT_STACK_TIMEOUT               readiness wait per process, s    60
#   OTELCOL_BIN / JAEGER_BIN        use these binaries instead of running build-tools.sh
#
# After `start`, $ECT_STACK_DIR/stack.env holds the resolved endpoints and
# file paths (KEY=value lines) for tests to read.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

export ECT_STACK_DIR=${ECT_STACK_DIR:-${TMPDIR:-/tmp}/ect-e2e-stack}

# Every command but `start` acts on the stack that `start` recorded: its
# stack.env wins over the caller's environment, so a restarted Collector gets
# exactly the endpoints, files and binary it had. Parsed line by line (not
# sourced): only known KEY=value lines, values taken literally.
if [[ "${1:-}" != start && -f "$ECT_STACK_DIR/stack.env" ]]; then
  while IFS= read -r line; do
    key=${line%%=*}; value=${line#*=}
    case "$key" in
      OTELCOL_BIN|JAEGER_BIN|ECT_OTLP_HTTP_ENDPOINT|ECT_OTLP_GRPC_ENDPOINT|ECT_JAEGER_OTLP_GRPC_ENDPOINT|\
      ECT_JAEGER_OTLP_HTTP_ENDPOINT|ECT_JAEGER_QUERY_HTTP_ENDPOINT|ECT_JAEGER_QUERY_GRPC_ENDPOINT|\
      ECT_TRACES_FILE|ECT_LOGS_FILE|ECT_COLLECTOR_CONFIG)
        export "$key=$value" ;;
    esac
  done < "$ECT_STACK_DIR/stack.env"
  unset line key value
fi
export ECT_OTLP_HTTP_ENDPOINT=${ECT_OTLP_HTTP_ENDPOINT:-127.0.0.1:4318}
export ECT_OTLP_GRPC_ENDPOINT=${ECT_OTLP_GRPC_ENDPOINT:-127.0.0.1:4317}
export ECT_JAEGER_OTLP_GRPC_ENDPOINT=${ECT_JAEGER_OTLP_GRPC_ENDPOINT:-127.0.0.1:14317}
export ECT_JAEGER_OTLP_HTTP_ENDPOINT=${ECT_JAEGER_OTLP_HTTP_ENDPOINT:-127.0.0.1:14318}
export ECT_JAEGER_QUERY_HTTP_ENDPOINT=${ECT_JAEGER_QUERY_HTTP_ENDPOINT:-127.0.0.1:16686}
export ECT_JAEGER_QUERY_GRPC_ENDPOINT=${ECT_JAEGER_QUERY_GRPC_ENDPOINT:-127.0.0.1:16685}
export ECT_TRACES_FILE=${ECT_TRACES_FILE:-$ECT_STACK_DIR/traces.jsonl}
export ECT_LOGS_FILE=${ECT_LOGS_FILE:-$ECT_STACK_DIR/logs.jsonl}
COLLECTOR_CONFIGS=${ECT_COLLECTOR_CONFIG:-$REPO_ROOT/collector-config/jaeger.yaml}
JAEGER_CONFIG="$SCRIPT_DIR/jaeger-config.yaml"
TIMEOUT=${ECT_STACK_TIMEOUT:-60}

log() { printf '[stack] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pidfile() { echo "$ECT_STACK_DIR/$1.pid"; }

# A pid file only counts if that pid is still alive *and* still runs our
# binary, so a stale file whose pid got reused never makes us signal an
# unrelated process.
running_pid() {
  local f pid exe
  f=$(pidfile "$1")
  [[ -f "$f" ]] || return 1
  pid=$(<"$f")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  [[ -z "$exe" || "$(basename "${exe% (deleted)}")" == "$2" ]] || return 1
  echo "$pid"
}

# True if something accepts TCP connections on host:port.
port_open() {
  local host=${1%:*} port=${1##*:}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# Only loopback listeners: the stack must never be reachable from outside.
require_loopback() {
  local name=$1 ep=$2
  case "${ep%:*}" in
    127.*|localhost|"[::1]") ;;
    *) die "$name=$ep is not a loopback address" ;;
  esac
}

resolve_binaries() {
  if [[ -z "${OTELCOL_BIN:-}" || -z "${JAEGER_BIN:-}" ]]; then
    local envfile
    envfile=$(bash "$SCRIPT_DIR/build-tools.sh" --env-file)
    # shellcheck disable=SC1090
    source "$envfile"
  fi
  [[ -x "$OTELCOL_BIN" ]] || die "OTELCOL_BIN not executable: $OTELCOL_BIN"
  [[ -x "$JAEGER_BIN" ]] || die "JAEGER_BIN not executable: $JAEGER_BIN"
}

# Polls <check> once per 0.5 s for at most $TIMEOUT s, failing early (with the
# process log) if the process died, e.g. because a port was taken.
wait_until() {
  local name=$1 pid=$2 check=$3 i
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$ECT_STACK_DIR/$name.log" >&2 || true
      die "$name exited during startup (log: $ECT_STACK_DIR/$name.log)"
    fi
    if eval "$check"; then return 0; fi
    sleep 0.5
  done
  tail -n 30 "$ECT_STACK_DIR/$name.log" >&2 || true
  die "$name not ready after ${TIMEOUT}s (log: $ECT_STACK_DIR/$name.log)"
}

jaeger_ready() {
  curl -fs --max-time 2 -o /dev/null "http://$ECT_JAEGER_QUERY_HTTP_ENDPOINT/api/services"
}

write_env() {
  cat > "$ECT_STACK_DIR/stack.env.tmp" <<EOF
ECT_STACK_DIR=$ECT_STACK_DIR
OTELCOL_BIN=$OTELCOL_BIN
JAEGER_BIN=$JAEGER_BIN
OTELCOL_PID=$(cat "$(pidfile otelcol)" 2>/dev/null || true)
JAEGER_PID=$(cat "$(pidfile jaeger)" 2>/dev/null || true)
ECT_OTLP_HTTP_ENDPOINT=$ECT_OTLP_HTTP_ENDPOINT
ECT_OTLP_GRPC_ENDPOINT=$ECT_OTLP_GRPC_ENDPOINT
OTEL_EXPORTER_OTLP_ENDPOINT=http://$ECT_OTLP_HTTP_ENDPOINT
JAEGER_QUERY_URL=http://$ECT_JAEGER_QUERY_HTTP_ENDPOINT
ECT_JAEGER_QUERY_HTTP_ENDPOINT=$ECT_JAEGER_QUERY_HTTP_ENDPOINT
ECT_JAEGER_QUERY_GRPC_ENDPOINT=$ECT_JAEGER_QUERY_GRPC_ENDPOINT
ECT_JAEGER_OTLP_GRPC_ENDPOINT=$ECT_JAEGER_OTLP_GRPC_ENDPOINT
ECT_JAEGER_OTLP_HTTP_ENDPOINT=$ECT_JAEGER_OTLP_HTTP_ENDPOINT
ECT_TRACES_FILE=$ECT_TRACES_FILE
ECT_LOGS_FILE=$ECT_LOGS_FILE
ECT_COLLECTOR_CONFIG=$COLLECTOR_CONFIGS
EOF
  mv "$ECT_STACK_DIR/stack.env.tmp" "$ECT_STACK_DIR/stack.env"
}

cmd_start() {
  command -v curl >/dev/null || die "curl is required"
  mkdir -p "$ECT_STACK_DIR"
  if running_pid jaeger jaeger >/dev/null || running_pid otelcol "$(basename "${OTELCOL_BIN:-otelcol-ect}")" >/dev/null; then
    die "stack already running in $ECT_STACK_DIR (run: $0 stop)"
  fi
  local v
  for v in ECT_OTLP_HTTP_ENDPOINT ECT_OTLP_GRPC_ENDPOINT ECT_JAEGER_OTLP_GRPC_ENDPOINT \
           ECT_JAEGER_OTLP_HTTP_ENDPOINT ECT_JAEGER_QUERY_HTTP_ENDPOINT ECT_JAEGER_QUERY_GRPC_ENDPOINT; do
    require_loopback "$v" "${!v}"
    # Fail fast on a busy port instead of letting the test talk to whatever
    # else is listening there.
    port_open "${!v}" && die "$v=${!v} is already in use"
  done
  resolve_binaries

  rm -f "$ECT_STACK_DIR"/{jaeger,otelcol}.log "$ECT_STACK_DIR/stack.env" "$ECT_TRACES_FILE" "$ECT_LOGS_FILE"

  # A half-started stack is worse than none (Jaeger would keep its ports):
  # whatever was started is stopped again if anything below fails.
  trap 'log "start failed, cleaning up"; cmd_stop' EXIT

  # Jaeger first: the Collector's exporter would otherwise start with failed
  # (retried) exports and noisy logs. nohup + </dev/null detaches the daemons
  # from the caller's terminal so they survive until `stop`.
  log "starting jaeger ($JAEGER_BIN)"
  nohup "$JAEGER_BIN" --config "$JAEGER_CONFIG" </dev/null >"$ECT_STACK_DIR/jaeger.log" 2>&1 &
  echo $! > "$(pidfile jaeger)"
  wait_until jaeger "$!" jaeger_ready

  start_otelcol

  write_env
  trap - EXIT
  log "ready; state in $ECT_STACK_DIR"
  cat "$ECT_STACK_DIR/stack.env"
}

# Starts the Collector and waits until both OTLP receivers accept
# connections (receivers start last, after the exporters, so this means the
# pipelines are up). Its log is appended to, so a restart keeps the history.
start_otelcol() {
  local cfg_args=() c
  for c in $COLLECTOR_CONFIGS; do
    [[ -f "$c" ]] || die "collector config not found: $c"
    cfg_args+=(--config "$c")
  done
  log "starting otelcol-ect ($OTELCOL_BIN ${cfg_args[*]})"
  nohup "$OTELCOL_BIN" "${cfg_args[@]}" </dev/null >>"$ECT_STACK_DIR/otelcol.log" 2>&1 &
  echo $! > "$(pidfile otelcol)"
  wait_until otelcol "$!" 'port_open "$ECT_OTLP_HTTP_ENDPOINT" && port_open "$ECT_OTLP_GRPC_ENDPOINT"'
}

# Restarts only the Collector of a running stack (after stop-collector), on
# the endpoints, files and binary recorded in stack.env.
cmd_start_collector() {
  [[ -f "$ECT_STACK_DIR/stack.env" ]] || die "no running stack in $ECT_STACK_DIR (run: $0 start)"
  running_pid jaeger jaeger >/dev/null || die "jaeger is not running in $ECT_STACK_DIR (run: $0 stop; $0 start)"
  running_pid otelcol "$(otelcol_exe)" >/dev/null && die "otelcol-ect is already running in $ECT_STACK_DIR"
  local v
  for v in ECT_OTLP_HTTP_ENDPOINT ECT_OTLP_GRPC_ENDPOINT; do
    require_loopback "$v" "${!v}"
    port_open "${!v}" && die "$v=${!v} is already in use"
  done
  [[ -x "$OTELCOL_BIN" ]] || die "OTELCOL_BIN not executable: $OTELCOL_BIN"
  # Never leave an unrecorded Collector behind.
  trap 'log "start-collector failed, cleaning up"; stop_one otelcol "$(otelcol_exe)"; write_env' EXIT
  printf '\n[stack] --- start-collector %s ---\n' "$(date -u +%FT%TZ)" >>"$ECT_STACK_DIR/otelcol.log"
  start_otelcol
  write_env
  trap - EXIT
  log "otelcol-ect ready again (pid $(<"$(pidfile otelcol)"))"
}

# Stops only the Collector (an outage as the applications see it); Jaeger
# keeps running with what it stored. stack.env stays, with OTELCOL_PID empty.
cmd_stop_collector() {
  [[ -f "$ECT_STACK_DIR/stack.env" ]] || die "no running stack in $ECT_STACK_DIR (run: $0 start)"
  stop_one otelcol "$(otelcol_exe)"
  write_env
}

stop_one() {
  local name=$1 exe=$2 pid i
  if ! pid=$(running_pid "$name" "$exe"); then
    rm -f "$(pidfile "$name")"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not exit after 10s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pidfile "$name")"
}

# Which executable name to expect for the Collector: the one recorded at start.
otelcol_exe() {
  local bin=${OTELCOL_BIN:-}
  [[ -z "$bin" && -f "$ECT_STACK_DIR/stack.env" ]] && bin=$(sed -n 's/^OTELCOL_BIN=//p' "$ECT_STACK_DIR/stack.env")
  basename "${bin:-otelcol-ect}"
}

cmd_stop() {
  # Collector first so it can flush its last batch to Jaeger and the files.
  stop_one otelcol "$(otelcol_exe)"
  stop_one jaeger jaeger
  # Outputs and logs stay for inspection; only the "running" marker goes.
  rm -f "$ECT_STACK_DIR/stack.env"
}

cmd_status() {
  local rc=0 pid
  if pid=$(running_pid jaeger jaeger); then log "jaeger:  running (pid $pid)"; else log "jaeger:  stopped"; rc=1; fi
  if pid=$(running_pid otelcol "$(otelcol_exe)"); then log "otelcol: running (pid $pid)"; else log "otelcol: stopped"; rc=1; fi
  [[ $rc == 0 ]] && jaeger_ready && log "jaeger query API answering on http://$ECT_JAEGER_QUERY_HTTP_ENDPOINT"
  return $rc
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  start-collector) cmd_start_collector ;;
  stop-collector) cmd_stop_collector ;;
  env) [[ -f "$ECT_STACK_DIR/stack.env" ]] && cat "$ECT_STACK_DIR/stack.env" || die "no stack.env in $ECT_STACK_DIR" ;;
  *) sed -n '2,40p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
