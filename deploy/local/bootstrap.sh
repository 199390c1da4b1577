#!/usr/bin/env bash
# Creates the project virtualenv (.venv) and installs the project with its dev tools.
# Idempotent: reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON_BIN=${SAFETYPLAN_PYTHON:-python3}
if ! "$PYTHON_BIN" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    die "Python >= 3.11 is required (found: $("$PYTHON_BIN" --version 2>&1)); set SAFETYPLAN_PYTHON"
fi
if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv in $VENV"
    "$PYTHON_BIN" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    log "installing the project and its dev tools into $VENV"
    # build-backend chatter goes to a log; it is shown only when the install fails
    if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
        "$VENV/bin/python" -m pip install -q -e "$ROOT[dev]"; } >"$LOG_DIR/pip-install.log" 2>&1; then
        cat "$LOG_DIR/pip-install.log" >&2
        die "installing the project failed (log above)"
    fi
    rm -f "$VENV"/.installed-*
    touch "$stamp"
fi
