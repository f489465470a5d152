#!/usr/bin/env bash
# Experiment 1: a minority partition.
#
#   scripts/experiment-1-partition.sh [MINORITY]     (default: n1)
#
# Cuts MINORITY (a comma-separated group, default n1) off from the other
# nodes, then: w=one writes succeed on both sides, w=quorum fails fast (503,
# nothing written) on the minority side and succeeds on the majority side.
# After heal, a read shows both sides' writes as siblings, and a write with
# that read's context resolves them; every replica converges to it. Prints
# the per-replica view (/debug/replicas) before, during and after. Fails when
# any acknowledged write is missing after heal or any expectation is not met.
#
# The minority must be smaller than a quorum (2 of N=3) for w=quorum to fail:
# with sloppy quorum, a side of two nodes finds two replicas (primaries or
# fallbacks) for any key and does take w=quorum writes. Given such a minority
# (try n1,n2) the experiment expects exactly that, and shows that a strict
# quorum (pw=quorum) is still refused there unless the side holds two of the
# key's primaries.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

MINORITY=${1:-n1}
read -ra MIN <<<"${MINORITY//,/ }"
for n in "${MIN[@]}"; do check_node "$n"; done
read -ra MAJ <<<"$(others "${MIN[@]}")"
[ ${#MAJ[@]} -gt ${#MIN[@]} ] || die "the minority ${MIN[*]} must be smaller than the rest"
M=${MIN[0]}  # the minority node clients talk to
J=${MAJ[0]}  # the majority node clients talk to
majority_group=$(IFS=,; echo "${MAJ[*]}")

exp_begin "Experiment 1: minority partition {${MIN[*]}} | {${MAJ[*]}}"
KEY=$(pick_key exp1 "$M")
info "key $KEY: primaries $(primaries "$KEY"); the minority node $M is one of them"

step "before the partition: one value, written at w=all"
kv PUT "$J" "$KEY" "w=all" "v0: before the partition"
expect "initial write at w=all" [ "$KV_STATUS" = 204 ]
kv GET "$J" "$KEY" "r=all"
CTX0=$KV_CTX
show_replicas "$J" "$KEY"

step "partition: scripts/faults.sh partition $MINORITY $majority_group"
"$DKV_ROOT/scripts/faults.sh" partition "$MINORITY" "$majority_group" | grep -v nsenter
wait_split 90 "${MIN[*]}" "${MAJ[*]}"

QUORUM=$(($(curl -fsS "$(endpoint "$J")/cluster/ring" | jq -r .n) / 2 + 1))
MIN_PRIMARIES=0
for p in $(primaries "$KEY" "$J"); do [[ " ${MIN[*]} " == *" $p "* ]] && MIN_PRIMARIES=$((MIN_PRIMARIES + 1)); done
ACKED=() # values acknowledged during the partition that a read after heal must show

step "minority side ($M): w=one succeeds, w=quorum fails fast"
kv PUT "$M" "$KEY" "w=one" "minority: w=one" "$CTX0"
expect "w=one write on the minority side is acknowledged (204)" [ "$KV_STATUS" = 204 ]
MIN_ONE_ACK=$KV_STATUS
[ "$KV_STATUS" = 204 ] && ACKED+=("minority: w=one")
if [ ${#MIN[@]} -lt "$QUORUM" ]; then
  kv PUT "$M" "$KEY" "w=quorum" "minority: w=quorum (must be refused)" "$CTX0"
  MIN_QUORUM_STATUS=$KV_STATUS MIN_QUORUM_MS=$KV_MS
  expect "w=quorum write on the minority side is refused with 503" [ "$KV_STATUS" = 503 ]
  expect "... and fails fast (under 1s: took ${KV_MS} ms)" [ "$KV_MS" -lt 1000 ]
  kv GET "$M" "$KEY" "r=quorum"
  expect "r=quorum read on the minority side is refused with 503" [ "$KV_STATUS" = 503 ]
else
  info "the minority has ${#MIN[@]} nodes, a quorum: sloppy quorum takes w=quorum through fallbacks"
  kv PUT "$M" "$KEY" "w=quorum" "minority: w=quorum (sloppy)" "$CTX0"
  MIN_QUORUM_STATUS=$KV_STATUS MIN_QUORUM_MS=$KV_MS
  expect "w=quorum write on a minority of ${#MIN[@]} is acknowledged (sloppy quorum)" [ "$KV_STATUS" = 204 ]
  [ "$KV_STATUS" = 204 ] && ACKED+=("minority: w=quorum (sloppy)")
fi
kv PUT "$M" "$KEY" "w=quorum&pw=quorum" "minority: strict quorum" "$CTX0"
if [ "$MIN_PRIMARIES" -lt "$QUORUM" ]; then
  expect "a strict quorum write (pw=quorum) on the minority ($MIN_PRIMARIES of the key's primaries) is refused with 503" [ "$KV_STATUS" = 503 ]
else
  expect "a strict quorum write on the minority ($MIN_PRIMARIES primaries) is acknowledged" [ "$KV_STATUS" = 204 ]
  [ "$KV_STATUS" = 204 ] && ACKED+=("minority: strict quorum")
fi
kv GET "$M" "$KEY" "r=one"

step "majority side ($J): w=one and w=quorum both succeed"
kv PUT "$J" "$KEY" "w=one" "majority: w=one" "$CTX0"
expect "w=one write on the majority side is acknowledged (204)" [ "$KV_STATUS" = 204 ]
kv PUT "$J" "$KEY" "w=quorum" "majority: w=quorum" "$KV_CTX"
expect "w=quorum write on the majority side is acknowledged (204)" [ "$KV_STATUS" = 204 ]
MAJ_QUORUM_ACK=$KV_STATUS
[ "$KV_STATUS" = 204 ] && ACKED+=("majority: w=quorum")
info "the majority's w=quorum write carried the context of its w=one write, so it supersedes it"

step "per-replica view during the partition"
show_replicas "$J" "$KEY"
hints_view "$J" "$KEY"
show_replicas "$M" "$KEY"

step "heal: scripts/faults.sh heal"
"$DKV_ROOT/scripts/faults.sh" heal | grep -v nsenter
t0=$(now_ms)
wait_converged 120
HEAL_MS=$(since_ms "$t0")

step "after heal, before any read: what each replica holds (hints and anti-entropy may already be at work)"
show_replicas "$J" "$KEY"

step "read after heal (r=all from $J): both sides' acknowledged writes are siblings"
t0=$(now_ms)
both=no
while [ "$(since_ms "$t0")" -lt 60000 ]; do
  kv GET "$J" "$KEY" "r=all"
  sibs=""
  if [ "$KV_STATUS" = 300 ] || [ "$KV_STATUS" = 200 ]; then sibs=$(kv_siblings); fi
  missing=0
  for v in "${ACKED[@]}"; do grep -qxF -- "$v" <<<"$sibs" || missing=$((missing + 1)); done
  if [ "$missing" = 0 ]; then both=yes; break; fi
  sleep 0.5
done
SIBLINGS=$(grep -c . <<<"${sibs:-}" || true)
expect "after heal a read returns 300 with every value acknowledged during the partition as a sibling (${#ACKED[@]})" [ "$both" = yes ]
superseded_gone() { ! grep -qx -e "v0: before the partition" -e "majority: w=one" <<<"${sibs:-}"; }
expect "the superseded writes (v0, majority: w=one) are not among them" superseded_gone
CTXR=$KV_CTX
for n in "${DKV_NODES[@]}"; do kv GET "$n" "$KEY" "r=quorum"; done

step "resolve: write the merged value with the read's context"
kv PUT "$J" "$KEY" "w=quorum" "resolved: minority + majority" "$CTXR"
expect "the resolving write is acknowledged" [ "$KV_STATUS" = 204 ]
resolved_everywhere() {
  local line
  line=$(replica_values "$J" "$KEY" | awk '$2 == "primary"' | grep -vc ' ok resolved: minority + majority$' || true)
  [ "$line" = 0 ]
}
t0=$(now_ms)
if poll_until 30 resolved_everywhere; then
  CONVERGE_MS=$(since_ms "$t0")
  expect "every primary holds exactly the resolved value" true
else
  CONVERGE_MS=-1
  expect "every primary holds exactly the resolved value" false
fi
t0=$(now_ms)
HINTS_MS=-1
if poll_until 60 no_hints "$J" "$KEY"; then HINTS_MS=$(since_ms "$t0"); fi
expect "the hints fallbacks held for the key during the partition are delivered and gone" [ "$HINTS_MS" -ge 0 ]
show_replicas "$J" "$KEY"
hints_view "$J" "$KEY"
ok_reads=0
for n in "${DKV_NODES[@]}"; do
  kv GET "$n" "$KEY" "r=quorum"
  [ "$KV_STATUS" = 200 ] && [ "$(kv_siblings)" = "resolved: minority + majority" ] && ok_reads=$((ok_reads + 1))
done
expect "every node reads the resolved value ($ok_reads of ${#DKV_NODES[@]})" [ "$ok_reads" = ${#DKV_NODES[@]} ]

step "summary"
cat <<EOF
   partition {${MIN[*]}} | {${MAJ[*]}}: detected by both sides in $(fmt_ms "$DKV_SPLIT_MS")
   minority w=one: $MIN_ONE_ACK; minority w=quorum: $MIN_QUORUM_STATUS in ${MIN_QUORUM_MS} ms; majority w=quorum: $MAJ_QUORUM_ACK
   heal: every node saw every node alive again after $(fmt_ms "$HEAL_MS")
   read after heal: $SIBLINGS siblings; resolved with its context; all primaries converged in $( [ "$CONVERGE_MS" -ge 0 ] && fmt_ms "$CONVERGE_MS" || echo never)
   hints held by fallbacks for the key: gone $( [ "$HINTS_MS" -ge 0 ] && echo "$(fmt_ms "$HINTS_MS") after the resolving write" || echo "NOT within 60s")
   acknowledged writes: v0 and "majority: w=one" (superseded by later writes whose contexts saw them), and
   ${#ACKED[@]} during the partition that must be siblings after heal; missing: $( [ "$both" = yes ] && echo 0 || echo "$missing")
EOF
exp_verdict
