#!/usr/bin/env bash
# Brings the whole system up on real PostgreSQL and Kafka and loads the demo. Safe to run again:
# everything already running is left alone and the demo is loaded only once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$ROOT/deploy/local/bootstrap.sh"
"$ROOT/deploy/local/postgres.sh" start
"$ROOT/deploy/local/kafka.sh" start
"$ROOT/deploy/local/services.sh" start
"$VENV/bin/python" -m demo.load
