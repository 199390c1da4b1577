#!/usr/bin/env bash
# Starts and stops the service processes listed in processes.conf, each with a PID file.
#   services.sh start [name...] | stop [name...] | status | wait
# start skips processes that are already running; stop only stops processes this script started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONF="$ROOT/deploy/local/processes.conf"

# rows [names...]: "name port args..." for the selected (or all) processes
rows() {
    local filter=" $* " name port rest
    while read -r name port rest; do
        case "$name" in "" | \#*) continue ;; esac
        if [ $# -gt 0 ] && [[ $filter != *" $name "* ]]; then continue; fi
        printf '%s %s %s\n' "$name" "$port" "$rest"
    done <"$CONF"
}

start() {
    local py name port rest
    py=$(venv_python)
    while read -r name port rest; do
        local pidfile="$RUN_DIR/$name.pid"
        if pid_alive "$pidfile"; then
            log "$name: already running (pid $(cat "$pidfile"))"
            continue
        fi
        if [ "$port" != "-" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            die "$name: port $port is taken by a process this script did not start"
        fi
        log "$name: starting"
        # shellcheck disable=SC2086  # rest is a word list from processes.conf
        # exec: the PID we record is the python process itself, so stop can reach it
        (cd "$ROOT" && exec nohup "$py" $rest >>"$LOG_DIR/$name.log" 2>&1) &
        echo $! >"$pidfile"
    done < <(rows "$@")
    wait_ready "$@"
}

wait_ready() {
    local name port rest i
    while read -r name port rest; do
        [ "$port" = "-" ] && continue
        for ((i = 0; i < 300; i++)); do
            pid_alive "$RUN_DIR/$name.pid" || { tail -n 20 "$LOG_DIR/$name.log" >&2; die "$name exited; see $LOG_DIR/$name.log"; }
            if curl -fs -o /dev/null "http://127.0.0.1:$port/readyz"; then break; fi
            sleep 0.2
        done
        curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || die "$name is not ready; see $LOG_DIR/$name.log"
    done < <(rows "$@")
}

stop() {
    local name port rest
    while read -r name port rest; do
        stop_pidfile "$RUN_DIR/$name.pid" "$name" 15
    done < <(rows "$@" | tac)
}

status() {
    local name port rest
    while read -r name port rest; do
        if pid_alive "$RUN_DIR/$name.pid"; then
            echo "$name: running (pid $(cat "$RUN_DIR/$name.pid"))${port/#/ port }"
        else
            echo "$name: stopped"
        fi
    done < <(rows)
}

cmd=${1:-}
shift || true
case "$cmd" in
start) start "$@" ;;
stop) stop "$@" ;;
status) status ;;
wait) wait_ready "$@" ;;
*) echo "usage: $0 start|stop [name...] | status | wait" >&2; exit 2 ;;
esac
