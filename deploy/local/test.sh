#!/usr/bin/env bash
# The full test suite: lint, types, import boundaries, then pytest. pytest's session fixtures
# start the real PostgreSQL and Kafka through deploy/local and fail (never skip) if they cannot.
# Extra arguments go to pytest, e.g. deploy/local/test.sh -k contracts
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$ROOT/deploy/local/bootstrap.sh"
cd "$ROOT"
log "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
log "mypy"
"$VENV/bin/mypy"
log "import boundaries"
"$VENV/bin/lint-imports"
log "pytest"
exec "$VENV/bin/python" -m pytest "$@"
