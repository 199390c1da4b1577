# Shared settings and helpers for the deploy/local scripts (sourced, not run).
# Every value is a setting with a default; export the variable to override it.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SAFETYPLAN_ROOT="$ROOT"
STATE_DIR=${SAFETYPLAN_STATE_DIR:-$ROOT/.local}
VENV=${SAFETYPLAN_VENV:-$ROOT/.venv}
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/logs"

# PostgreSQL (local cluster in a project-local data directory, loopback only)
PG_HOST=${SAFETYPLAN_PG_HOST:-127.0.0.1}
PG_PORT=${SAFETYPLAN_PG_PORT:-55432}
PG_USER=${SAFETYPLAN_PG_USER:-safetyplan}
PG_PASSWORD=${SAFETYPLAN_PG_PASSWORD:-safetyplan-local-only}
PG_DATA=${SAFETYPLAN_PG_DATA:-$STATE_DIR/postgres/data}
PG_DATABASES=${SAFETYPLAN_PG_DATABASES:-safetyplan_plan safetyplan_audit safetyplan_reporting safetyplan_keys}

# Apache Kafka (single KRaft broker+controller fetched from Maven Central)
KAFKA_VERSION=${SAFETYPLAN_KAFKA_VERSION:-4.3.0}
KAFKA_HOST=${SAFETYPLAN_KAFKA_HOST:-127.0.0.1}
KAFKA_PORT=${SAFETYPLAN_KAFKA_PORT:-59092}
KAFKA_CONTROLLER_PORT=${SAFETYPLAN_KAFKA_CONTROLLER_PORT:-59093}
KAFKA_HEAP=${SAFETYPLAN_KAFKA_HEAP:-512m}
KAFKA_HOME=${SAFETYPLAN_KAFKA_HOME:-$STATE_DIR/kafka}

export SAFETYPLAN_PG_HOST="$PG_HOST" SAFETYPLAN_PG_PORT="$PG_PORT" SAFETYPLAN_PG_USER="$PG_USER"
export SAFETYPLAN_PG_PASSWORD="$PG_PASSWORD"
export SAFETYPLAN_KAFKA_BOOTSTRAP_SERVERS=${SAFETYPLAN_KAFKA_BOOTSTRAP_SERVERS:-$KAFKA_HOST:$KAFKA_PORT}

mkdir -p "$RUN_DIR" "$LOG_DIR"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# pid_alive FILE -> 0 when FILE names a live process.
pid_alive() {
    local f=$1 pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pidfile FILE NAME [SECONDS]: SIGTERM the process we started, SIGKILL after a grace period.
stop_pidfile() {
    local f=$1 name=$2 grace=${3:-20} pid i
    if ! pid_alive "$f"; then
        rm -f "$f"
        log "$name: not running (nothing we started)"
        return 0
    fi
    pid=$(cat "$f")
    log "$name: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: still running after ${grace}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

# wait_tcp HOST PORT SECONDS: wait until something accepts connections.
wait_tcp() {
    local host=$1 port=$2 secs=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    return 1
}

venv_python() {
    [ -x "$VENV/bin/python" ] || "$ROOT/deploy/local/bootstrap.sh"
    printf '%s' "$VENV/bin/python"
}
