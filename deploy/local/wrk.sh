#!/usr/bin/env bash
# wrk, the HTTP load generator the ingest benchmark drives (C: it leaves the two cores to the
# service), from Debian's packages. Idempotent: does nothing when wrk is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if command -v wrk >/dev/null; then exit 0; fi
[ "$(id -u)" = 0 ] || die "wrk is not installed and this is not root: apt-get install wrk"
log "installing wrk from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends wrk >/dev/null
command -v wrk >/dev/null || die "wrk installed but not found on PATH"
