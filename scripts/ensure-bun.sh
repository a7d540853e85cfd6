#!/usr/bin/env bash
# Sourced by start.sh, test.sh and install.sh: makes sure the pinned Bun is the `bun` on PATH, installing
# it through npm (the one registry every supported machine reaches) when it is missing or another version.
WABOX_BUN_VERSION=1.4.5

ensure_bun() {
  local current npm_bin
  current="$(bun --version 2>/dev/null || true)"
  if [[ "$current" == "$WABOX_BUN_VERSION" ]]; then
    return 0
  fi
  echo "bun ${current:-not found}; installing bun $WABOX_BUN_VERSION with npm" >&2
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is needed to install Bun $WABOX_BUN_VERSION (install Node.js and npm, or Bun $WABOX_BUN_VERSION yourself)" >&2
    return 1
  fi
  if ! npm install --global --no-fund --no-audit "bun@$WABOX_BUN_VERSION" >/dev/null; then
    echo "'npm install --global bun@$WABOX_BUN_VERSION' failed (no permission for npm's global prefix? run as root)" >&2
    return 1
  fi
  # The freshly installed bun must win over any other one on PATH.
  npm_bin="$(npm prefix --global 2>/dev/null)/bin"
  if [[ -d "$npm_bin" ]]; then
    PATH="$npm_bin:$PATH"
    export PATH
  fi
  hash -r
  current="$(bun --version 2>/dev/null || true)"
  if [[ "$current" != "$WABOX_BUN_VERSION" ]]; then
    echo "Bun $WABOX_BUN_VERSION is still not the bun on PATH (found '${current:-none}')" >&2
    return 1
  fi
}
