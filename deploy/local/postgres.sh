#!/usr/bin/env bash
# Runs a PostgreSQL cluster in a project-local data directory on a loopback port.
#   postgres.sh install | start | stop | status | wait | psql [args]
# start is idempotent: installs PostgreSQL from Debian's packages if absent, initialises the
# cluster once, starts it if it is not running, and creates the databases that are missing.
# It never touches a cluster it did not create (the Debian default cluster is left alone).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_RUN="$STATE_DIR/postgres/run"
PG_LOG="$LOG_DIR/postgres.log"

pg_bindir() {
    local d
    if [ -n "${SAFETYPLAN_PG_BINDIR:-}" ]; then printf '%s' "$SAFETYPLAN_PG_BINDIR"; return; fi
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] && printf '%s' "$d"
}

install_pg() {
    if [ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ]; then return 0; fi
    [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and this is not root: apt-get install postgresql"
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q postgresql postgresql-contrib >/dev/null
    [ -x "$(pg_bindir)/initdb" ] || die "PostgreSQL installed but initdb was not found"
}

# as_pg CMD...: run a server binary as the non-root owner of the data directory.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

init_cluster() {
    [ -f "$PG_DATA/PG_VERSION" ] && return 0
    log "initialising a cluster in $PG_DATA (port $PG_PORT)"
    mkdir -p "$PG_DATA" "$PG_RUN"
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$PG_PASSWORD" >"$pwfile"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "the postgres system user is missing (is the Debian package installed?)"
        chown -R postgres:postgres "$STATE_DIR/postgres" "$pwfile"
        # the server runs as postgres: every parent directory must be traversable
        local p=$PG_DATA
        while [ "$p" != / ]; do
            p=$(dirname "$p")
            runuser -u postgres -- test -x "$p" || die "$p is not traversable by the postgres user; set SAFETYPLAN_STATE_DIR"
        done
    fi
    as_pg "$(pg_bindir)/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pwfile" \
        --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    cat >>"$PG_DATA/postgresql.conf" <<CONF
# --- safetyplan local settings ---
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 300
shared_buffers = 256MB
max_wal_size = 2GB
log_min_duration_statement = -1
CONF
}

is_running() {
    [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

wait_ready() {
    local i
    for ((i = 0; i < 150; i++)); do
        if "$(pg_bindir)/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT"; then return 0; fi
        sleep 0.2
    done
    return 1
}

create_databases() {
    local db
    for db in $PG_DATABASES; do
        if ! PGPASSWORD="$PG_PASSWORD" psql -qtA -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
            -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
            log "creating database $db"
            PGPASSWORD="$PG_PASSWORD" psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
                -c "CREATE DATABASE \"$db\"" >/dev/null
        fi
    done
}

start() {
    install_pg
    init_cluster
    if is_running; then
        log "PostgreSQL already running on $PG_HOST:$PG_PORT"
    else
        log "starting PostgreSQL on $PG_HOST:$PG_PORT"
        mkdir -p "$PG_RUN"
        touch "$PG_LOG"
        if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_RUN" "$PG_LOG"; fi
        # -p: the port of these settings wins over the one the cluster was initialised with
        as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "-p $PG_PORT" -w -t 60 start \
            >/dev/null ||
            die "PostgreSQL did not start; see $PG_LOG"
    fi
    wait_ready || die "PostgreSQL is not accepting connections on $PG_HOST:$PG_PORT; see $PG_LOG"
    create_databases
}

stop() {
    if [ -f "$PG_DATA/PG_VERSION" ] && is_running; then
        log "stopping PostgreSQL"
        as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
    else
        log "PostgreSQL: not running (nothing we started)"
    fi
}

case "${1:-}" in
install) install_pg ;;
start) start ;;
stop) stop ;;
status) if is_running; then echo "postgres: running on $PG_HOST:$PG_PORT"; else echo "postgres: stopped"; exit 3; fi ;;
wait) wait_ready ;;
psql) shift; PGPASSWORD="$PG_PASSWORD" exec psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$@" ;;
*) echo "usage: $0 install|start|stop|status|wait|psql [args]" >&2; exit 2 ;;
esac
