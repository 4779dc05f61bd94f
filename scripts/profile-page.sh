#!/usr/bin/env bash
# Where a page's time goes: builds minihost in release with line tables (no LTO, not
# stripped) in its own target directory, loads ${TENANTS:-2000} demo tenants into a fresh
# SQLite database, logs in as the first demo admin, measures the home page, the Mini Program
# tab and the requirements page with wrk, and records the tab under load with perf.
#
# Usage: scripts/profile-page.sh            (needs wrk and perf; prints requests/s and the
#                                            hottest functions, inclusive)
#   PROFILE_TARGET_DIR  where the profiling build goes (/var/cache/minihost/target-prof)
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
export CARGO_TARGET_DIR=${PROFILE_TARGET_DIR:-/var/cache/minihost/target-prof}
export CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_LTO=off
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/minihost
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export DATABASE_URL=sqlite://$work/db.sqlite MINIHOST_DATA_DIR=$work/data RUST_LOG=warn
export MINIHOST_OPERATOR_EMAIL=ops@profile.example MINIHOST_OPERATOR_PASSWORD=operator-password-1
"$bin" demo-data --tenants "${TENANTS:-2000}" --password demo-password-1 >/dev/null
port=$((20000 + RANDOM % 20000)); base=http://127.0.0.1:$port
MINIHOST_BIND=127.0.0.1:$port MINIHOST_PUBLIC_URL=$base "$bin" serve >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
jar=$work/cookies
csrf=$(curl -fsS -c "$jar" -b "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
location=$(curl -sS -o /dev/null -D - -c "$jar" -b "$jar" --data-urlencode "email=admin-00001@demo.example" \
  --data-urlencode "password=demo-password-1" --data-urlencode "csrf_token=$csrf" "$base/login" \
  | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
tenant=${location##*/w/}
cookie=$(awk '$6=="minihost_session"{print "minihost_session="$7}' "$jar")
for path in "/w/$tenant" "/w/$tenant/store/mini-program" "/w/$tenant/store/requirements"; do
  echo "== GET $path"
  wrk -t2 -c8 -d5s -H "Cookie: $cookie" "$base$path" | grep -E "Latency|Requests/sec"
done
echo "== perf, the Mini Program tab under load"
wrk -t2 -c8 -d12s -H "Cookie: $cookie" "$base/w/$tenant/store/mini-program" >/dev/null &
sleep 2
perf record -F 499 -g -p "$pid" -o "$work/perf.data" -- sleep 8 >/dev/null 2>&1
perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
  | grep -v '^#' | grep '%' | awk '{$NF=""; print}' | cut -c1-140 | head -30
