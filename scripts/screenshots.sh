#!/usr/bin/env bash
# Regenerates the README's screenshots: runs the browser tests through the test command (which installs what
# they need and builds the binary; every screen is written under .test-tmp/screenshots/), then copies the ones
# the README shows into docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test.sh ui/e2e
mkdir -p docs/screenshots
cp .test-tmp/screenshots/inbox-thread.png docs/screenshots/inbox.png
cp .test-tmp/screenshots/qr-linking.png docs/screenshots/qr-linking.png
echo "docs/screenshots/: inbox.png, qr-linking.png"
