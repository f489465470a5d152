# shellcheck shell=bash
# Shared helpers of the compose-cluster scripts (cluster.sh, faults.sh,
# experiment-*.sh). Source it; it does not change shell options.
#
# Settings (environment):
#   DYNAKV_COMPOSE_PROJECT      compose project name (default dynakv)
#   DYNAKV_COMPOSE_SUBNET       first three octets of the cluster network (default 10.213.7)
#   DYNAKV_COMPOSE_PORT_PREFIX  HTTP ports are <prefix>1..<prefix>5 on 127.0.0.1 (default 808)
#   DYNAKV_COMPOSE_IMAGE        the image the nodes run (default dynakv:local)
#   DYNAKV_COMPOSE_BUILD_DIR    where the static binary is built, which is also
#                               the image's build context (default /tmp/dynakv-compose-<project>)
#   DYNAKV_COMPOSE_NO_BUILD=1   use the image and the built binary as they are

DKV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DKV_PROJECT=${DYNAKV_COMPOSE_PROJECT:-dynakv}
export DYNAKV_COMPOSE_SUBNET=${DYNAKV_COMPOSE_SUBNET:-10.213.7}
export DYNAKV_COMPOSE_PORT_PREFIX=${DYNAKV_COMPOSE_PORT_PREFIX:-808}
export DYNAKV_COMPOSE_IMAGE=${DYNAKV_COMPOSE_IMAGE:-dynakv:local}
DKV_IMAGE=$DYNAKV_COMPOSE_IMAGE
# The static binary: the image's, and the CLI the scripts use. It is built
# in a folder of its own, not as ./dynakv, which anyone working in the
# checkout may overwrite with a build of their own (not necessarily static).
DKV_BUILD_DIR=${DYNAKV_COMPOSE_BUILD_DIR:-${TMPDIR:-/tmp}/dynakv-compose-$DKV_PROJECT}
DKV_BIN=$DKV_BUILD_DIR/dynakv
DKV_NODES=(n1 n2 n3 n4 n5)
# The CLI reads DYNAKV_<FLAG>; an endpoint from the caller's shell must not
# redirect the scripts' commands.
unset DYNAKV_ENDPOINT

# ---- output

dkv_ts() { date +%H:%M:%S; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
info() { printf '[%s] %s\n' "$(dkv_ts)" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$(dkv_ts)" "$*" >&2; }
die() {
  printf '[%s] FAILED: %s\n' "$(dkv_ts)" "$*" >&2
  exit 1
}
# now_ms prints the wall clock in milliseconds.
now_ms() { date +%s%3N; }
# since_ms T0 prints the milliseconds since T0 (from now_ms).
since_ms() { echo $(($(now_ms) - $1)); }
# fmt_ms MS prints MS as seconds with one decimal.
fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# ---- docker compose (v2 plugin or v1 docker-compose, whichever exists)

compose() {
  if [ -z "${DKV_COMPOSE_CMD:-}" ]; then
    if docker compose version >/dev/null 2>&1; then
      DKV_COMPOSE_CMD="docker compose"
    elif command -v docker-compose >/dev/null 2>&1; then
      DKV_COMPOSE_CMD="docker-compose"
    else
      die "neither 'docker compose' nor 'docker-compose' is installed"
    fi
  fi
  # shellcheck disable=SC2086 # the command is two words for v2
  $DKV_COMPOSE_CMD -p "$DKV_PROJECT" -f "$DKV_ROOT/docker-compose.yml" "$@"
}

# ---- nodes

is_node() {
  local n
  for n in "${DKV_NODES[@]}"; do [ "$n" = "$1" ] && return 0; done
  return 1
}
check_node() { is_node "$1" || die "unknown node '$1': use one of ${DKV_NODES[*]}"; }
node_index() { echo "${1#n}"; }
endpoint() { echo "http://127.0.0.1:${DYNAKV_COMPOSE_PORT_PREFIX}$(node_index "$1")"; }
node_ip() { echo "${DYNAKV_COMPOSE_SUBNET}.1$(node_index "$1")"; }
# container NODE prints the id of NODE's container (running or not), or nothing.
container() {
  docker ps -aq --filter "label=com.docker.compose.project=$DKV_PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n1
}
# cstate NODE prints running, paused, exited, ... or "missing".
cstate() {
  local c
  c=$(container "$1")
  if [ -z "$c" ]; then echo missing; return; fi
  docker inspect -f '{{.State.Status}}' "$c"
}
# chealth NODE prints the container's health status (healthy, starting, unhealthy) or none.
chealth() {
  local c
  c=$(container "$1")
  [ -n "$c" ] || { echo none; return; }
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c"
}
# cpid NODE prints the host pid of the node's process (0 when not running).
cpid() {
  local c
  c=$(container "$1")
  [ -n "$c" ] || { echo 0; return; }
  docker inspect -f '{{.State.Pid}}' "$c"
}

# dkv runs the dynakv CLI (the binary built for the image).
dkv() { "$DKV_BIN" "$@"; }
# dkv_on NODE ARGS... runs the CLI against NODE's published HTTP port.
dkv_on() {
  local n=$1
  shift
  "$DKV_BIN" -e "$(endpoint "$n")" "$@"
}

# ---- waiting (always by polling a condition, never a fixed sleep)

# wait_until SECONDS DESCRIPTION COMMAND... polls COMMAND every 0.25s until it
# succeeds; dies naming DESCRIPTION when SECONDS pass first.
wait_until() {
  local limit=$1 what=$2
  shift 2
  poll_until "$limit" "$@" || die "timed out after ${limit}s waiting for: $what"
}

# poll_until SECONDS COMMAND... polls COMMAND every 0.25s; fails when SECONDS
# pass before it succeeds.
poll_until() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.25
  done
}

# members_view NODE prints NODE's view of the cluster as "id=status ..." (in
# ring members only), or fails when NODE does not answer.
members_view() {
  curl -fsS --max-time 2 "$(endpoint "$1")/cluster/members" |
    jq -r '[.[] | select(.in_ring) | "\(.id)=\(.status)"] | sort | join(" ")'
}

# sees NODE OTHER STATUS_REGEX succeeds when NODE answers and reports OTHER
# with a status matching STATUS_REGEX (e.g. 'alive' or '^(suspect|dead)$').
sees() {
  local st
  st=$(curl -fsS --max-time 2 "$(endpoint "$1")/cluster/members" |
    jq -r --arg id "$2" '.[] | select(.id == $id) | .status') || return 1
  [ -n "$st" ] && [[ $st =~ $3 ]]
}

# sees_all_alive NODE succeeds when NODE sees every node alive and in the ring.
sees_all_alive() {
  local want got
  want=$(printf '%s=alive ' "${DKV_NODES[@]}")
  got=$(members_view "$1") || return 1
  [ "$got " = "$want" ]
}

# ring_view NODE prints the members of the ring NODE routes requests with,
# space separated, sorted.
ring_view() {
  curl -fsS --max-time 2 "$(endpoint "$1")/cluster/ring" | jq -r '[.members[].id] | sort | join(" ")'
}

# converged succeeds when every node is healthy (its container health check
# passes), answers, sees every node alive, and routes with a ring of all of
# them: the ring is rebuilt from membership a moment after it changes, and a
# write coordinated with a ring that is behind lands on nodes that do not
# own its key (they move it to the owners at their next rebalance pass).
converged() {
  local n
  for n in "${DKV_NODES[@]}"; do
    sees_all_alive "$n" || return 1
    [ "$(ring_view "$n")" = "${DKV_NODES[*]}" ] || return 1
  done
  for n in "${DKV_NODES[@]}"; do
    [ "$(chealth "$n")" = healthy ] || return 1
  done
}

# wait_converged [SECONDS]: every node healthy, seeing all five alive and
# routing with a ring of all five.
wait_converged() {
  local limit=${1:-120} t0
  t0=$(now_ms)
  wait_until "$limit" "every node to see all of ${DKV_NODES[*]} alive" converged
  info "cluster converged: every node sees ${DKV_NODES[*]} alive and routes with all of them ($(fmt_ms "$(since_ms "$t0")"))"
}

# wait_sees SECONDS NODE OTHER STATUS_REGEX waits until NODE sees OTHER so.
wait_sees() {
  wait_until "$1" "$2 to see $3 as $4" sees "$2" "$3" "$4"
}

# ---- keys and replicas

# primaries KEY prints the key's primaries, one line, space separated.
primaries() {
  dkv_on "${2:-n1}" preflist -o json "$1" | jq -r '[.primaries[].id] | join(" ")'
}

# show_replicas NODE KEY prints the per-replica view of KEY as NODE sees it.
show_replicas() {
  echo "-- dynakv replicas $2   (asked of $1)"
  dkv_on "$1" replicas "$2" 2>&1 | sed 's/^/   /'
}

# replica_values NODE KEY prints one line per replica: node role status
# and its siblings' values (text), "(deleted)" for tombstones.
replica_values() {
  curl -fsS --max-time 5 "$(endpoint "$1")/debug/replicas/$2" | jq -r '
    .replicas[] | "\(.node) \(.role) \(.status) " +
      ([(.siblings // [])[] | if .deleted then "(deleted)" else (.value | @base64d) end] | join(","))'
}

# hints_view NODE KEY prints one line per fallback holding a hint for KEY
# (the replicas view's fallback entries); nothing when no hint is held.
hints_view() {
  curl -fsS --max-time 5 "$(endpoint "$1")/debug/replicas/$2" |
    jq -r '.replicas[] | select(.role == "fallback") | "   hint on \(.node) for \(.hint_for // "?"): " +
      ([(.siblings // [])[] | if .deleted then "(deleted)" else (.value | @base64d) end] | join(", "))'
}
# no_hints NODE KEY succeeds when no fallback holds a hint for KEY.
no_hints() {
  local v
  v=$(hints_view "$1" "$2") || return 1
  [ -z "$v" ]
}

# ---- building

# build_all builds the static binary and the image around it, unless
# DYNAKV_COMPOSE_NO_BUILD=1. The build folder holds only the binary: it is
# the image's whole build context.
build_all() {
  if [ "${DYNAKV_COMPOSE_NO_BUILD:-}" = 1 ]; then
    [ -x "$DKV_BIN" ] || die "DYNAKV_COMPOSE_NO_BUILD=1 but $DKV_BIN is missing"
    return
  fi
  command -v go >/dev/null || die "go is not installed: it builds the static binary"
  mkdir -p "$DKV_BUILD_DIR"
  info "building the static binary: CGO_ENABLED=0 go build -o $DKV_BIN ./cmd/dynakv"
  (cd "$DKV_ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$DKV_BIN" ./cmd/dynakv) ||
    die "go build failed"
  info "building the image $DKV_IMAGE (FROM scratch; context: $DKV_BUILD_DIR)"
  docker build -q -f "$DKV_ROOT/Dockerfile" -t "$DKV_IMAGE" "$DKV_BUILD_DIR" >/dev/null 2>&1 ||
    docker build -f "$DKV_ROOT/Dockerfile" -t "$DKV_IMAGE" "$DKV_BUILD_DIR" || die "docker build failed"
  info "image $DKV_IMAGE: $(docker image inspect -f '{{.Size}}' "$DKV_IMAGE" | awk '{printf "%.1f MB (%d bytes)", $1/1e6, $1}')"
}

# need_tools TOOL... checks host tools the scripts use.
need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die "$t is not installed (apt-get install -y $t)"
  done
}

# ---- experiments

# exp_begin TITLE: prints the title, brings the cluster up (or checks it
# is converged) and heals every fault when the script exits, however it exits.
exp_begin() {
  need_tools docker jq curl
  printf '\033[1m### %s\033[0m\n' "$1"
  if converged 2>/dev/null && [ -x "$DKV_BIN" ]; then
    info "cluster is up and converged (project $DKV_PROJECT)"
  else
    "$DKV_ROOT/scripts/cluster.sh" up
  fi
  trap exp_cleanup EXIT
  DKV_RUN=$(date +%s)
}
DKV_CLEANUP_PIDS=()
exp_cleanup() {
  local rc=$? pid
  for pid in "${DKV_CLEANUP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$DKV_PROJECT")" ]; then
    "$DKV_ROOT/scripts/faults.sh" heal >/dev/null 2>&1 || warn "heal failed: run scripts/faults.sh heal"
  fi
  [ $rc -eq 0 ] || printf '\n[%s] experiment FAILED (exit %d); faults healed\n' "$(dkv_ts)" "$rc" >&2
  return $rc
}

# pick_key PREFIX NODE [ASK] prints a key (PREFIX/<run>/<i>) that NODE is a
# primary of, asking node ASK (default: NODE).
pick_key() {
  local i key
  for i in $(seq 0 499); do
    key="$1/$DKV_RUN/$i"
    if [[ " $(primaries "$key" "${3:-$2}") " == *" $2 "* ]]; then
      echo "$key"
      return
    fi
  done
  die "no key of $1/$DKV_RUN/* has $2 as a primary"
}

# kv METHOD NODE KEY QUERY [VALUE] [CONTEXT] sends one request to NODE and
# sets KV_STATUS, KV_CTX (X-Context answered), KV_BODY and KV_MS. It prints
# the request and its answer on one line.
kv() {
  local method=$1 node=$2 key=$3 query=$4 value=${5:-} ctx=${6:-}
  local hdr body out t0 args
  hdr=$(mktemp)
  body=$(mktemp)
  args=(-sS -o "$body" -D "$hdr" -w '%{http_code}' -X "$method" --max-time 15)
  [ -n "$ctx" ] && args+=(-H "X-Context: $ctx")
  [ "$method" = PUT ] && args+=(-H 'Content-Type: text/plain' --data-binary "$value")
  [ "$method" = GET ] && args+=(-H 'Accept: application/json')
  t0=$(now_ms)
  out=$(curl "${args[@]}" "$(endpoint "$node")/kv/$key${query:+?$query}" 2>&1) || out="000 ($out)"
  # shellcheck disable=SC2034 # KV_* are the results the callers read
  KV_MS=$(since_ms "$t0")
  KV_STATUS=${out%% *}
  # shellcheck disable=SC2034
  KV_CTX=$(grep -i '^x-context:' "$hdr" | tr -d '\r' | cut -d' ' -f2 || true)
  KV_BODY=$(cat "$body")
  rm -f "$hdr" "$body"
  local shown=""
  [ "$method" = PUT ] && shown=" \"$value\""
  [ -n "$ctx" ] && shown+=" (with context)"
  printf '   %-6s %s %s/kv/%s%s%s -> %s in %d ms%s\n' "$method" "$node" "$(endpoint "$node")" "$key" "${query:+?$query}" "$shown" \
    "$KV_STATUS" "$KV_MS" "$(kv_brief)"
}
# kv_brief summarises KV_BODY: siblings' values, or the error.
kv_brief() {
  case "$KV_STATUS" in
    200 | 300) printf '  siblings: %s' "$(jq -r '[.siblings[] | if .deleted then "(deleted)" else (.value | @base64d) end] | map("\"" + . + "\"") | join(", ")' <<<"$KV_BODY" 2>/dev/null)" ;;
    204) ;;
    404) if [ -n "$KV_CTX" ]; then printf '  deleted (a tombstone: 404 with X-Context)'; else printf '  not found'; fi ;;
    *) [ -n "$KV_BODY" ] && printf '  %s' "$(jq -c . <<<"$KV_BODY" 2>/dev/null || echo "$KV_BODY")" ;;
  esac
}
# kv_siblings prints the values of KV_BODY's live siblings, one a line.
kv_siblings() { jq -r '.siblings[] | select(.deleted | not) | .value | @base64d' <<<"$KV_BODY"; }

# expect WHAT OK_CONDITION... : records a check; the experiment fails at the
# end (exp_verdict) when any check failed.
DKV_CHECKS_FAILED=0
DKV_CHECKS=()
expect() {
  local what=$1
  shift
  if "$@"; then
    DKV_CHECKS+=("ok    $what")
  else
    DKV_CHECKS+=("FAIL  $what")
    DKV_CHECKS_FAILED=$((DKV_CHECKS_FAILED + 1))
    warn "check failed: $what"
  fi
}
exp_verdict() {
  step "checks"
  printf '   %s\n' "${DKV_CHECKS[@]}"
  if [ "$DKV_CHECKS_FAILED" -gt 0 ]; then
    die "$DKV_CHECKS_FAILED check(s) failed"
  fi
  info "all checks passed"
}

# others NODE... prints every node not named, space separated.
others() {
  local n out=()
  for n in "${DKV_NODES[@]}"; do
    [[ " $* " == *" $n "* ]] || out+=("$n")
  done
  echo "${out[*]}"
}

# sees_all_of_dead NODE OTHERS... succeeds when NODE sees each of OTHERS dead.
sees_all_dead() {
  local n=$1 o
  shift
  for o in "$@"; do sees "$n" "$o" '^dead$' || return 1; done
}

# wait_split SECONDS "A B" "C D E": every node of each side sees every node of
# the other side dead; prints how long it took.
wait_split() {
  local limit=$1 a=$2 b=$3 n t0
  t0=$(now_ms)
  for n in $a; do
    # shellcheck disable=SC2086
    wait_until "$limit" "$n to see $b dead" sees_all_dead "$n" $b
  done
  for n in $b; do
    # shellcheck disable=SC2086
    wait_until "$limit" "$n to see $a dead" sees_all_dead "$n" $a
  done
  DKV_SPLIT_MS=$(since_ms "$t0")
  info "both sides see the other as dead ($(fmt_ms "$DKV_SPLIT_MS") after the partition)"
}
