#!/usr/bin/env bash
# Runs Paylent's whole test suite on a fresh Debian/Ubuntu machine with Go installed.
# It installs what the tests need when it is missing (PostgreSQL server binaries,
# Chromium for the browser tests, Node.js and npm for the TypeScript example, via apt)
# and starts nothing by hand: the tests start their own PostgreSQL cluster and NATS server.
#
#   scripts/test.sh            # everything: go vet, all tests, the race detector on the
#                              # concurrent packages
#   TEST_DATABASE_URL=...      # optional: use an existing PostgreSQL server instead
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/deps.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
	ensure_postgres
fi
ensure_chromium
ensure_node
ensure_tools
ensure_go
log "$(go version)"

# docker-compose.yml parses (docker-compose config; installs Debian's docker-compose if
# needed). Kept apart from the Go tests: cmd/paylent/compose_test.go checks its NATS files.
log "docker-compose.yml"
scripts/compose-check.sh

log "go vet"
go vet ./...

log "tests"
go test -count=1 -timeout 15m ./...

log "race detector (concurrent packages)"
go test -count=1 -race -short -timeout 10m ./eventstore/... ./projections/... ./workers/... ./tenants/... ./api/...

log "all tests passed"
