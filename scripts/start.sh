#!/usr/bin/env bash
# Quick start from a fresh machine with only Node.js and npm: installs the pinned Bun and the locked
# dependencies, builds dist/wabox and starts it on its defaults (port 8080, ./wabox_data). Extra arguments
# go to wabox: `npm start -- --port 9000`.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ensure-bun.sh
source scripts/ensure-bun.sh
ensure_bun
bun install --frozen-lockfile
bun run build
exec ./dist/wabox "$@"
