#!/usr/bin/env bash
# Experiment 5: back up with a node down, lose every node's data, restore.
#
#   scripts/experiment-5-backup.sh [NODE [KEYS]]    (default: n4, 200 keys)
#
# Writes KEYS keys at w=quorum, a key with two siblings and a key that is
# then deleted. Kills NODE and backs the keys up through another node at
# r=quorum (`dynakv backup --prefix`): the keys NODE held are read from
# their other replicas. Then destroys the whole cluster with its volumes
# (`scripts/cluster.sh down`), starts a new one, and restores the file into
# it through a third node (`dynakv restore`, w=quorum). Checks that every
# key reads its value from every node, that the siblings came back as
# siblings and that a write with the context of a read of them resolves
# them, and that the deleted key stays absent.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

V=${1:-n4}
COUNT=${2:-200}
check_node "$V"
[[ $COUNT =~ ^[0-9]+$ ]] || die "KEYS '$COUNT': use a number"
read -ra REST <<<"$(others "$V")"
B=${REST[0]} # backs up
R=${REST[1]} # restores

exp_begin "Experiment 5: back up with $V down, lose every node's data, restore"
PREFIX="exp5/$DKV_RUN/"
FILE=$(mktemp "${TMPDIR:-/tmp}/dynakv-exp5.XXXXXX.dkvb")

# contains TEXT OUTPUT succeeds when OUTPUT holds TEXT.
contains() { grep -qF -- "$1" <<<"$2"; }
# resolved succeeds when the last read found the one merged value.
resolved() { [ "$KV_STATUS" = 200 ] && [ "$(kv_siblings)" = "left+right" ]; }
# value I is what key I holds.
value() { echo "value $1 of run $DKV_RUN"; }
# put_quiet NODE KEY QUERY VALUE stores VALUE and prints the status alone.
put_quiet() {
  curl -sS -o /dev/null -w '%{http_code}' --max-time 15 -X PUT -H 'Content-Type: text/plain' \
    --data-binary "$4" "$(endpoint "$1")/kv/$2?$3" || echo 000
}
# get_value NODE KEY prints the key's one value at r=quorum, or its status
# when the answer is not one value.
get_value() {
  local out
  out=$(curl -sS -w '\n%{http_code}' --max-time 15 "$(endpoint "$1")/kv/$2?r=quorum") || { echo 000; return; }
  if [ "${out##*$'\n'}" = 200 ]; then echo "${out%$'\n'*}"; else echo "status ${out##*$'\n'}"; fi
}

step "write $COUNT keys at w=quorum, a key with two siblings, and a key then deleted"
failed=0
for i in $(seq 1 "$COUNT"); do
  [ "$(put_quiet "${DKV_NODES[$((i % 5))]}" "${PREFIX}k$i" w=quorum "$(value "$i")")" = 204 ] || failed=$((failed + 1))
done
expect "$COUNT writes acknowledged at w=quorum ($failed failed)" [ "$failed" = 0 ]
SIB="${PREFIX}siblings"
kv PUT "$B" "$SIB" "w=all" "left"
kv PUT "$R" "$SIB" "w=all" "right"
kv GET "$B" "$SIB" "r=all"
expect "two blind writes left two siblings" [ "$KV_STATUS" = 300 ]
SIB_CTX=$KV_CTX
GONE="${PREFIX}deleted"
kv PUT "$B" "$GONE" "w=all" "short-lived"
kv DELETE "$B" "$GONE" "w=all" "" "$KV_CTX"
expect "the delete is acknowledged" [ "$KV_STATUS" = 204 ]

step "kill $V, then back up through $B at r=quorum"
"$DKV_ROOT/scripts/faults.sh" kill "$V" | grep -v nsenter || true
wait_sees 90 "$B" "$V" '^dead$'
t0=$(now_ms)
out=$(dkv_on "$B" backup --prefix "$PREFIX" -c quorum "$FILE" 2>&1) || die "backup failed: $out"
BACKUP_MS=$(since_ms "$t0")
info "$(tail -1 <<<"$out"); $(stat -c %s "$FILE") bytes in $(fmt_ms "$BACKUP_MS")"
expect "the backup holds the $COUNT keys and the siblings' key, not the deleted one" \
  contains "backed up $((COUNT + 1)) keys" "$out"
if ! contains "backed up $((COUNT + 1)) keys" "$out"; then
  listed=$(dkv_on "$B" keys --prefix "$PREFIX" 2>&1 || true)
  shown=0
  for i in $(seq 1 "$COUNT"); do
    grep -qxF -- "${PREFIX}k$i" <<<"$listed" && continue
    shown=$((shown + 1))
    [ "$shown" -le 3 ] || continue
    warn "${PREFIX}k$i is not listed through $B; its replicas:"
    show_replicas "$B" "${PREFIX}k$i"
    for n in "${REST[@]}"; do
      info "listed through $n: $(dkv_on "$n" keys --prefix "${PREFIX}k$i" 2>&1 | grep -cxF -- "${PREFIX}k$i")"
    done
  done
  dkv_on "$B" status 2>&1 | tail -20
fi

step "lose everything: scripts/cluster.sh down (containers and volumes), then a new cluster"
"$DKV_ROOT/scripts/cluster.sh" down >/dev/null 2>&1
DYNAKV_COMPOSE_NO_BUILD=1 "$DKV_ROOT/scripts/cluster.sh" up | tail -7
kv GET "$B" "${PREFIX}k1" "r=quorum"
expect "the new cluster does not have the keys" [ "$KV_STATUS" = 404 ]

step "restore the file through $R at w=quorum"
t0=$(now_ms)
out=$(dkv_on "$R" restore -c quorum "$FILE" 2>&1) || die "restore failed: $out"
RESTORE_MS=$(since_ms "$t0")
info "$(tail -1 <<<"$out") in $(fmt_ms "$RESTORE_MS")"
expect "every key of the backup restored" contains "restored $((COUNT + 1)) keys" "$out"

step "read every key back from every node, in turn"
wrong=0
for i in $(seq 1 "$COUNT"); do
  got=$(get_value "${DKV_NODES[$((i % 5))]}" "${PREFIX}k$i")
  if [ "$got" != "$(value "$i")" ]; then
    wrong=$((wrong + 1))
    [ "$wrong" -le 3 ] && warn "${PREFIX}k$i: $got"
  fi
done
expect "every key reads its value at r=quorum ($wrong of $COUNT wrong)" [ "$wrong" = 0 ]
kv GET "$V" "$SIB" "r=quorum"
expect "the siblings came back as siblings" [ "$KV_STATUS" = 300 ]
kv PUT "$V" "$SIB" "w=quorum" "left+right" "$SIB_CTX"
kv GET "$B" "$SIB" "r=all"
expect "a write with the context read before the loss resolves them" resolved
kv GET "$R" "$GONE" "r=all"
expect "the deleted key stays absent" [ "$KV_STATUS" = 404 ]

rm -f "$FILE"

step "summary"
cat <<EOF
   backup of $((COUNT + 1)) keys through $B with $V down: $(fmt_ms "$BACKUP_MS")
   the cluster and its volumes destroyed, a new one started
   restore through $R at w=quorum: $(fmt_ms "$RESTORE_MS"); every value, the siblings and their context came back
EOF
exp_verdict
