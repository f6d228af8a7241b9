# syntax=docker/dockerfile:1
#
# The Paylent image: one static binary, `paylent`, run as `paylent serve` by default.
#
#   docker build -t paylent .
#   docker run --rm paylent --help
#
# docker-compose.yml beside this file runs three instances of it against a shared PostgreSQL
# and a three-node NATS cluster (docs/DEPLOYMENT.md). This file is not built in CI (CI has no Docker engine); it was written against
# the official images' documentation.
#
# The runtime image deliberately contains NO PostgreSQL. Without DATABASE_URL, `paylent
# serve` starts a private cluster from the machine's PostgreSQL binaries (the laptop
# default), which this image does not have: in a container Paylent always runs against
# real infrastructure, so set DATABASE_URL, NATS_URL and PAYLENT_MASTER_KEY (the same key on
# every instance).

# ---- build ------------------------------------------------------------------------------
# golang images set GOTOOLCHAIN=local: if go.mod's `go` line is newer than a cached
# golang:1.26-bookworm, the build stops with "go.mod requires go >= ..."; refresh the base
# image with `docker build --pull` (or `docker compose build --pull`).
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# A static binary (CGO_ENABLED=0): it runs on debian:bookworm-slim without a C toolchain,
# and os/user (the operator name in CLI events) reads /etc/passwd in pure Go.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/paylent ./cmd/paylent

# ---- runtime ----------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: TLS to a managed PostgreSQL, NATS or SMTP relay.
# curl: for the HEALTHCHECK below and docker-compose.yml's /readyz checks. bookworm-slim has
# neither curl nor wget, and a health check that Docker itself can run is worth the few MB;
# Paylent has no built-in probe command to use instead.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    rm -rf /var/lib/apt/lists/*

# A fixed, non-root uid/gid, so that volumes keep their ownership across rebuilds.
# /data is the data directory (per-instance projection checkpoints). It exists in the image,
# owned by paylent, so that an empty named volume mounted there is initialised with that
# ownership; so does /nats-credentials, where docker-compose.yml's nats-keys service writes
# the NATS identities (`paylent nats keygen`).
RUN set -eux; \
    groupadd --system --gid 10001 paylent; \
    useradd --system --uid 10001 --gid paylent --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin paylent; \
    install -d -o paylent -g paylent -m 0750 /data; \
    install -d -o paylent -g paylent -m 0700 /nats-credentials

COPY --from=build /out/paylent /usr/local/bin/paylent

ENV PAYLENT_DATA_DIR=/data \
    PAYLENT_HTTP_ADDR=:4000
WORKDIR /data
USER paylent:paylent
EXPOSE 4000

# Liveness only (/healthz): readiness (/readyz: database, NATS, projections) belongs to the
# orchestrator; docker-compose.yml checks it. This assumes PAYLENT_HTTP_ADDR keeps port 4000;
# one-shot commands (migrate, env create, ...) do not serve HTTP, so docker-compose.yml turns
# the check off for them.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:4000/healthz"]

ENTRYPOINT ["paylent"]
CMD ["serve"]
