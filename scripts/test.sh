#!/usr/bin/env bash
# The whole test suite from a fresh machine that has only Node.js and npm: installs the pinned Bun and the
# locked dependencies, builds dist/wabox (end-to-end tests drive the real binary), runs every test and
# ends with the line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ensure-bun.sh
source scripts/ensure-bun.sh
ensure_bun

bun install --frozen-lockfile
bun run build

mkdir -p .test-tmp
rm -f .test-tmp/junit.xml
set +e
bun test --timeout 120000 --reporter=junit --reporter-outfile=.test-tmp/junit.xml "$@"
status=$?
set -e
bun run scripts/test-summary.ts .test-tmp/junit.xml
exit "$status"
