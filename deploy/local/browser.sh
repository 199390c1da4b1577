#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/browser), from Debian's packages.
#   browser.sh install | path
# install is idempotent: it does nothing when the executable is already there. The tests drive it
# with the Python playwright package (executable_path), never `playwright install`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM=${SAFETYPLAN_CHROMIUM:-/usr/bin/chromium}

install_chromium() {
    if [ -x "$CHROMIUM" ]; then return 0; fi
    [ "$(id -u)" = 0 ] || die "Chromium is not installed and this is not root: apt-get install chromium"
    log "installing Chromium from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null
    [ -x "$CHROMIUM" ] || die "chromium installed but $CHROMIUM was not found"
}

case "${1:-install}" in
    install) install_chromium; log "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" ;;
    path) printf '%s\n' "$CHROMIUM" ;;
    *) die "usage: browser.sh install | path" ;;
esac
