#!/usr/bin/env bash
# Experiment 3: a delete during a partition.
#
#   scripts/experiment-3-delete.sh [NODE]    (default: n5)
#
# Writes a key at w=all, cuts NODE (one of the key's primaries) off, deletes
# the key on the majority side (with the read's context, w=quorum), then
# heals. NODE still holds the old value when it comes back; the tombstone
# supersedes it, so the key stays deleted: every read from every node answers
# 404, every replica converges to the tombstone (or to nothing), and `dynakv
# keys` through any node leaves the key out. Prints the per-replica view
# before, during and after.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# listed NODE prints whether `dynakv keys` through NODE lists the key: yes,
# no, or error (the listing failed).
listed() {
  local out
  out=$(dkv_on "$1" keys --prefix "$KEY" 2>/dev/null) || { echo error; return; }
  if grep -qxF -- "$KEY" <<<"$out"; then echo yes; else echo no; fi
}

V=${1:-n5}
check_node "$V"
read -ra REST <<<"$(others "$V")"
C=${REST[0]}
rest_group=$(IFS=,; echo "${REST[*]}")

exp_begin "Experiment 3: delete during a partition {$V} | {${REST[*]}}"
KEY=$(pick_key exp3 "$V")
info "key $KEY: primaries $(primaries "$KEY"); $V is one of them"

step "before: the key written at w=all"
kv PUT "$C" "$KEY" "w=all" "v1: written before the partition"
expect "initial write at w=all" [ "$KV_STATUS" = 204 ]
show_replicas "$C" "$KEY"

step "partition: scripts/faults.sh partition $V $rest_group"
"$DKV_ROOT/scripts/faults.sh" partition "$V" "$rest_group" | grep -v nsenter
wait_split 90 "$V" "${REST[*]}"

step "delete on the majority side ($C), with the context of a read"
kv GET "$C" "$KEY" "r=quorum"
expect "the majority reads the value" [ "$KV_STATUS" = 200 ]
kv DELETE "$C" "$KEY" "w=quorum" "" "$KV_CTX"
expect "the delete is acknowledged at w=quorum" [ "$KV_STATUS" = 204 ]
kv GET "$C" "$KEY" "r=quorum"
expect "the majority side reads 404 after the delete" [ "$KV_STATUS" = 404 ]
kv GET "$V" "$KEY" "r=one"
info "the cut-off node $V still answers the old value at r=one: it has not heard of the delete"
info "dynakv keys lists it through $C: $(listed "$C"); through $V: $(listed "$V") (a listing reads one reachable primary of every partition: the cut-off node reaches none of most, so it answers 503)"
show_replicas "$C" "$KEY"
show_replicas "$V" "$KEY"

step "heal: scripts/faults.sh heal"
"$DKV_ROOT/scripts/faults.sh" heal | grep -v nsenter
t0=$(now_ms)
wait_converged 120
HEAL_MS=$(since_ms "$t0")

step "after heal, before any read: what each replica holds"
show_replicas "$C" "$KEY"

step "reads after heal: r=quorum from every node"
deleted=0
for n in "${DKV_NODES[@]}"; do
  kv GET "$n" "$KEY" "r=quorum"
  [ "$KV_STATUS" = 404 ] && deleted=$((deleted + 1))
done
expect "every node reads 404 at r=quorum ($deleted of ${#DKV_NODES[@]})" [ "$deleted" = ${#DKV_NODES[@]} ]
kv GET "$V" "$KEY" "r=all"
expect "r=all through the node that missed the delete reads 404" [ "$KV_STATUS" = 404 ]

# converged_deleted: no primary holds a live value any more.
converged_deleted() {
  replica_values "$C" "$KEY" | awk '$2 == "primary"' | while read -r _ _ status values; do
    [ "$status" = not_found ] && continue
    [ "$status" = ok ] && [ "$values" = "(deleted)" ] && continue
    return 1
  done
}
t0=$(now_ms)
CONVERGE_MS=-1
if poll_until 60 converged_deleted; then CONVERGE_MS=$(since_ms "$t0"); fi
expect "every primary holds the tombstone (or nothing) after heal" [ "$CONVERGE_MS" -ge 0 ]
show_replicas "$C" "$KEY"

step "reads at r=one from every node: the key stays deleted everywhere"
deleted=0
for n in "${DKV_NODES[@]}"; do
  kv GET "$n" "$KEY" "r=one"
  [ "$KV_STATUS" = 404 ] && deleted=$((deleted + 1))
done
expect "every node reads 404 at r=one ($deleted of ${#DKV_NODES[@]})" [ "$deleted" = ${#DKV_NODES[@]} ]
unlisted=0
for n in "${DKV_NODES[@]}"; do
  [ "$(listed "$n")" = no ] && unlisted=$((unlisted + 1))
done
expect "dynakv keys through every node leaves the key out ($unlisted of ${#DKV_NODES[@]})" [ "$unlisted" = ${#DKV_NODES[@]} ]

step "summary"
cat <<EOF
   partition {$V} | {${REST[*]}}: detected by both sides in $(fmt_ms "$DKV_SPLIT_MS")
   delete on the majority side at w=quorum: acknowledged; $V kept the old value while cut off
   heal: every node saw every node alive after $(fmt_ms "$HEAL_MS")
   after heal: every read answered 404; replicas converged to the tombstone $( [ "$CONVERGE_MS" -ge 0 ] && echo "in $(fmt_ms "$CONVERGE_MS")" || echo "NEVER")
EOF
exp_verdict
