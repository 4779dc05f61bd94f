# Shared by the benchmark scripts (sourced, not run): build minihost in release, make a
# fresh database, start and stop the server on a free port, log in as a browser does.
# Callers set root (the repository) and work (a temporary folder), and call
# bench_backend "$@" for backend (sqlite|postgres).

pg_server=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
pg_db=minihost_bench
server_pid=

# The backend from the script's first argument (sqlite when none).
bench_backend() {
  backend=${1:-sqlite}
  case $backend in
    sqlite | postgres) ;;
    *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
  esac
}

bench_build() {
  local features=()
  [ "$backend" = postgres ] && features=(--features postgres)
  echo "== building minihost (release${features[*]:+, ${features[*]}})"
  if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    # A target directory shared by several checkouts holds one minihost artifact for all of
    # them, and cargo judges it fresh by modification time: make it rebuild this checkout's code.
    touch "$root/src/lib.rs" "$root/src/main.rs"
  fi
  cargo build --release --quiet ${features[@]+"${features[@]}"} --manifest-path "$root/Cargo.toml"
  # A copy, so another build in the same target directory cannot replace it while it runs.
  bin=$work/minihost
  cp "${CARGO_TARGET_DIR:-$root/target}/release/minihost" "$bin"
}

bench_stop() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}

bench_cleanup() {
  bench_stop
  if [ "$backend" = postgres ]; then
    psql -q "$pg_server/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}

# A fresh, empty database for $backend; exports DATABASE_URL and MINIHOST_DATA_DIR.
bench_fresh_database() {
  if [ "$backend" = postgres ]; then
    PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 "$pg_server/postgres" \
      -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" -c "CREATE DATABASE $pg_db" >/dev/null
    export DATABASE_URL=$pg_server/$pg_db
  else
    export DATABASE_URL=sqlite://$work/minihost.db
  fi
  export MINIHOST_DATA_DIR=$work/data
}

# Starts `minihost serve` on a free port (extra environment as arguments: NAME=value ...);
# sets base and server_pid, and waits for /healthz.
bench_start() {
  local port= candidate
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 20000))
    # Nothing answers on it (bash's /dev/tcp; no other tool needed).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
  done
  [ -n "$port" ] || { echo "no free port found" >&2; exit 1; }
  base=http://127.0.0.1:$port
  env "$@" MINIHOST_BIND="127.0.0.1:$port" MINIHOST_PUBLIC_URL="$base" "$bin" serve >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "minihost serve stopped:" >&2; cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  curl -fs "$base/healthz" >/dev/null || { echo "minihost did not answer /healthz" >&2; cat "$work/server.log" >&2; exit 1; }
}

# Logs in as a browser would (the form's CSRF token and the cookie, then the POST); sets
# jar (curl's cookie file), cookie (the session cookie) and tenant_id.
bench_login() {
  local email=$1 password=$2 csrf status location
  jar=$work/cookies
  rm -f "$jar"
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
}
