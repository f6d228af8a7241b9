#!/usr/bin/env bash
# Checks that docker-compose.yml parses, with Debian's docker-compose (installed via apt when
# neither it nor the `docker compose` plugin is there). No Docker engine is needed: `config`
# only reads and resolves the file. Called by scripts/test.sh; quiet unless it fails.
# (The NATS configurations the file mounts are checked by cmd/paylent/compose_test.go.)
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/deps.sh

compose() {
	if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}

if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
	log "installing docker-compose to check docker-compose.yml (apt)"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
# The development placeholder of PAYLENT_MASTER_KEY is enough to resolve the file.
compose -f docker-compose.yml config -q
