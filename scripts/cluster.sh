#!/usr/bin/env bash
# The five-node compose cluster, in one command.
#
#   scripts/cluster.sh up       build the binary and image, start n1..n5, wait
#                               until every node sees every other alive
#   scripts/cluster.sh down     stop it and delete its volumes (all data)
#   scripts/cluster.sh status   containers, health, and each node's view
#   scripts/cluster.sh wait     wait until the cluster has converged
#   scripts/cluster.sh build    build the static binary and the image dynakv:local only
#   scripts/cluster.sh logs [NODE...]
#
# Works with `docker compose` (v2) or `docker-compose` (v1). Settings: see
# scripts/lib.sh (project name, subnet, published ports).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

status() {
  local n
  printf '%-4s %-9s %-10s %-22s %s\n' NODE STATE HEALTH HTTP "VIEW (in-ring members)"
  for n in "${DKV_NODES[@]}"; do
    printf '%-4s %-9s %-10s %-22s %s\n' "$n" "$(cstate "$n")" "$(chealth "$n")" \
      "${DYNAKV_COMPOSE_PORT_PREFIX}$(node_index "$n") -> :8080" "$(members_view "$n" 2>/dev/null || echo '(no answer)')"
  done
}

case "${1:-}" in
  build)
    build_all
    ;;
  up)
    need_tools docker jq curl
    build_all
    step "starting the cluster (project $DKV_PROJECT, network ${DYNAKV_COMPOSE_SUBNET}.0/24, HTTP on 127.0.0.1:${DYNAKV_COMPOSE_PORT_PREFIX}1..5)"
    compose up -d --no-build
    wait_converged "${DYNAKV_COMPOSE_UP_TIMEOUT:-180}"
    status
    ;;
  wait)
    wait_converged "${2:-120}"
    ;;
  down)
    "$(dirname "$0")/faults.sh" heal >/dev/null 2>&1 || true
    compose down -v --remove-orphans
    ;;
  status)
    status
    ;;
  logs)
    shift
    compose logs --no-color --tail="${DYNAKV_COMPOSE_LOG_TAIL:-200}" "$@"
    ;;
  -h | --help | help | "")
    usage
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
