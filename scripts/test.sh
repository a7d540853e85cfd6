#!/usr/bin/env bash
# The whole test suite from a fresh machine that has only Node.js and npm: installs the pinned Bun, the
# locked dependencies and (on Debian, as root) the chromium the browser tests drive, builds dist/wabox
# (end-to-end tests drive the real binary), runs every test and ends with the line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ensure-bun.sh
source scripts/ensure-bun.sh
ensure_bun

bun install --frozen-lockfile

# The browser tests (ui/e2e/*.browser.test.ts) drive Debian's chromium through playwright-core.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests: apt-get update && apt-get install -y chromium"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "no /usr/bin/chromium and no root apt-get to install it: the browser tests will fail (apt-get install chromium)"
  fi
fi

bun run build

mkdir -p .test-tmp
rm -f .test-tmp/junit.xml
set +e
bun test --timeout 120000 --reporter=junit --reporter-outfile=.test-tmp/junit.xml "$@"
status=$?
set -e
bun run scripts/test-summary.ts .test-tmp/junit.xml
exit "$status"
