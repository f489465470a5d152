#!/usr/bin/env bash
# Faults for the compose cluster, injected from the host with real network
# controls: iptables and tc run inside each container's network namespace
# (nsenter -t <pid> -n), so the host's own rules are never touched.
#
#   scripts/faults.sh partition GROUP GROUP...  e.g. partition n1,n2 n3,n4,n5
#        nodes of different groups drop each other's packets (both ways);
#        nodes named in no group stay connected to everyone. Replaces any
#        earlier partition. The host still reaches every node.
#   scripts/faults.sh heal          remove every fault: partition and link
#        rules, paused nodes are unpaused, killed nodes are started again
#   scripts/faults.sh kill NODE     kill -9 the node's process (it stays down)
#   scripts/faults.sh restart NODE  start a killed node, or restart a running
#        one gracefully (SIGTERM, drain, start); its faults are re-applied
#   scripts/faults.sh pause NODE | unpause NODE   freeze / thaw all its processes
#   scripts/faults.sh delay NODE 200ms [JITTER]   latency on the node's links (tc netem)
#   scripts/faults.sh loss NODE 10%               packet loss on the node's links
#        (tc netem; iptables' statistic match when the kernel has no netem)
#   scripts/faults.sh clear NODE    remove the node's delay and loss
#   scripts/faults.sh status        what is in place, node by node
#
# Delay and loss apply to what the node sends (its side of every link).
# Every command prints what it did. It needs root, nsenter, iptables and tc on
# the host; missing packages are installed with apt-get (util-linux, iptables,
# iproute2). What is in place is also written to a state file
# (/tmp/dynakv-faults-<project>), so a restarted node gets its faults back;
# heal deletes it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

CHAIN_IN=DYNAKV_FAULTS_IN
CHAIN_OUT=DYNAKV_FAULTS_OUT
STATE=${DYNAKV_FAULTS_STATE:-${TMPDIR:-/tmp}/dynakv-faults-$DKV_PROJECT}

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }

say() { printf 'faults: %s\n' "$*"; }

ensure_host_tools() {
  local missing=() t pkg
  for t in nsenter:util-linux iptables:iptables tc:iproute2; do
    command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" = 0 ] || die "needs root to install ${missing[*]} and to enter network namespaces"
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  say "installing host packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  for pkg in "${missing[@]}"; do DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; done
}

# in_ns NODE CMD... runs CMD in NODE's network namespace, printing it.
in_ns() {
  local n=$1 pid
  shift
  pid=$(cpid "$n")
  [ "$pid" -gt 0 ] 2>/dev/null || die "$n is not running: no network namespace to change"
  say "$n: nsenter -t $pid -n $*"
  nsenter -t "$pid" -n "$@"
}
# in_ns_quiet NODE CMD... is in_ns without the printing, for queries.
in_ns_quiet() {
  local n=$1 pid
  shift
  pid=$(cpid "$n")
  [ "$pid" -gt 0 ] 2>/dev/null || return 1
  nsenter -t "$pid" -n "$@"
}

running_or_paused() {
  case "$(cstate "$1")" in running | paused) return 0 ;; esac
  return 1
}

# ---- state (what is in place, to re-apply to a restarted node)

state_get() {
  if [ -f "$STATE" ]; then grep "^$1 " "$STATE" | cut -d' ' -f2- || true; fi
}
state_set() { # KEY VALUE...: replace the KEY line (no VALUE: delete it)
  local key=$1
  shift
  local tmp
  tmp=$(mktemp)
  if [ -f "$STATE" ]; then grep -v "^$key " "$STATE" >"$tmp" || true; fi
  [ $# -gt 0 ] && echo "$key $*" >>"$tmp"
  if [ -s "$tmp" ]; then mv "$tmp" "$STATE"; else rm -f "$tmp" "$STATE"; fi
}

# ---- iptables chains inside a node's namespace

ensure_chains() {
  local n=$1
  in_ns_quiet "$n" iptables -w -N "$CHAIN_IN" 2>/dev/null || true
  in_ns_quiet "$n" iptables -w -N "$CHAIN_OUT" 2>/dev/null || true
  in_ns_quiet "$n" iptables -w -C INPUT -j "$CHAIN_IN" 2>/dev/null || in_ns "$n" iptables -w -I INPUT 1 -j "$CHAIN_IN"
  in_ns_quiet "$n" iptables -w -C OUTPUT -j "$CHAIN_OUT" 2>/dev/null || in_ns "$n" iptables -w -I OUTPUT 1 -j "$CHAIN_OUT"
}

# remove_rules NODE COMMENT deletes NODE's rules tagged COMMENT.
remove_rules() {
  local n=$1 tag=$2 chain rule
  for chain in "$CHAIN_IN" "$CHAIN_OUT"; do
    in_ns_quiet "$n" iptables -w -S "$chain" >/dev/null 2>&1 || continue
    while IFS= read -r rule; do
      [ -n "$rule" ] || continue
      read -ra words <<<"${rule/#-A /-D }" # iptables -S output: plain words
      in_ns "$n" iptables -w "${words[@]}"
    done < <(in_ns_quiet "$n" iptables -w -S "$chain" | grep -- "--comment \"\?$tag\"\? " || true)
  done
}

remove_chains() {
  local n=$1
  in_ns_quiet "$n" iptables -w -S "$CHAIN_IN" >/dev/null 2>&1 || in_ns_quiet "$n" iptables -w -S "$CHAIN_OUT" >/dev/null 2>&1 || return 0
  while in_ns_quiet "$n" iptables -w -C INPUT -j "$CHAIN_IN" 2>/dev/null; do in_ns "$n" iptables -w -D INPUT -j "$CHAIN_IN"; done
  while in_ns_quiet "$n" iptables -w -C OUTPUT -j "$CHAIN_OUT" 2>/dev/null; do in_ns "$n" iptables -w -D OUTPUT -j "$CHAIN_OUT"; done
  for chain in "$CHAIN_IN" "$CHAIN_OUT"; do
    if in_ns_quiet "$n" iptables -w -S "$chain" >/dev/null 2>&1; then
      in_ns "$n" iptables -w -F "$chain"
      in_ns "$n" iptables -w -X "$chain"
    fi
  done
}

# ---- partition

# group_of NODE GROUPS... prints the index of the group naming NODE, or -1.
group_of() {
  local n=$1 i=0 g
  shift
  for g in "$@"; do
    [[ ",$g," == *",$n,"* ]] && { echo "$i"; return; }
    i=$((i + 1))
  done
  echo -1
}

# apply_partition_node NODE GROUPS... installs NODE's side of the partition.
apply_partition_node() {
  local n=$1 mine other gi
  shift
  mine=$(group_of "$n" "$@")
  [ "$mine" -ge 0 ] || return 0
  running_or_paused "$n" || { say "$n: not running; its rules are added when it restarts"; return 0; }
  ensure_chains "$n"
  for other in "${DKV_NODES[@]}"; do
    gi=$(group_of "$other" "$@")
    if [ "$gi" -ge 0 ] && [ "$gi" != "$mine" ]; then
      in_ns "$n" iptables -w -A "$CHAIN_IN" -s "$(node_ip "$other")" -m comment --comment dynakv-partition -j DROP
      in_ns "$n" iptables -w -A "$CHAIN_OUT" -d "$(node_ip "$other")" -m comment --comment dynakv-partition -j DROP
    fi
  done
}

cmd_partition() {
  [ $# -ge 2 ] || die "partition needs two groups or more, e.g. partition n1,n2 n3,n4,n5"
  local g n seen=","
  for g in "$@"; do
    for n in ${g//,/ }; do
      check_node "$n"
      [[ $seen == *",$n,"* ]] && die "$n is in two groups"
      seen+="$n,"
    done
  done
  ensure_host_tools
  for n in "${DKV_NODES[@]}"; do
    running_or_paused "$n" && remove_rules "$n" dynakv-partition
  done
  for n in "${DKV_NODES[@]}"; do apply_partition_node "$n" "$@"; done
  state_set partition "$@"
  say "partition in place: $(printf '{%s} ' "$@")(packets between groups are dropped)"
}

# ---- link faults (delay, loss)

# has_netem NODE succeeds when the kernel offers the netem qdisc (probed on
# the node's loopback, which is put back at once).
has_netem() {
  in_ns_quiet "$1" tc qdisc add dev lo root netem delay 0ms 2>/dev/null || return 1
  in_ns_quiet "$1" tc qdisc del dev lo root 2>/dev/null || true
}

# apply_link NODE installs the node's delay/loss from the state.
apply_link() {
  local n=$1 delay loss args=()
  delay=$(state_get "delay-$n")
  loss=$(state_get "loss-$n")
  running_or_paused "$n" || return 0
  remove_rules "$n" dynakv-loss
  if in_ns_quiet "$n" tc qdisc show dev eth0 | grep -q netem; then
    in_ns "$n" tc qdisc del dev eth0 root
  fi
  [ -n "$delay$loss" ] || return 0
  if [ -n "$delay" ]; then
    read -ra d <<<"$delay" # "200ms" or "200ms 20ms"
    args+=(delay "${d[@]}")
  fi
  [ -n "$loss" ] && args+=(loss "$loss")
  if has_netem "$n"; then
    in_ns "$n" tc qdisc replace dev eth0 root netem "${args[@]}"
    return 0
  fi
  [ -z "$delay" ] || die "$n: this kernel has no netem qdisc: cannot add latency"
  say "$n: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM): loss through iptables' statistic match instead"
  local p
  p=$(awk -v l="${loss%\%}" 'BEGIN { printf "%.4f", l / 100 }')
  ensure_chains "$n"
  in_ns "$n" iptables -w -A "$CHAIN_OUT" -o eth0 -m statistic --mode random --probability "$p" \
    -m comment --comment dynakv-loss -j DROP
}

cmd_delay() {
  [ $# -ge 2 ] || die "usage: delay NODE 200ms [JITTER]"
  check_node "$1"
  [[ $2 =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || die "delay '$2': use a duration such as 200ms"
  [ -z "${3:-}" ] || [[ $3 =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || die "jitter '$3': use a duration such as 20ms"
  ensure_host_tools
  running_or_paused "$1" || die "$1 is not running"
  has_netem "$1" || die "this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM), so latency cannot be added; loss still works (iptables statistic match)"
  state_set "delay-$1" "$2" "${3:-}"
  apply_link "$1"
  say "$1: its links now have ${2}${3:+ ± $3} of latency"
}

cmd_loss() {
  [ $# -eq 2 ] || die "usage: loss NODE 10%"
  check_node "$1"
  [[ $2 =~ ^[0-9]+(\.[0-9]+)?%$ ]] || die "loss '$2': use a percentage such as 10%"
  ensure_host_tools
  state_set "loss-$1" "$2"
  apply_link "$1"
  say "$1: its links now lose $2 of the packets it sends"
}

cmd_clear() {
  [ $# -eq 1 ] || die "usage: clear NODE"
  check_node "$1"
  ensure_host_tools
  state_set "delay-$1"
  state_set "loss-$1"
  apply_link "$1"
  say "$1: no delay or loss"
}

# ---- processes

cmd_kill() {
  [ $# -eq 1 ] || die "usage: kill NODE"
  check_node "$1"
  local c
  c=$(container "$1")
  [ -n "$c" ] || die "$1 has no container (is the cluster up?)"
  [ "$(cstate "$1")" = paused ] && { say "$1: docker unpause (a paused process cannot take SIGKILL)"; docker unpause "$c" >/dev/null; }
  say "$1: docker kill --signal KILL (kill -9 of its process, pid $(cpid "$1")); it stays down until restart"
  docker kill --signal KILL "$c" >/dev/null
}

# reapply NODE puts back the faults recorded for NODE after it restarted.
reapply() {
  local n=$1 part
  part=$(state_get partition)
  # shellcheck disable=SC2086 # groups are words
  [ -n "$part" ] && apply_partition_node "$n" $part
  if [ -n "$(state_get "delay-$n")$(state_get "loss-$n")" ]; then apply_link "$n"; fi
  return 0
}

cmd_restart() {
  [ $# -eq 1 ] || die "usage: restart NODE"
  check_node "$1"
  local c st
  c=$(container "$1")
  [ -n "$c" ] || die "$1 has no container (is the cluster up?)"
  st=$(cstate "$1")
  case "$st" in
    paused)
      say "$1: docker unpause, then docker restart (SIGTERM: the node drains, then starts again)"
      docker unpause "$c" >/dev/null
      docker restart -t 20 "$c" >/dev/null
      ;;
    running)
      say "$1: docker restart (SIGTERM: the node drains, then starts again)"
      docker restart -t 20 "$c" >/dev/null
      ;;
    *)
      say "$1: docker start (it was $st)"
      docker start "$c" >/dev/null
      ;;
  esac
  if [ -n "$(state_get partition)$(state_get "delay-$1")$(state_get "loss-$1")" ]; then
    ensure_host_tools
    reapply "$1"
  fi
}

cmd_pause() {
  [ $# -eq 1 ] || die "usage: pause NODE"
  check_node "$1"
  say "$1: docker pause (cgroup freezer: the process stops, its sockets stay open)"
  docker pause "$(container "$1")" >/dev/null
}

cmd_unpause() {
  [ $# -eq 1 ] || die "usage: unpause NODE"
  check_node "$1"
  say "$1: docker unpause"
  docker unpause "$(container "$1")" >/dev/null
}

# ---- heal and status

cmd_heal() {
  local n c st
  ensure_host_tools
  for n in "${DKV_NODES[@]}"; do
    c=$(container "$n")
    [ -n "$c" ] || continue
    st=$(cstate "$n")
    if [ "$st" = paused ]; then
      say "$n: docker unpause"
      docker unpause "$c" >/dev/null
      st=running
    fi
    if [ "$st" = running ] || [ "$st" = restarting ]; then
      remove_chains "$n"
      if in_ns_quiet "$n" tc qdisc show dev eth0 2>/dev/null | grep -q netem; then
        in_ns "$n" tc qdisc del dev eth0 root
      fi
    else
      say "$n: docker start (it was $st)"
      docker start "$c" >/dev/null
    fi
  done
  rm -f "$STATE"
  say "healed: no partition, delay, loss or pause; every node is started"
}

cmd_status() {
  local n st rules qd
  for n in "${DKV_NODES[@]}"; do
    st=$(cstate "$n")
    rules=$( (in_ns_quiet "$n" iptables -w -S "$CHAIN_IN" 2>/dev/null; in_ns_quiet "$n" iptables -w -S "$CHAIN_OUT" 2>/dev/null) |
      grep -- '^-A' | sed -E 's/-m comment --comment "?[a-z-]+"? //; s/^-A DYNAKV_FAULTS_//' | tr '\n' ';' || true)
    qd=$(in_ns_quiet "$n" tc qdisc show dev eth0 2>/dev/null | grep netem | sed 's/.*netem/netem/' || true)
    printf '%-3s %-8s rules: %s  qdisc: %s\n' "$n" "$st" "${rules:-none}" "${qd:-none}"
  done
  if [ -f "$STATE" ]; then sed 's/^/state: /' "$STATE"; else echo "state: no faults recorded"; fi
}

[ $# -ge 1 ] || { usage; exit 2; }
cmd=$1
shift
case "$cmd" in
  partition) cmd_partition "$@" ;;
  heal) cmd_heal ;;
  kill) cmd_kill "$@" ;;
  restart | start) cmd_restart "$@" ;;
  pause) cmd_pause "$@" ;;
  unpause) cmd_unpause "$@" ;;
  delay) cmd_delay "$@" ;;
  loss) cmd_loss "$@" ;;
  clear) cmd_clear "$@" ;;
  status) cmd_status ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
