#!/usr/bin/env bash
# wabox installer: makes sure Bun 1.4.5 is present, installs dependencies from the lockfile, builds the
# single executable, and optionally installs it.
#
#   ./install.sh                 build only (dist/wabox)
#   ./install.sh --prefix DIR    build and install the binary to DIR/bin/wabox (no users, no systemd)
#   sudo ./install.sh --system   build and install as a systemd service (user wabox, /var/lib/wabox)
#   sudo ./install.sh --system --behind-proxy   the same, bound to 127.0.0.1 behind Caddy/nginx on this host
#   ./install.sh --print-unit [--behind-proxy]  print the systemd unit --system writes, and exit
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
Usage: install.sh [--prefix DIR | --system [--behind-proxy | --no-behind-proxy] | --print-unit] [--help]

Installs the pinned Bun (scripts/ensure-bun.sh) through npm when it is missing (or another version), runs
'bun install --frozen-lockfile' and builds the wabox executable (dist/wabox).

Modes:
  (none)          build only; prints the path of dist/wabox
  --prefix DIR    install the binary to DIR/bin/wabox (creates directories; no users, no systemd)
  --system        (root) install ${SYSTEM_BIN}, a '${SYSTEM_USER}' system user, the data directory
                  ${SYSTEM_DATA_DIR} (0700) and the systemd unit ${SYSTEM_UNIT};
                  enables and starts it when systemd is running
  --behind-proxy  (with --system or --print-unit) a reverse proxy on this host (deploy/Caddyfile,
                  deploy/nginx.conf) fronts wabox: the unit binds 127.0.0.1 only (--host 127.0.0.1,
                  which ${SYSTEM_ENV_FILE} cannot override) and trusts X-Forwarded-For from
                  127.0.0.1 and ::1. Remembered by later --system runs; --no-behind-proxy undoes it.
  --print-unit    print the systemd unit --system would write, and exit (no build, no root)
  -h, --help      show this help

Re-running is safe: the binary is replaced, nothing is duplicated, data is never touched.
EOF
}

# The systemd unit --system installs (and --print-unit prints). $behind_proxy == "yes" binds 127.0.0.1.
# Hardening: `systemd-analyze security wabox.service` scores it 1.4 (src/cli/install.test.ts keeps it <= 2.5).
readonly UNIT_PROXY_MARKER="# install.sh: behind a reverse proxy"
unit_text() {
  local exec_start="${SYSTEM_BIN} serve --data-dir ${SYSTEM_DATA_DIR}" proxy_lines=""
  if [[ "$behind_proxy" == "yes" ]]; then
    exec_start+=" --host 127.0.0.1"
    proxy_lines="${UNIT_PROXY_MARKER}
# Bound to loopback by --host on ExecStart (${SYSTEM_ENV_FILE} cannot override it); the proxy on this host
# is trusted for X-Forwarded-For (the environment file may set WABOX_TRUSTED_PROXIES otherwise).
Environment=WABOX_TRUSTED_PROXIES=127.0.0.1,::1
"
  fi
  cat <<EOF
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
${proxy_lines}EnvironmentFile=-${SYSTEM_ENV_FILE}
ExecStart=${exec_start}
WorkingDirectory=${SYSTEM_DATA_DIR}
Restart=on-failure
RestartSec=5s
KillSignal=SIGTERM
TimeoutStopSec=30
# Files wabox creates are its own only (the key 0600, the database, media and backups).
UMask=0077

# Privileges: none. No capabilities at all, so the port must be >= 1024 (default 8080; put a reverse
# proxy in front for 443).
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
# File system: read-only everywhere but the data directory; no home directories, a private /tmp,
# no devices, no view of other processes or of /proc beyond its own.
ProtectSystem=strict
ReadWritePaths=${SYSTEM_DATA_DIR}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
DevicePolicy=closed
PrivateMounts=yes
ProtectProc=invisible
ProcSubset=pid
# Kernel and system state it has no business changing.
ProtectClock=yes
ProtectHostname=yes
ProtectKernelLogs=yes
ProtectKernelModules=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
LockPersonality=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RemoveIPC=yes
KeyringMode=private
# Sockets: IPv4/IPv6 (HTTP, Meta, webhooks, WhatsApp Web), Unix, and netlink (network interfaces).
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
# System calls: the service set, less the privileged ones; a refused call fails with EPERM instead of
# killing the process. No MemoryDenyWriteExecute: Bun's JIT maps memory writable and executable.
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
EOF
}

# ---------------------------------------------------------------------------------------------------
# Arguments
mode="build"
prefix=""
behind_proxy=""   # "", "yes" or "no" ("" with --system: keep what the installed unit says)
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --prefix)
      [[ $# -ge 2 && -n "$2" ]] || die "--prefix needs a directory (see --help)"
      [[ "$mode" == "build" ]] || die "choose one of --prefix, --system and --print-unit"
      mode="prefix"
      prefix="$2"
      shift 2
      ;;
    --prefix=*)
      [[ "$mode" == "build" ]] || die "choose one of --prefix, --system and --print-unit"
      mode="prefix"
      prefix="${1#--prefix=}"
      [[ -n "$prefix" ]] || die "--prefix needs a directory (see --help)"
      shift
      ;;
    --system)
      [[ "$mode" == "build" ]] || die "choose one of --prefix, --system and --print-unit"
      mode="system"
      shift
      ;;
    --print-unit)
      [[ "$mode" == "build" ]] || die "choose one of --prefix, --system and --print-unit"
      mode="print-unit"
      shift
      ;;
    --behind-proxy)
      behind_proxy="yes"
      shift
      ;;
    --no-behind-proxy)
      behind_proxy="no"
      shift
      ;;
    *)
      printf 'install.sh: error: unknown argument: %s\n\n' "$1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

if [[ -n "$behind_proxy" && "$mode" != "system" && "$mode" != "print-unit" ]]; then
  die "--behind-proxy and --no-behind-proxy go with --system or --print-unit"
fi
if [[ "$mode" == "print-unit" ]]; then
  unit_text
  exit 0
fi

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
  # Behind a proxy once, behind a proxy on every later run unless told otherwise (re-running must never
  # quietly open the port to the network).
  if [[ -z "$behind_proxy" ]]; then
    if [[ -f "$SYSTEM_UNIT" ]] && grep -q "^${UNIT_PROXY_MARKER}\$" "$SYSTEM_UNIT"; then
      behind_proxy="yes"
      log "keeping the behind-proxy setting of ${SYSTEM_UNIT} (127.0.0.1 only; --no-behind-proxy to change it)"
    else
      behind_proxy="no"
    fi
  fi
  unit_text >"$tmp"
  if [[ -f "$SYSTEM_UNIT" ]] && cmp -s "$tmp" "$SYSTEM_UNIT"; then
    rm -f -- "$tmp"
    log "systemd unit ${SYSTEM_UNIT} is up to date"
  else
    install -m 0644 -o root -g root "$tmp" "$SYSTEM_UNIT"
    rm -f -- "$tmp"
    log "wrote systemd unit ${SYSTEM_UNIT}"
  fi
  if [[ "$behind_proxy" == "yes" ]]; then
    log "wabox listens on 127.0.0.1 only: put the reverse proxy in front (deploy/Caddyfile or deploy/nginx.conf)"
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
    local by_hand="${SYSTEM_BIN} serve --data-dir ${SYSTEM_DATA_DIR}"
    [[ "$behind_proxy" == "yes" ]] && by_hand+=" --host 127.0.0.1 --trusted-proxies 127.0.0.1,::1"
    log "  runuser -u ${SYSTEM_USER} -- ${by_hand}"
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
