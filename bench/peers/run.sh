#!/usr/bin/env bash
# Runs the same `roster bench` scenarios against Roster (SQLite and
# PostgreSQL), Better Auth's SCIM plugin (PostgreSQL) and a scimmy server
# (in-memory Map), one server at a time, and writes
# bench/peers/results/<date>.json plus a markdown table on stdout.
#
# Needs: go, node >= 18 with npm, psql, and PostgreSQL at $PGURL_BASE
# (default postgres://postgres@127.0.0.1:5432, trust auth). Every server
# listens on 127.0.0.1 and is stopped on exit.
#
#   bash bench/peers/run.sh                  # everything
#   SERVERS="roster-sqlite scimmy" bash bench/peers/run.sh
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
PGURL_BASE=${PGURL_BASE:-postgres://postgres@127.0.0.1:5432}
SERVERS=${SERVERS:-"roster-sqlite roster-postgres better-auth scimmy"}
TOKEN=${TOKEN:-peer-bench-token-0123456789abcdef0123456789}
DURATION=${DURATION:-2m}
date=$(date -u +%Y-%m-%d)
work=$(mktemp -d /tmp/roster-peers.XXXXXX)
out="$here/results/$date.json"
mkdir -p "$here/results"

# The scenarios: name and `roster bench` flags.
scenarios=(
  "create-users|--n 5000 --concurrency 16"
  "lookup|--n 5000 --concurrency 8 --seed 1000"
  "patch-users|--n 3000 --concurrency 8 --seed 500"
  "list|--n 500 --concurrency 4 --seed 1000"
  "entra-cycle|--n 1000 --concurrency 8"
)

pids=()
dbs=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  for d in "${dbs[@]:-}"; do [ -n "$d" ] && psql "$PGURL_BASE/postgres" -qc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fresh_db() { # fresh_db NAME: (re)create a PostgreSQL database, dropped on exit
  psql "$PGURL_BASE/postgres" -qc "DROP DATABASE IF EXISTS $1" >/dev/null
  psql "$PGURL_BASE/postgres" -qc "CREATE DATABASE $1" >/dev/null
  dbs+=("$1")
}

wait_ready() { # wait_ready URL: GET URL/Users until 200, at most 60 s
  for _ in $(seq 120); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$1/Users?count=1")" = 200 ]; then return 0; fi
    sleep 0.5
  done
  echo "server at $1 did not become ready" >&2; return 1
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

echo "== install" >&2
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
(cd "$repo" && go build -o "$work/roster" ./cmd/roster) >&2

records="$work/records.jsonl"
: > "$records"

bench() { # bench SERVER URL: every scenario against one server
  local server=$1 url=$2 s name flags rc
  for s in "${scenarios[@]}"; do
    name=${s%%|*}; flags=${s#*|}
    echo "== $server $name" >&2
    rc=0
    # shellcheck disable=SC2086
    "$work/roster" bench --url "$url" --token "$TOKEN" --scenario "$name" $flags \
      --duration "$DURATION" -o json >"$work/out.json" 2>"$work/err.txt" || rc=$?
    node -e '
      const fs = require("fs");
      const [server, scenario, flags, rc, outF, errF] = process.argv.slice(1);
      const out = fs.readFileSync(outF, "utf8").trim();
      const rec = { server, scenario, flags, exit: Number(rc) };
      if (out) rec.report = JSON.parse(out);
      const err = fs.readFileSync(errF, "utf8").trim();
      if (err) rec.stderr = err;
      fs.appendFileSync(process.argv[7], JSON.stringify(rec) + "\n");
      console.error(JSON.stringify(rec));
    ' "$server" "$name" "$flags" "$rc" "$work/out.json" "$work/err.txt" "$records"
  done
}

start_roster() { # start_roster DB PORT
  ROSTER_BOOTSTRAP_TOKEN=$TOKEN "$work/roster" serve --db "$1" --addr "127.0.0.1:$2" >"$work/roster-$2.log" 2>&1 &
  pids+=($!); pid=$!
}

for server in $SERVERS; do
  case $server in
    roster-sqlite)
      start_roster "$work/roster.db" 8091
      url=http://127.0.0.1:8091/scim/v2/default ;;
    roster-postgres)
      fresh_db peers_roster
      start_roster "$PGURL_BASE/peers_roster?sslmode=disable" 8094
      url=http://127.0.0.1:8094/scim/v2/default ;;
    better-auth)
      fresh_db peers_betterauth
      PORT=8092 SCIM_TOKEN=$TOKEN DATABASE_URL="$PGURL_BASE/peers_betterauth" \
        node "$here/betterauth-server.mjs" >"$work/better-auth.log" 2>&1 &
      pids+=($!); pid=$!
      url=http://127.0.0.1:8092/api/auth/scim/v2 ;;
    scimmy)
      PORT=8093 SCIM_TOKEN=$TOKEN node "$here/scimmy-server.mjs" >"$work/scimmy.log" 2>&1 &
      pids+=($!); pid=$!
      url=http://127.0.0.1:8093/scim/v2 ;;
    *) echo "unknown server $server" >&2; exit 2 ;;
  esac
  wait_ready "$url"
  bench "$server" "$url"
  stop "$pid"
done

node "$here/report.mjs" "$records" "$out" "$(cd "$repo" && git rev-parse --short HEAD)"
echo "results: $out" >&2
