#!/usr/bin/env bash
# The release campaign benchmark (issue 9): a campaign to ${TENANTS:-10000} tenants against
# the sandbox with ${LATENCY_MS:-50} ms of latency on every WeChat call and a call rate cap
# of ${RATE:-300} calls a second. It prints:
#   - the wall time from "Start campaign" until every tenant is in WeChat's review, against
#     the bound the rate cap sets (calls made ÷ rate): the target is within 1.2×;
#   - the server's peak resident memory while it ran (target: under 100 MB; the sandbox
#     runs in the same process, so this counts both);
#   - double submissions: AppIDs with more than one submission in the sandbox (target: 0).
#
# Usage: scripts/bench-campaign.sh [sqlite|postgres]
#   TENANTS, LATENCY_MS, RATE (calls a second), CONCURRENCY (submissions at once, 400),
#   SLOTS (jobs one instance runs at once, 32), BENCH_PG_URL, CARGO_TARGET_DIR
#
# From a fresh clone: builds minihost in release, loads demo tenants whose mini programs are
# sandbox accounts that already meet the default template requirements (`minihost
# demo-data --sandbox --ready`), starts the console with its sandbox, gives the platform
# enough audit quota, releases a version as the operator does (draft → template → version)
# and starts the campaign through the operator's form. It counts calls in the sandbox's
# call log and submissions in the sandbox's own record of them.
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
tenants=${TENANTS:-10000}
latency=${LATENCY_MS:-50}
rate=${RATE:-300}
concurrency=${CONCURRENCY:-400}
slots=${SLOTS:-32}
op_email=bench-operator@example.com
op_password=bench-operator-password
# shellcheck source=scripts/bench-lib.sh
. "$root/scripts/bench-lib.sh"
bench_backend "$@"
work=$(mktemp -d)
trap bench_cleanup EXIT

# One number from the benchmark's database.
sql() {
  if [ "$backend" = postgres ]; then
    psql -qtA "$DATABASE_URL" -c "$1"
  else
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
      "${DATABASE_URL#sqlite://}" "$1"
  fi
}

bench_build
bench_fresh_database
export RUST_LOG=${RUST_LOG:-warn} MINIHOST_SANDBOX=on
echo "== loading $tenants demo tenants with ready sandbox mini programs ($backend)"
"$bin" demo-data --tenants "$tenants" --sandbox --ready >/dev/null

bench_start MINIHOST_OPERATOR_EMAIL=$op_email MINIHOST_OPERATOR_PASSWORD=$op_password \
  MINIHOST_REQUIREMENTS_CALLS_PER_MINUTE=0 MINIHOST_JOB_SLOTS="$slots" MINIHOST_JOB_POLL_MS=20 \
  MINIHOST_SANDBOX_PRIVACY_SCAN_SECS=1 MINIHOST_PRIVACY_SCAN_RETRY_SECS=1 MINIHOST_CAMPAIGN_SETTLE_SECS=1

# The operator logs in (a browser's CSRF token and cookie).
jar=$work/cookies
csrf=$(curl -fsS -c "$jar" -b "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "email=$op_email" \
  --data-urlencode "password=$op_password" --data-urlencode "csrf_token=$csrf" "$base/login"
# A login starts a new session, with its own token.
csrf=$(curl -fsS -b "$jar" "$base/operator/campaigns" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
[ -n "$csrf" ] || { echo "the operator could not log in" >&2; exit 1; }
post() { # post PATH [curl args]: a form POST as the operator; prints the Location answered
  local path=$1; shift
  curl -sS -o /dev/null -D "$work/post.headers" -b "$jar" -c "$jar" --data-urlencode "csrf_token=$csrf" "$@" "$base$path"
  tr -d '\r' <"$work/post.headers" | awk 'tolower($1) == "location:" {print $2}'
}
# The first ticket must have arrived before the console can get tokens.
for _ in $(seq 1 100); do
  [ "$(sql "SELECT COUNT(*) FROM platform_credentials WHERE name = 'component_verify_ticket'")" != 0 ] && break
  sleep 0.2
done

# Enough audit quota for every tenant, and the latency on every call (faults count down).
curl -fsS -o /dev/null -H 'Content-Type: application/json' -d '{"rest":100000,"limit":100000}' "$base/sandbox/dev/quota"
draft=$(curl -fsS -H 'Content-Type: application/json' -d '{"user_version":"9.0.0","user_desc":"bench"}' \
  "$base/sandbox/dev/drafts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["draft_id"])')
post "/operator/templates/drafts/$draft/add" >/dev/null
template=$(curl -fsS -b "$jar" "$base/operator/templates" | sed -n 's/.*action="\/operator\/templates\/\([0-9]*\)\/release".*/\1/p' | head -1)
[ -n "$template" ] || { echo "no template to release" >&2; exit 1; }
post "/operator/templates/$template/release" --data-urlencode "version=9.0" --data-urlencode "notes=Benchmark" >/dev/null
faults=$((tenants * 20 / 10000 + 2))
for _ in $(seq 1 "$faults"); do
  curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"endpoint\":\"*\",\"kind\":\"latency\",\"value\":$latency,\"count\":10000}" "$base/sandbox/dev/faults"
done

echo "== campaign to $tenants tenants: $latency ms a call, at most $rate calls a second, $concurrency at once"
since=$(date +%s)
started=$(date +%s.%N)
location=$(post /operator/campaigns --data-urlencode target=all --data-urlencode canary= \
  --data-urlencode after_canary=wait --data-urlencode "concurrency=$concurrency" \
  --data-urlencode "calls_per_minute=$((rate * 60))")
case $location in /operator/campaigns/*) ;; *) echo "the campaign did not start (answered ${location:-nothing})" >&2; exit 1 ;; esac
peak=0
threads=0
while :; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
  [ "$rss" -gt "$peak" ] && peak=$rss
  t=$(awk '/^Threads:/ {print $2}' "/proc/$server_pid/status")
  [ "$t" -gt "$threads" ] && threads=$t
  submitted=$(sql "SELECT COUNT(*) FROM sandbox_code_audits")
  stopped=$(sql "SELECT COUNT(*) FROM releases WHERE stage = 'submit_failed'")
  [ $((submitted + stopped)) -ge "$tenants" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "the server stopped" >&2; tail -20 "$work/server.log" >&2; exit 1; }
  sleep 1
done
ended=$(date +%s.%N)
calls=$(sql "SELECT COUNT(*) FROM sandbox_calls WHERE at >= $since")
doubles=$(sql "SELECT COUNT(*) FROM (SELECT appid FROM sandbox_code_audits GROUP BY appid HAVING COUNT(*) > 1) d")
not_submitted=$(sql "SELECT COUNT(*) FROM releases WHERE stage = 'submit_failed'")
python3 - "$started" "$ended" "$calls" "$rate" "$peak" "$doubles" "$tenants" "$not_submitted" "$threads" <<'PY'
import sys
started, ended, calls, rate, peak, doubles, tenants, failed, threads = sys.argv[1:10]
wall = float(ended) - float(started)
bound = int(calls) / int(rate)
print(f"   {tenants} tenants in review in {wall:.1f} s; {calls} WeChat calls ({int(calls) / int(tenants):.1f} a tenant)")
print(f"   the rate cap's bound: {calls} ÷ {rate}/s = {bound:.1f} s; wall ÷ bound = {wall / bound:.3f} (target: at most 1.2)")
print(f"   peak resident memory: {int(peak) / 1024:.1f} MB (target: under 100 MB), at most {threads} threads")
print(f"   double submissions: {doubles} (target: 0); submissions that stopped before review: {failed}")
ok = wall <= 1.2 * bound and int(peak) < 100 * 1024 and int(doubles) == 0
sys.exit(0 if ok else "a target was missed")
PY
