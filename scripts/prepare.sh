#!/usr/bin/env bash
# Installs and builds what the examples and the tests need; each step is skipped when already done.
#   1. host programs (QEMU, vhost-device-vsock, systemd-journal-remote, image build tools)
#   2. npm packages, reinstalled only when package-lock.json changed
#   3. the compiled package in dist/ (incremental)
# The default test image is built on first use by the vitest plugin and cached in ~/.cache/vitest-vmspawn.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-host.sh

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.vitest-vmspawn-installed
if [[ ! -f $stamp || $(cat "$stamp") != "$lock_hash" ]]; then
  echo "prepare: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

node_modules/.bin/tsc -p tsconfig.json
