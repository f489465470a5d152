#!/usr/bin/env bash
# CI: experiments 1 (minority partition) and 4 (rolling restart under load)
# against a fresh five-node compose cluster, bounded in time, always torn
# down (containers, network, volumes) at the end, even on failure.
# Fails when any acknowledged write is missing, or any other expectation of
# the experiments is not met. Needs docker with compose (v1 or v2), go, jq,
# curl, and root for nsenter/iptables (faults.sh installs missing packages).
#
# It uses its own compose project, ports and subnet, so a developer's
# cluster (scripts/cluster.sh up) is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

export DYNAKV_COMPOSE_PROJECT=${DYNAKV_COMPOSE_PROJECT:-dynakv-ci}
export DYNAKV_COMPOSE_PORT_PREFIX=${DYNAKV_COMPOSE_PORT_PREFIX:-1808} # 18081..18085
export DYNAKV_COMPOSE_SUBNET=${DYNAKV_COMPOSE_SUBNET:-10.213.8}
export DYNAKV_COMPOSE_IMAGE=${DYNAKV_COMPOSE_IMAGE:-dynakv:ci}
export DYNAKV_COMPOSE_BUILD_DIR=${DYNAKV_COMPOSE_BUILD_DIR:-$(mktemp -d)}
LIMIT=${DYNAKV_CI_EXPERIMENTS_TIMEOUT:-720} # seconds for everything
START=$(date +%s)

teardown() {
  local rc=$?
  trap - EXIT INT TERM
  echo "--- experiments: teardown"
  if [ "$rc" -ne 0 ]; then
    echo "(failed with exit $rc: the nodes' last log lines follow)"
    scripts/cluster.sh logs 2>/dev/null | tail -n 100 || true
  fi
  scripts/faults.sh heal >/dev/null 2>&1 || true
  scripts/cluster.sh down || true
  if [ "${DYNAKV_COMPOSE_NO_BUILD:-}" != 1 ]; then
    docker rmi "$DYNAKV_COMPOSE_IMAGE" >/dev/null 2>&1 || true
    rm -rf "$DYNAKV_COMPOSE_BUILD_DIR"
  fi
  echo "--- experiments: $( [ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(($(date +%s) - START))s"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# bounded CMD...: runs CMD with what is left of the time budget.
bounded() {
  local left=$((LIMIT - ($(date +%s) - START)))
  if [ "$left" -le 0 ]; then
    echo "experiments: out of time (${LIMIT}s)" >&2
    return 124
  fi
  timeout -k 10 "$left" "$@"
}

docker info >/dev/null || { echo "experiments: docker is not available" >&2; exit 1; }
scripts/cluster.sh down >/dev/null 2>&1 || true # what an interrupted earlier run may have left

echo "--- experiments: compose cluster up (project $DYNAKV_COMPOSE_PROJECT)"
bounded scripts/cluster.sh up
echo "--- experiment 1: minority partition"
bounded scripts/experiment-1-partition.sh
echo "--- experiment 4: rolling restart under load at quorum"
bounded scripts/experiment-4-rolling-restart.sh
