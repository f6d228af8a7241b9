#!/usr/bin/env bash
# Runs the cluster fault test alone (cmd/paylent/cluster_test.go: three nats-server
# processes, PostgreSQL, three Paylent instances under load while a NATS node, the relay
# leader's instance and PostgreSQL fail), COUNT times in a row (default 2). CI runs it once
# as part of scripts/test.sh; this is for running it repeatedly, e.g. after changing the
# relay, the projections or deploy/nats.
#
#   scripts/cluster-test.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/deps.sh
ensure_postgres
ensure_go

count="${1:-2}"
for i in $(seq 1 "$count"); do
	log "cluster fault test, run $i of $count"
	start=$(date +%s)
	go test -count=1 -v -run '^TestNATSClusterFaults$' -timeout 10m ./cmd/paylent/ | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|cluster_test.go'
	log "run $i passed in $(($(date +%s) - start)) s (including building the binaries)"
done
