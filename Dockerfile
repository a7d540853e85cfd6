# syntax=docker/dockerfile:1
# wabox container image: one self-contained executable on a small glibc base, running as a non-root user.
#
#   docker build -t wabox .
#   docker run -d --name wabox -p 8080:8080 -v wabox_data:/data \
#     -e WABOX_PUBLIC_URL=https://wabox.example.com wabox
#
# The data volume holds wabox.db and master.key: back it up, and keep a copy of master.key elsewhere.
# The binary is built for the build host's architecture (linux-x64 or linux-arm64, glibc).
#
# Bases: Debian 13 "trixie" (the current stable release; bookworm's regular security support ended in
# June 2026) and, to install the pinned Bun through npm, Node.js 24 (an LTS line; better-sqlite3 needs
# Node >= 22). Rebuild regularly to pick up Debian's security updates.

# ---- build ---------------------------------------------------------------------------------------
FROM node:24-trixie-slim AS build
# The project pins Bun exactly; it is installed through npm everywhere.
RUN npm i -g bun@1.4.5 && bun --version
WORKDIR /src
# Dependencies first, so this layer is reused while only the sources change.
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build && ./dist/wabox --version

# ---- runtime -------------------------------------------------------------------------------------
FROM debian:trixie-slim
# ca-certificates for outbound HTTPS (Meta's APIs, webhooks, WhatsApp Web). Nothing else: no curl, no
# package beyond the base (the health check below is wabox itself).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wabox \
 && useradd --system --uid 10001 --gid wabox --no-create-home --home-dir /data \
      --shell /usr/sbin/nologin wabox \
 && mkdir -p /data \
 && chown wabox:wabox /data \
 && chmod 0700 /data
COPY --from=build /src/dist/wabox /usr/local/bin/wabox

ENV WABOX_DATA_DIR=/data \
    WABOX_HOST=0.0.0.0 \
    WABOX_PORT=8080
# A new named volume takes /data's owner and mode (wabox, 0700) from the image. A bind mount must
# already be owned by uid 10001 with mode 0700.
VOLUME ["/data"]
EXPOSE 8080
USER wabox
WORKDIR /data

# Ready means /readyz answers 200 (database writable, migrations current, key loaded). `wabox healthcheck` asks the
# server on WABOX_PORT/WABOX_HOST (https when WABOX_TLS_CERT is set, like serve) over loopback and exits 0 only on a
# 200: exec form, so the check needs no shell and no HTTP client in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/wabox", "healthcheck"]

# wabox handles SIGTERM itself (drains requests, checkpoints the WAL); give it time: docker stop -t 30.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/wabox"]
CMD ["serve"]
