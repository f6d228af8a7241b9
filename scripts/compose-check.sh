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
# The file requires PAYLENT_MASTER_KEY (there is no published default to fall back on);
# any 64 hex characters resolve it here.
PAYLENT_MASTER_KEY=$(printf "%064d" 0) compose -f docker-compose.yml config -q
# Without it, the file must refuse to resolve (and say how to set it).
if out=$(unset PAYLENT_MASTER_KEY; compose -f docker-compose.yml config -q 2>&1); then
	echo "docker-compose.yml resolved without PAYLENT_MASTER_KEY" >&2
	exit 1
fi
grep -q "openssl rand -hex 32" <<<"$out" || { echo "docker-compose.yml's refusal does not say how to set the key: $out" >&2; exit 1; }
