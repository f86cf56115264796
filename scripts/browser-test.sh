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
# (screenshots console-*.png). Installs Chromium and playwright-core
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
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

admin_email=admin@example.cn
admin_password='browser test admin passphrase'
log "starting $bin on a fresh database"
# `timeout` too, so the server cannot outlive the test even if this shell is killed.
LIVECREDIT_DATABASE_URL="sqlite://$work/livecredit.db" \
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

status=0
BASE_URL=$base ADMIN_EMAIL=$admin_email ADMIN_PASSWORD=$admin_password \
  SCREENSHOT_DIR="$root/target/browser" \
  timeout 300 node tests/browser/search.mjs || status=$?
if [ "$status" -eq 0 ]; then
  BASE_URL=$base ADMIN_EMAIL=$admin_email ADMIN_PASSWORD=$admin_password \
    DATABASE_PATH="$work/livecredit.db" SCREENSHOT_DIR="$root/target/browser" \
    timeout 300 node tests/browser/portal.mjs || status=$?
fi
if [ "$status" -eq 0 ]; then
  BASE_URL=$base ADMIN_EMAIL=$admin_email ADMIN_PASSWORD=$admin_password \
    SCREENSHOT_DIR="$root/target/browser" \
    timeout 300 node tests/browser/console.mjs || status=$?
fi
if [ "$status" -ne 0 ]; then
  log "browser test failed ($status); server log:"
  tail -n 40 "$work/server.log" >&2
fi
exit "$status"
