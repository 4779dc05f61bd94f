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

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
shared=$root/../shared/bench
[ -f "$shared/page-vs-baseline.sh" ] || { echo "no $shared/page-vs-baseline.sh (the shared benchmark sits next to the repository)" >&2; exit 1; }
tenants=${TENANTS:-10000}
password=demo-password-1
email=admin-00001@demo.example
appid=$(printf 'wxdemo%012x' 1)
# shellcheck source=scripts/bench-lib.sh
. "$root/scripts/bench-lib.sh"
bench_backend "$@"
work=$(mktemp -d)
trap bench_cleanup EXIT

bench_build
bench_fresh_database
export RUST_LOG=warn
echo "== loading $tenants demo tenants ($backend)"
"$bin" demo-data --tenants "$tenants" --password "$password"
bench_start
bench_login "$email" "$password"

url=$base/w/$tenant_id/store/mini-program
code=$(curl -sS -o "$work/tab.html" -w '%{http_code}' -H "Cookie: $cookie" "$url")
[ "$code" = 200 ] || { echo "$url answered $code (expected 200)" >&2; exit 1; }
grep -q "$appid" "$work/tab.html" || { echo "$url does not show the bound AppID $appid" >&2; exit 1; }

echo "== $backend, $tenants tenants: GET /w/{tenant}/store/mini-program against the baseline"
"$shared/page-vs-baseline.sh" "$url" "$cookie"
