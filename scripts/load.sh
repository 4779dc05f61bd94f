#!/usr/bin/env bash
# Load test (benches/load.rs): 60 s at 64 connections on loopback against a mix of logged-in
# pages, WeChat event pushes and WeChat Pay / Alipay notifications; prints requests/s, p50,
# p99 and errors per kind and fails on any unexpected answer.
#
#   scripts/load.sh            # SQLite
#   scripts/load.sh postgres   # PostgreSQL (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres)
#
# MINIHOST_LOAD_SECONDS and MINIHOST_LOAD_CONNECTIONS change the duration and connections.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
export MINIHOST_LOAD_SECONDS=${MINIHOST_LOAD_SECONDS:-60}
export MINIHOST_LOAD_CONNECTIONS=${MINIHOST_LOAD_CONNECTIONS:-64}
case $backend in
  sqlite) exec cargo bench --bench load ;;
  postgres)
    export MINIHOST_BENCH_DATABASE_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    exec cargo bench --features postgres --bench load ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
