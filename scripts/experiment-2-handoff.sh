#!/usr/bin/env bash
# Experiment 2: kill a node, write, restart it: hinted handoff brings it up
# to date.
#
#   scripts/experiment-2-handoff.sh [NODE [KEYS]]    (default: n3, 50 keys)
#
# Kills NODE with kill -9, waits until the others see it dead, then writes a
# featured key and KEYS more keys NODE is a primary of, at w=all: with NODE
# down, sloppy quorum puts a fallback in its place, which acknowledges the
# write and keeps a durable hint for NODE. Restarts NODE and times how long
# until NODE's own copy of every one of those keys holds the new value
# (/debug/replicas reads each replica directly and repairs nothing, so only
# hinted handoff, or anti-entropy, can have put it there). Prints the
# per-replica view of the featured key before, during and after.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

V=${1:-n3}
COUNT=${2:-50}
check_node "$V"
[[ $COUNT =~ ^[0-9]+$ ]] || die "KEYS '$COUNT': use a number"
read -ra REST <<<"$(others "$V")"
C=${REST[0]} # the node clients talk to

exp_begin "Experiment 2: kill $V, write, restart it: hinted handoff"
KEY=$(pick_key exp2 "$V")
info "featured key $KEY: primaries $(primaries "$KEY"); $V is one of them"
info "choosing $COUNT more keys $V is a primary of"
KEYS=()
i=0
while [ ${#KEYS[@]} -lt "$COUNT" ]; do
  k="exp2/$DKV_RUN/batch/$i"
  [[ " $(primaries "$k" "$C") " == *" $V "* ]] && KEYS+=("$k")
  i=$((i + 1))
  [ $i -lt $((COUNT * 10 + 100)) ] || die "too few keys with $V as a primary"
done

# pending_hints prints the hints for V every other node still holds
# (dynakv_hints_pending{target="V"} summed over the nodes).
pending_hints() {
  local n total=0 v
  for n in "${REST[@]}"; do
    v=$(curl -fsS --max-time 2 "$(endpoint "$n")/metrics" |
      awk -v t="dynakv_hints_pending{target=\"$V\"}" '$1 == t { print int($2) }')
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
no_pending_hints() { [ "$(pending_hints)" = 0 ]; }

step "before: the key written at w=all"
kv PUT "$C" "$KEY" "w=all" "v0: before the kill"
expect "initial write at w=all" [ "$KV_STATUS" = 204 ]
show_replicas "$C" "$KEY"

step "kill -9 $V: scripts/faults.sh kill $V"
"$DKV_ROOT/scripts/faults.sh" kill "$V"
t0=$(now_ms)
for n in "${REST[@]}"; do wait_sees 90 "$n" "$V" '^dead$'; done
DETECT_MS=$(since_ms "$t0")
info "every other node sees $V dead ($(fmt_ms "$DETECT_MS") after the kill)"

step "write while $V is down (w=all: two primaries and a fallback holding a hint)"
kv GET "$C" "$KEY" "r=quorum"
kv PUT "$C" "$KEY" "w=all" "v1: written while $V was down" "$KV_CTX"
expect "w=all write with $V down is acknowledged (sloppy quorum)" [ "$KV_STATUS" = 204 ]
acked=0
t0=$(now_ms)
for k in "${KEYS[@]}"; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: text/plain' \
    --data-binary "batch value of $k" "$(endpoint "$C")/kv/$k?w=all" || true)
  [ "$code" = 204 ] && acked=$((acked + 1))
done
info "wrote $acked of ${#KEYS[@]} more keys at w=all in $(fmt_ms "$(since_ms "$t0")")"
expect "every batch write is acknowledged ($acked of ${#KEYS[@]})" [ "$acked" = ${#KEYS[@]} ]
show_replicas "$C" "$KEY"
hints_view "$C" "$KEY"
PENDING0=$(pending_hints)
info "hints pending for $V across the cluster (metric dynakv_hints_pending): $PENDING0"
expect "fallbacks hold hints for $V ($PENDING0)" [ "$PENDING0" -gt 0 ]

step "restart $V: scripts/faults.sh restart $V"
"$DKV_ROOT/scripts/faults.sh" restart "$V"
T0=$(now_ms)
wait_until 90 "$V to answer" curl -fsS --max-time 1 "$(endpoint "$V")/healthz"
UP_MS=$(since_ms "$T0")
info "$V answers after $(fmt_ms "$UP_MS")"
for n in "${REST[@]}"; do wait_sees 90 "$n" "$V" '^alive$'; done
ALIVE_MS=$(since_ms "$T0")
info "every node sees $V alive after $(fmt_ms "$ALIVE_MS")"

# has_value NODE KEY VALUE: NODE's own copy of KEY (as the replicas view reads
# it, asked of C) holds VALUE.
has_value() {
  replica_values "$C" "$2" | awk -v n="$1" '$1 == n && $2 == "primary" && $3 == "ok"' | grep -qF -- "$3"
}
featured_there() { has_value "$V" "$KEY" "v1: written while $V was down"; }
FEATURED_MS=-1
if poll_until 120 featured_there; then FEATURED_MS=$(since_ms "$T0"); fi
expect "$V's own copy of the featured key got the write it missed" [ "$FEATURED_MS" -ge 0 ]
[ "$FEATURED_MS" -ge 0 ] && info "$V holds the featured key's new value $(fmt_ms "$FEATURED_MS") after the restart"

HANDOFF_MS=-1
if poll_until 120 no_pending_hints; then HANDOFF_MS=$(since_ms "$T0"); fi
expect "every hint for $V was delivered (pending: $(pending_hints) of $PENDING0)" [ "$HANDOFF_MS" -ge 0 ]
[ "$HANDOFF_MS" -ge 0 ] && info "no hint for $V pending anywhere $(fmt_ms "$HANDOFF_MS") after the restart"

pending=("${KEYS[@]}")
batch_there() {
  local left=() k
  for k in "${pending[@]}"; do has_value "$V" "$k" "batch value of $k" || left+=("$k"); done
  pending=("${left[@]}")
  [ ${#pending[@]} -eq 0 ]
}
poll_until 30 batch_there || true
expect "$V's own copy of every batch key holds the write it missed (missing: ${#pending[@]})" [ ${#pending[@]} -eq 0 ]
poll_until 60 no_hints "$C" "$KEY" || true
expect "the fallback's hint for the featured key is gone once delivered" no_hints "$C" "$KEY"

step "after: the per-replica view"
show_replicas "$C" "$KEY"
hints_view "$C" "$KEY"

step "summary"
cat <<EOF
   kill -9 $V: the others saw it dead after $(fmt_ms "$DETECT_MS")
   with $V down: $((acked + 1)) writes at w=all acknowledged (two primaries + a fallback's hint each)
   restart of $V: answering after $(fmt_ms "$UP_MS"), seen alive by all after $(fmt_ms "$ALIVE_MS")
   hinted handoff ($PENDING0 hints): featured key on $V after $( [ "$FEATURED_MS" -ge 0 ] && fmt_ms "$FEATURED_MS" || echo never), no hint pending after $( [ "$HANDOFF_MS" -ge 0 ] && fmt_ms "$HANDOFF_MS" || echo never) (from the restart command); keys missing on $V: ${#pending[@]}
EOF
exp_verdict
