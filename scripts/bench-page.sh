#!/usr/bin/env bash
# The page benchmark (issue 7): the bound "Mini Program" tab of a tenant, with
# ${TENANTS:-10000} demo tenants in the database, against the bare baseline page of
# ../shared/bench/page-vs-baseline.sh, on SQLite or PostgreSQL.
#
# Usage: scripts/bench-page.sh [sqlite|postgres]
#   TENANTS         demo tenants to load (10000)
#   BENCH_SECONDS   seconds per wrk run, passed on to page-vs-baseline.sh (10)
#   BENCH_PG_URL    PostgreSQL server, without a database (postgres://postgres@127.0.0.1:5432);
#                   the database minihost_bench is dropped and created there
#   CARGO_TARGET_DIR  honoured as cargo does
#
# From a fresh clone: builds minihost in release, loads a fresh database, starts the server
# on a free port, logs in as admin-00001@demo.example, checks the tab, measures, stops.
set -euo pipefail

backend=${1:-sqlite}
case $backend in
  sqlite | postgres) ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
shared=$root/../shared/bench
[ -f "$shared/page-vs-baseline.sh" ] || { echo "no $shared/page-vs-baseline.sh (the shared benchmark sits next to the repository)" >&2; exit 1; }
tenants=${TENANTS:-10000}
password=demo-password-1
email=admin-00001@demo.example
appid=$(printf 'wxdemo%012x' 1)
pg_server=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
pg_db=minihost_bench

features=()
[ "$backend" = postgres ] && features=(--features postgres)
echo "== building minihost (release${features[*]:+, ${features[*]}})"
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  # A target directory shared by several checkouts holds one minihost artifact for all of
  # them, and cargo judges it fresh by modification time: make it rebuild this checkout's code.
  touch "$root/src/lib.rs" "$root/src/main.rs"
fi
cargo build --release --quiet ${features[@]+"${features[@]}"} --manifest-path "$root/Cargo.toml"
work=$(mktemp -d)
# A copy, so another build in the same target directory cannot replace it while it runs.
bin=$work/minihost
cp "${CARGO_TARGET_DIR:-$root/target}/release/minihost" "$bin"
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$backend" = postgres ]; then
    psql -q "$pg_server/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$backend" = postgres ]; then
  PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 "$pg_server/postgres" \
    -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" -c "CREATE DATABASE $pg_db" >/dev/null
  export DATABASE_URL=$pg_server/$pg_db
else
  export DATABASE_URL=sqlite://$work/minihost.db
fi
export MINIHOST_DATA_DIR=$work/data RUST_LOG=warn

echo "== loading $tenants demo tenants ($backend)"
"$bin" demo-data --tenants "$tenants" --password "$password"

# A free port: nothing answers on it (bash's /dev/tcp; no other tool needed).
port=
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "no free port found" >&2; exit 1; }
base=http://127.0.0.1:$port
MINIHOST_BIND=127.0.0.1:$port "$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
  curl -fs "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "minihost serve stopped:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fs "$base/healthz" >/dev/null || { echo "minihost did not answer /healthz" >&2; cat "$work/server.log" >&2; exit 1; }

# Log in as a browser would: the form's CSRF token and the cookie, then the POST.
jar=$work/cookies
csrf=$(curl -fsS -c "$jar" -b "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
[ -n "$csrf" ] || { echo "no csrf_token on /login" >&2; exit 1; }
status=$(curl -sS -o /dev/null -D "$work/login.headers" -w '%{http_code}' -c "$jar" -b "$jar" \
  --data-urlencode "email=$email" --data-urlencode "password=$password" --data-urlencode "csrf_token=$csrf" \
  "$base/login")
location=$(tr -d '\r' <"$work/login.headers" | awk 'tolower($1) == "location:" {print $2}')
case $status:$location in
  30[0-9]:*/w/*) tenant_id=${location##*/w/} ;;
  *) echo "login as $email answered $status to ${location:-nowhere} (expected a redirect to /w/{tenant})" >&2; exit 1 ;;
esac
cookie=$(awk '(!/^#/ || /^#HttpOnly_/) && NF >= 7 && $6 == "minihost_session" {print $6 "=" $7}' "$jar" | tail -1)
[ -n "$cookie" ] || { echo "no minihost_session cookie after login" >&2; exit 1; }

url=$base/w/$tenant_id/store/mini-program
code=$(curl -sS -o "$work/tab.html" -w '%{http_code}' -H "Cookie: $cookie" "$url")
[ "$code" = 200 ] || { echo "$url answered $code (expected 200)" >&2; exit 1; }
grep -q "$appid" "$work/tab.html" || { echo "$url does not show the bound AppID $appid" >&2; exit 1; }

echo "== $backend, $tenants tenants: GET /w/{tenant}/store/mini-program against the baseline"
"$shared/page-vs-baseline.sh" "$url" "$cookie"
