#!/usr/bin/env bash
# Stops everything up.sh started (services, then Kafka, then PostgreSQL). Data is kept in .local/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$ROOT/deploy/local/services.sh" stop
"$ROOT/deploy/local/kafka.sh" stop
"$ROOT/deploy/local/postgres.sh" stop
