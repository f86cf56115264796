#!/usr/bin/env bash
# A real-browser test of the public page: starts the debug build on a fresh
# SQLite database (loopback only), then drives Debian's Chromium with
# playwright-core through tests/browser/search.mjs, which seeds a listing
# through the API, searches for it, opens it and saves screenshots to
# target/browser/, then checks that the API docs (/docs, Swagger UI) render
# under their Content-Security-Policy; then tests/browser/portal.mjs, a listed
# anchor in the subject portal from the printed notice to an approved credit
# repair (screenshots portal-*.png); then tests/browser/console.mjs, the staff
# console from the admin's bureau tree through a case taken to publication by
# three officials, a platform's CSV screening and an auditor's verification
# (screenshots console-*.png). With BROWSER_TEST_POSTGRES_URL (a PostgreSQL
# URL whose user may create databases) the console's test runs once more on a
# fresh PostgreSQL database (screenshots in target/browser/postgres/).
# Installs Chromium and playwright-core
# when missing.
#
#   scripts/browser-test.sh        (as root for the apt-get step, if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '== %s\n' "$*" >&2; }

# Chromium, and a font with Han characters (without one the screenshots show boxes).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null)" ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
  log "installing playwright-core (tests/browser/package.json)"
  npm install --no-save --no-audit --no-fund --prefix tests/browser playwright-core
fi

log "cargo build"
cargo build --quiet
target_dir=${CARGO_TARGET_DIR:-$root/target}
bin="$target_dir/debug/livecredit"

work=$(mktemp -d)
server_pid=
pg_db=
cleanup() {
  stop_server
  if [ -n "$pg_db" ]; then
    psql "$BROWSER_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

admin_email=admin@example.cn
admin_password='browser test admin passphrase'

stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}

# Starts the server on the database URL $1 (loopback only) and sets $base.
start_server() {
  log "starting $bin on a fresh database ($1)"
  rm -rf "$work/data" "$work/server.log"
  # `timeout` too, so the server cannot outlive the test even if this shell is killed.
  LIVECREDIT_DATABASE_URL="$1" \
    LIVECREDIT_DATA_DIR="$work/data" \
    LIVECREDIT_BIND=127.0.0.1:0 \
    LIVECREDIT_ADMIN_EMAIL=$admin_email \
    LIVECREDIT_ADMIN_PASSWORD=$admin_password \
    LIVECREDIT_LOG_FORMAT=text \
    LIVECREDIT_PUBLIC_RATE_LIMIT=0 LIVECREDIT_PUBLIC_ID_QUERIES_PER_HOUR=0 \
    LIVECREDIT_COOKIE_SECURE=false \
    RUST_LOG=info \
    timeout 660 "$bin" serve 2>"$work/server.log" &
  server_pid=$!
  base=
  for _ in $(seq 1 600); do
    base=$(grep -o 'listening on http://[0-9.:]*' "$work/server.log" | head -n 1 | sed 's/^listening on //') || true
    [ -n "$base" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$base" ]; then
    log "the server did not start:"
    cat "$work/server.log" >&2
    exit 1
  fi
  case "$base" in
    http://127.0.0.1:*) ;;
    *) log "refusing a non-loopback address: $base"; exit 1 ;;
  esac
  log "server at $base"
}

# node tests/browser/$1 against the running server.
run_test() {
  BASE_URL=$base ADMIN_EMAIL=$admin_email ADMIN_PASSWORD=$admin_password \
    DATABASE_PATH="$work/livecredit.db" SCREENSHOT_DIR="$root/target/browser${2:-}" \
    timeout 300 node "tests/browser/$1"
}

status=0
start_server "sqlite://$work/livecredit.db"
for test in search.mjs portal.mjs console.mjs; do
  run_test "$test" || { status=$?; break; }
done
if [ "$status" -eq 0 ] && [ -n "${BROWSER_TEST_POSTGRES_URL:-}" ]; then
  # The console's flow once more, on PostgreSQL (a database of its own).
  stop_server
  pg_db="livecredit_browser_$$"
  psql "$BROWSER_TEST_POSTGRES_URL" -qc "CREATE DATABASE $pg_db TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'" >/dev/null
  start_server "${BROWSER_TEST_POSTGRES_URL%/*}/$pg_db"
  run_test console.mjs /postgres || status=$?
fi
if [ "$status" -ne 0 ]; then
  log "browser test failed ($status); server log:"
  tail -n 40 "$work/server.log" >&2
fi
exit "$status"
