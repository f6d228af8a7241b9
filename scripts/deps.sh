#!/usr/bin/env bash
# Sourced by serve.sh and test.sh: makes sure PostgreSQL server binaries are installed
# (Paylent runs its own private cluster from them; nothing is started as a system service).

log() { printf '==> [%ds] %s\n' "$SECONDS" "$*" >&2; } # seconds since the script started

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		log "need root to run: $*"; exit 1
	fi
}

have_postgres() {
	command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
	command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && return 0
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

ensure_postgres() {
	have_postgres && return 0
	log "installing PostgreSQL server binaries (apt)"
	# Only the binaries are wanted: Debian's default cluster is not created.
	as_root mkdir -p /etc/postgresql-common
	echo 'create_main_cluster = false' | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

ensure_chromium() {
	command -v chromium >/dev/null 2>&1 && return 0
	log "installing Chromium for the browser tests (apt)"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

ensure_tools() {
	command -v curl >/dev/null 2>&1 && command -v jq >/dev/null 2>&1 && return 0
	log "installing curl and jq (the documented examples are run by the tests)"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl jq >/dev/null
}

# The TypeScript Client & API example (examples/client-and-api) runs on Node 18 or newer; its
# test runs `npm ci` and `npm run dev`.
ensure_node() {
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
		[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ] && return 0
		log "Node $(node --version) is too old: the TypeScript example needs Node 18 or newer"; exit 1
	fi
	log "installing Node.js and npm for the TypeScript example (apt)"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
}

ensure_go() {
	command -v go >/dev/null || { log "Go 1.26 or newer is required (https://go.dev/dl/)"; exit 1; }
}
