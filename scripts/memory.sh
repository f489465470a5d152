#!/usr/bin/env bash
# Resident memory of one node per number of keys (docs/performance.md).
#
#   scripts/memory.sh [KEYS...]          default: 250000 500000 1000000
#
# Builds dynakv, starts one node (--sync=false, only so that loading is
# fast) with its data in a temporary folder, writes KEYS 1 KiB values with
# `dynakv bench`, forces a garbage collection and prints resident memory,
# the Go heap in use, the row cache and the data folder's size. Extra serve
# flags go in DYNAKV_MEM_FLAGS (e.g. "--row-cache 0"); GOMEMLIMIT is passed
# through. Uses 127.0.0.1:27400-27402.
set -euo pipefail
cd "$(dirname "$0")/.."
keys=("$@")
[ ${#keys[@]} -gt 0 ] || keys=(250000 500000 1000000)
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$work/dynakv" ./cmd/dynakv
# shellcheck disable=SC2086
"$work/dynakv" serve --id m1 --data "$work/data" --http 127.0.0.1:27400 \
  --gossip 127.0.0.1:27401 --rpc 127.0.0.1:27402 --replicas 1 --pprof \
  --sync=false ${DYNAKV_MEM_FLAGS:-} >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf 127.0.0.1:27400/healthz >/dev/null && break; sleep 0.1; done
metric() { curl -s 127.0.0.1:27400/metrics | awk -v m="$1" '$1 == m { printf "%.1f", $2 / 1048576 }'; }
report() {
  curl -s -o /dev/null "127.0.0.1:27400/debug/pprof/heap?gc=1"
  printf 'keys=%-8s resident_mb=%-5s heap_inuse_mb=%-6s row_cache_mb=%-6s data_mb=%s\n' "$1" \
    "$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status")" \
    "$(metric go_memstats_heap_inuse_bytes)" "$(metric dynakv_storage_row_cache_bytes)" \
    "$(du -sm "$work/data" | cut -f1)"
}
report 0
for k in "${keys[@]}"; do
  # --preload writes every key once; the run itself is one more write.
  "$work/dynakv" bench -e 127.0.0.1:27400 --workload write --keys "$k" --preload \
    --ops 1 --concurrency 32 >/dev/null 2>&1
  report "$k"
done
