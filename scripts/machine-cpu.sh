#!/usr/bin/env bash
# The whole machine's CPU per operation of each system ../shared/bench's
# peers.sh measures (docs/performance.md): what a peer's rate costs, so
# that dynakv's unit costs can be set against it.
#
#   scripts/machine-cpu.sh [BENCH_DIR]     default: ../shared/bench
#
# Runs peers.sh from BENCH_DIR with the environment given (TARGETS,
# PROJECT_HOOK, PROJECT_DIR, SKIP_INSTALL, ...), samples /proc/stat every
# half second meanwhile, and prints for each result the machine's busy
# cores and CPU-µs per operation over the 20 s before the result line (the
# measured phase with the default DURATION), next to loadgen's own share.
# peers.sh writes into BENCH_DIR; copy it somewhere writable first if need be.
set -euo pipefail
bench=$(cd "${1:-$(dirname "$0")/../../shared/bench}" && pwd)
work=$(mktemp -d)
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# epoch-seconds busy-jiffies total-jiffies, every 0.5 s
(while :; do
  read -r _ u n s i w irq sirq st _ </proc/stat
  echo "$(date +%s.%N) $((u + n + s + irq + sirq + st)) $((u + n + s + i + w + irq + sirq + st))"
  sleep 0.5
done) >"$work/cpu" &
sampler=$!

(cd "$bench" && ./peers.sh) 2>&1 | tee "$work/peers"
duration=${DURATION:-20}
hz=$(getconf CLK_TCK)
day=$(date -u +%F)

echo
echo "| target | ops/s | machine busy (cores) | machine CPU-µs/op | loadgen CPU-µs/op |"
echo "|---|---:|---:|---:|---:|"
# Result lines look like: [peers HH:MM:SS] NAME: {"target":...,"ops_per_sec":...}
grep -E '^\[peers [0-9:]+\] .*: \{"target"' "$work/peers" | while read -r line; do
  at=$(date -u -d "$day $(sed -E 's/^\[peers ([0-9:]+)\].*/\1/' <<<"$line")" +%s)
  json=${line#*: }
  target=$(sed -E 's/.*"target":"([^"]*)".*/\1/; s/\\u0026/\&/g' <<<"$json")
  ops=$(sed -E 's/.*"ops_per_sec":([0-9.]+).*/\1/' <<<"$json")
  client=$(sed -E 's/.*"client_cpu_cores":([0-9.]+).*/\1/' <<<"$json")
  awk -v from=$((at - duration - 1)) -v to=$((at - 1)) -v hz="$hz" -v ops="$ops" \
    -v client="$client" -v target="$target" '
    $1 >= from && first == "" { first = $1; b0 = $2 }
    $1 <= to { last = $1; b1 = $2 }
    END {
      if (first == "" || last <= first || ops == 0) { printf "| %s | %.0f | - | - | - |\n", target, ops; exit }
      cores = (b1 - b0) / hz / (last - first)
      printf "| %s | %.0f | %.2f | %.1f | %.1f |\n", target, ops, cores, cores * 1e6 / ops, client * 1e6 / ops
    }' "$work/cpu"
done
