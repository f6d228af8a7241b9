#!/usr/bin/env bash
# Builds Paylent and runs `paylent serve` on the embedded default: a private PostgreSQL
# cluster and an embedded NATS server under ./.paylent, the demo account seeded on first
# start. Installs the PostgreSQL server binaries first when they are missing.
# Extra arguments and PAYLENT_* variables pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
ensure_go
[ -n "${DATABASE_URL:-}" ] || ensure_postgres
mkdir -p bin
go build -o bin/paylent ./cmd/paylent
exec bin/paylent serve "$@"
