#!/usr/bin/env bash
# The whole test suite from a fresh machine that has only Node.js and npm: installs the pinned Bun, the
# locked dependencies and (on Debian, as root) the chromium, openssl and util-linux some tests drive, builds dist/wabox
# (end-to-end tests drive the real binary), runs every test and ends with the line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ensure-bun.sh
source scripts/ensure-bun.sh
ensure_bun

bun install --frozen-lockfile

# What some tests drive besides Bun: Debian's chromium (the browser tests, ui/e2e/*.browser.test.ts, through
# playwright-core), openssl (certificates for the TLS tests) and util-linux's unshare/setpriv (lock, disk-full and
# start-up tests in private namespaces). Installed with apt-get where missing.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v openssl >/dev/null || missing+=(openssl)
{ command -v unshare >/dev/null && command -v setpriv >/dev/null; } || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing what the tests need: apt-get update && apt-get install -y ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing ${missing[*]} and no root apt-get to install them: the tests that need them will fail"
  fi
fi

bun run build

mkdir -p .test-tmp
rm -f .test-tmp/junit.xml
set +e
# Test files run in parallel worker processes, the slowest first (scripts/test-timings.json, per-file durations of
# an earlier run; refresh it with WABOX_TEST_UPDATE_TIMINGS=1). Much of the suite waits — on the compiled binary,
# on Chromium, on sockets — so a worker more than the machine has cores still pays. Files share nothing: every
# server listens on port 0 (or a port it was just given), every directory is a fresh mkdtemp, every database its own.
# A worker keeps its module registry from file to file (--no-isolate), as a plain `bun test` process does: loading
# the app's modules again for every file costs more than any file gains from it.
workers="${WABOX_TEST_WORKERS:-$(( $(nproc 2>/dev/null || echo 2) + 1 ))}"
timings=(--timings=scripts/test-timings.json)
[ "${WABOX_TEST_UPDATE_TIMINGS:-}" = 1 ] && timings+=(--update-timings)
bun test --parallel="$workers" --no-isolate "${timings[@]}" --timeout 120000 --reporter=junit --reporter-outfile=.test-tmp/junit.xml "$@"
status=$?
set -e
bun run scripts/test-summary.ts .test-tmp/junit.xml
exit "$status"
