#!/usr/bin/env bash
# Regenerates the README's screenshots: runs the browser tests (which write every screen under
# .test-tmp/screenshots/) against a fresh build, then copies the ones the README shows into docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ensure-bun.sh
source scripts/ensure-bun.sh
ensure_bun
bun install --frozen-lockfile
bun run build
bun test --timeout 120000 ui/e2e

mkdir -p docs/screenshots
cp .test-tmp/screenshots/inbox-thread.png docs/screenshots/inbox.png
cp .test-tmp/screenshots/qr-linking.png docs/screenshots/qr-linking.png
echo "docs/screenshots/: inbox.png, qr-linking.png"
