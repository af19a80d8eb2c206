#!/usr/bin/env bash
# Issue 15's CPU-per-request measurement: each given `roster` binary serves
# a fresh SQLite file on 127.0.0.1, and `roster bench --server-pid` sends it
# 5,000 Entra-shaped creates at concurrency 32, then 2,000 eq lookups from
# one client (the lookup scenario first seeds 1,000 more users, unmeasured).
# With several binaries the rounds are interleaved (A B A B …), so that the
# builds share the machine's load alike. One line per round and scenario:
#
#   bash bench/cpu/run.sh /tmp/roster-old /tmp/roster-new
#   ROUNDS=5 BENCH=/tmp/roster-new bash bench/cpu/run.sh /tmp/roster-old
#
# BENCH is the binary that runs `roster bench` (default: the last one given);
# it must have --server-pid. Linux only (/proc/PID/stat); needs jq.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 ROSTER_BINARY..." >&2; exit 2; }
BENCH=${BENCH:-${!#}}
ROUNDS=${ROUNDS:-3}
CREATES=${CREATES:-5000}
LOOKUPS=${LOOKUPS:-2000}
export ROSTER_BOOTSTRAP_TOKEN=cpu-bench-token-0123456789-0123456789abcdef
work=$(mktemp -d /tmp/roster-cpu.XXXXXX)
pid=""
stop() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}
trap 'stop; rm -rf "$work"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for bin in "$@"; do
    log="$work/serve.log"
    rm -f "$work/bench.db"*
    "$bin" serve --addr 127.0.0.1:0 --db "$work/bench.db" --log-level warn >"$log" 2>&1 &
    pid=$!
    url=""
    for _ in $(seq 1 100); do
      url=$(sed -n 's/^Tenant URL: //p' "$log" | head -n1)
      [ -n "$url" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$url" ] || { echo "$bin serve did not start:"; cat "$log"; exit 1; }
    b=("$BENCH" bench --url "$url" --token "$ROSTER_BOOTSTRAP_TOKEN" --server-pid "$pid" -o json)
    "${b[@]}" --scenario create-users --n "$CREATES" --concurrency 32 >"$work/create.json"
    "${b[@]}" --scenario lookup --n "$LOOKUPS" --concurrency 1 --seed 1000 >"$work/lookup.json"
    for s in create lookup; do
      jq -r --arg bin "$bin" --arg r "$r" '"round \($r) \($bin) \(.scenario): \(.requests) in \(.elapsed_ns/1e6|floor) ms = \(.per_second|floor)/s, p50 \(.p50_ns/1000|floor) µs, p99 \(.p99_ns/1000|floor) µs, server CPU \(.server_cpu.us_per_request|floor) µs/request, errors \(.errors // {} | tojson)"' "$work/$s.json"
    done
    stop
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
