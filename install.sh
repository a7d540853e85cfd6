#!/usr/bin/env bash
# wabox installer: makes sure Bun 1.4.5 is present, installs dependencies from the lockfile, builds the
# single executable, and optionally installs it.
#
#   ./install.sh                 build only (dist/wabox)
#   ./install.sh --prefix DIR    build and install the binary to DIR/bin/wabox (no users, no systemd)
#   sudo ./install.sh --system   build and install as a systemd service (user wabox, /var/lib/wabox)
#
# Safe to run again: it upgrades the binary in place and never duplicates users, files or unit entries.
set -euo pipefail

readonly SYSTEM_BIN="/usr/local/bin/wabox"
readonly SYSTEM_USER="wabox"
readonly SYSTEM_DATA_DIR="/var/lib/wabox"
readonly SYSTEM_CONF_DIR="/etc/wabox"
readonly SYSTEM_ENV_FILE="${SYSTEM_CONF_DIR}/wabox.env"
readonly SYSTEM_UNIT="/etc/systemd/system/wabox.service"

log() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: install.sh [--prefix DIR | --system] [--help]

Installs the pinned Bun (scripts/ensure-bun.sh) through npm when it is missing (or another version), runs
'bun install --frozen-lockfile' and builds the wabox executable (dist/wabox).

Modes:
  (none)          build only; prints the path of dist/wabox
  --prefix DIR    install the binary to DIR/bin/wabox (creates directories; no users, no systemd)
  --system        (root) install ${SYSTEM_BIN}, a '${SYSTEM_USER}' system user, the data directory
                  ${SYSTEM_DATA_DIR} (0700) and the systemd unit ${SYSTEM_UNIT};
                  enables and starts it when systemd is running
  -h, --help      show this help

Re-running is safe: the binary is replaced, nothing is duplicated, data is never touched.
EOF
}

# ---------------------------------------------------------------------------------------------------
# Arguments
mode="build"
prefix=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --prefix)
      [[ $# -ge 2 && -n "$2" ]] || die "--prefix needs a directory (see --help)"
      [[ "$mode" == "build" ]] || die "choose one of --prefix and --system"
      mode="prefix"
      prefix="$2"
      shift 2
      ;;
    --prefix=*)
      [[ "$mode" == "build" ]] || die "choose one of --prefix and --system"
      mode="prefix"
      prefix="${1#--prefix=}"
      [[ -n "$prefix" ]] || die "--prefix needs a directory (see --help)"
      shift
      ;;
    --system)
      [[ "$mode" == "build" ]] || die "choose one of --prefix and --system"
      mode="system"
      shift
      ;;
    *)
      printf 'install.sh: error: unknown argument: %s\n\n' "$1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

# A relative --prefix means relative to where the script was called from.
if [[ "$mode" == "prefix" && "$prefix" != /* ]]; then
  prefix="${PWD}/${prefix}"
fi

if [[ "$mode" == "system" && "${EUID}" -ne 0 ]]; then
  die "--system must run as root (try: sudo $0 --system)"
fi

# Everything below runs from the repository root (this script's directory), wherever it was called from.
script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
cd -- "$script_dir"
[[ -f package.json && -f bun.lock && -f scripts/build.ts ]] \
  || die "run this script from a wabox source checkout (package.json, bun.lock, scripts/build.ts not found in ${script_dir})"

# ---------------------------------------------------------------------------------------------------
# Bun
# shellcheck source=scripts/ensure-bun.sh
source scripts/ensure-bun.sh

# ---------------------------------------------------------------------------------------------------
# Build
build() {
  log "installing dependencies (bun install --frozen-lockfile)"
  bun install --frozen-lockfile || die "'bun install --frozen-lockfile' failed (is bun.lock in sync with package.json?)"

  mkdir -p dist
  # Build next to the target and rename over it, so a running dist/wabox is never half-written.
  local tmp="dist/.wabox.build.$$"
  trap 'rm -f -- "${script_dir}/dist/.wabox.build.$$"' EXIT
  log "building the executable"
  bun run scripts/build.ts "$tmp" || die "build failed"
  chmod 0755 "$tmp"
  local version
  version="$("./$tmp" --version)" || die "the built binary does not run (${tmp} --version failed)"
  mv -f -- "$tmp" dist/wabox
  trap - EXIT
  log "built ${script_dir}/dist/wabox (wabox ${version})"
}

# Copy dist/wabox to $1 atomically (a running binary at $1 keeps working until it is restarted).
install_binary() {
  local dest="$1" dir tmp
  dir="$(dirname -- "$dest")"
  mkdir -p -- "$dir" || return 1
  tmp="${dir}/.wabox.new.$$"
  install -m 0755 dist/wabox "$tmp" || return 1
  mv -f -- "$tmp" "$dest" || { rm -f -- "$tmp"; return 1; }
}

# ---------------------------------------------------------------------------------------------------
# --system
ensure_user() {
  if ! getent group "$SYSTEM_USER" >/dev/null; then
    groupadd --system "$SYSTEM_USER"
    log "created system group ${SYSTEM_USER}"
  fi
  if ! getent passwd "$SYSTEM_USER" >/dev/null; then
    useradd --system --no-create-home --home-dir "$SYSTEM_DATA_DIR" --shell /usr/sbin/nologin \
      --gid "$SYSTEM_USER" --comment "wabox service" "$SYSTEM_USER"
    log "created system user ${SYSTEM_USER}"
  else
    log "system user ${SYSTEM_USER} already exists"
  fi
}

write_unit() {
  local tmp
  tmp="$(mktemp)"
  cat >"$tmp" <<EOF
# Installed by wabox install.sh; re-running install.sh rewrites this file.
# Settings (WABOX_PORT, WABOX_PUBLIC_URL, WABOX_TRUSTED_PROXIES, ...) go in ${SYSTEM_ENV_FILE}.
[Unit]
Description=wabox - self-hosted WhatsApp operations appliance
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=${SYSTEM_USER}
Group=${SYSTEM_USER}
EnvironmentFile=-${SYSTEM_ENV_FILE}
ExecStart=${SYSTEM_BIN} serve --data-dir ${SYSTEM_DATA_DIR}
WorkingDirectory=${SYSTEM_DATA_DIR}
Restart=on-failure
RestartSec=5s
KillSignal=SIGTERM
TimeoutStopSec=30
UMask=0077

# Hardening. No MemoryDenyWriteExecute: Bun's JIT needs writable+executable memory.
# No capabilities at all, so the port must be >= 1024 (default 8080; put a reverse proxy in front).
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictNamespaces=yes
CapabilityBoundingSet=
AmbientCapabilities=
ReadWritePaths=${SYSTEM_DATA_DIR}

[Install]
WantedBy=multi-user.target
EOF
  if [[ -f "$SYSTEM_UNIT" ]] && cmp -s "$tmp" "$SYSTEM_UNIT"; then
    rm -f -- "$tmp"
    log "systemd unit ${SYSTEM_UNIT} is up to date"
  else
    install -m 0644 -o root -g root "$tmp" "$SYSTEM_UNIT"
    rm -f -- "$tmp"
    log "wrote systemd unit ${SYSTEM_UNIT}"
  fi
}

write_env_example() {
  install -d -m 0750 -o root -g "$SYSTEM_USER" "$SYSTEM_CONF_DIR"
  if [[ -e "$SYSTEM_ENV_FILE" ]]; then
    log "keeping existing ${SYSTEM_ENV_FILE}"
    return
  fi
  local tmp
  tmp="$(mktemp)"
  cat >"$tmp" <<'EOF'
# wabox settings, read by the systemd unit (wabox.service). Uncomment and adjust, then:
#   systemctl restart wabox
# See `wabox --help` for every setting. --data-dir is fixed by the unit (/var/lib/wabox).
#WABOX_HOST=127.0.0.1
#WABOX_PORT=8080
#WABOX_PUBLIC_URL=https://wabox.example.com
#WABOX_TRUSTED_PROXIES=127.0.0.1
#WABOX_LOG_LEVEL=info
EOF
  install -m 0640 -o root -g "$SYSTEM_USER" "$tmp" "$SYSTEM_ENV_FILE"
  rm -f -- "$tmp"
  log "wrote ${SYSTEM_ENV_FILE} (all settings commented out)"
}

install_system() {
  ensure_user
  install_binary "$SYSTEM_BIN"
  log "installed ${SYSTEM_BIN} ($("$SYSTEM_BIN" --version))"
  # install -d also fixes mode and owner of an existing directory; its contents are left alone.
  install -d -m 0700 -o "$SYSTEM_USER" -g "$SYSTEM_USER" "$SYSTEM_DATA_DIR"
  log "data directory ${SYSTEM_DATA_DIR} (0700, owner ${SYSTEM_USER})"
  write_env_example
  write_unit

  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    local was_active="no"
    systemctl is-active --quiet wabox && was_active="yes"
    systemctl daemon-reload
    systemctl enable --now wabox
    if [[ "$was_active" == "yes" ]]; then
      # enable --now leaves a running service alone; restart it so the new binary is used.
      systemctl restart wabox
      log "restarted wabox.service with the new binary"
    else
      log "enabled and started wabox.service"
    fi
    log "status: systemctl status wabox   logs: journalctl -u wabox -f"
  else
    log "systemd is not running here; to start the service on a systemd host run:"
    log "  systemctl daemon-reload && systemctl enable --now wabox"
    log "or start it by hand:"
    log "  runuser -u ${SYSTEM_USER} -- ${SYSTEM_BIN} serve --data-dir ${SYSTEM_DATA_DIR}"
  fi
  log "on first start wabox logs a one-time setup link (journalctl -u wabox)"
}

# ---------------------------------------------------------------------------------------------------
ensure_bun || die "could not provide Bun ${WABOX_BUN_VERSION}"
log "using Bun $(bun --version) ($(command -v bun))"
build

case "$mode" in
  build)
    log "done: ${script_dir}/dist/wabox"
    log "to install it: ./install.sh --prefix DIR   (binary to DIR/bin/wabox)"
    log "           or: sudo ./install.sh --system  (systemd service, user ${SYSTEM_USER}, data in ${SYSTEM_DATA_DIR})"
    ;;
  prefix)
    mkdir -p -- "$prefix" || die "cannot create ${prefix}"
    prefix="$(cd -- "$prefix" && pwd -P)"
    install_binary "${prefix}/bin/wabox" || die "cannot install to ${prefix}/bin/wabox"
    log "installed ${prefix}/bin/wabox ($("${prefix}/bin/wabox" --version))"
    log "run it with: ${prefix}/bin/wabox serve --data-dir DIR   (see --help)"
    ;;
  system)
    install_system
    ;;
esac
