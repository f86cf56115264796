#!/usr/bin/env bash
# Times the staff console's pages on a loaded registry. See docs/BENCHMARKS.md.
#
#   bench/console.sh [sqlite|postgres] [N]      (default: postgres 1000000)
#
# Builds the release binary (unless NO_BUILD=1), loads N demo subjects into a
# fresh database, starts livecredit on it and runs bench/console.py, which
# signs in through the console's forms and times every page one request at a
# time. The output (and the demo-data summary) goes to
# bench/results/<UTC time>-console-<backend>-<N>/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
BACKEND="${1:-postgres}"
N="${2:-1000000}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/livecredit"
PASSWORD="bench-password-123456"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$ROOT/bench/results/$STAMP-console-$BACKEND-$N"
WORK=$(mktemp -d)
mkdir -p "$OUT"
log() { printf '== %s\n' "$*" >&2; }

server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "${PGDB:-}" ] && dropdb -h 127.0.0.1 -U postgres --if-exists "$PGDB"
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ "${NO_BUILD:-0}" != 1 ]]; then
  CARGO_TARGET_DIR="$TARGET" cargo build --release --bin livecredit
fi
case "$BACKEND" in
  sqlite) DB_URL="sqlite://$WORK/console.db" ;;
  postgres)
    PGDB="lc_console_$$"
    createdb -h 127.0.0.1 -U postgres -T template0 -E UTF8 --lc-collate=C.UTF-8 --lc-ctype=C.UTF-8 "$PGDB"
    DB_URL="postgres://postgres@127.0.0.1:5432/$PGDB" ;;
  *) echo "usage: $0 [sqlite|postgres] [N]" >&2; exit 2 ;;
esac
export LIVECREDIT_DATABASE_URL="$DB_URL" LIVECREDIT_DATA_DIR="$WORK/data"

log "demo-data --subjects $N ($BACKEND)"
printf '%s\n' "$PASSWORD" | RUST_LOG=warn "$BIN" demo-data --subjects "$N" --password-stdin | tee "$OUT/demo-data.txt" >&2
if [[ "$BACKEND" == postgres ]]; then
  # What autovacuum does to a freshly loaded table in its own time: set the
  # visibility map, so that the name-key lookups are index-only scans. Right
  # after a bulk load, before it has run, a subject search takes ~100 ms.
  log "VACUUM (ANALYZE)"
  psql -qAtX "$DB_URL" -c 'VACUUM (ANALYZE)'
fi
regulators=$(sed -n 's/^ *regulator logins: //p' "$OUT/demo-data.txt" | tr -d ' ')

LIVECREDIT_BIND=127.0.0.1:0 LIVECREDIT_ADMIN_EMAIL=console-bench-admin@example.com \
  LIVECREDIT_ADMIN_PASSWORD="$PASSWORD" LIVECREDIT_COOKIE_SECURE=false \
  LIVECREDIT_RATE_LIMIT_PER_ORG=0 LIVECREDIT_LOG_FORMAT=text RUST_LOG=warn,livecredit::app=info \
  "$BIN" serve 2>"$WORK/server.log" &
server_pid=$!
base=
for _ in $(seq 1 600); do
  base=$(grep -o 'listening on http://[0-9.:]*' "$WORK/server.log" | head -n 1 | sed 's/^listening on //') || true
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$WORK/server.log" >&2; exit 1; }
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo n/a)"
  echo "backend: $BACKEND, subjects: $N"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
} | tee "$OUT/env.txt" >&2
python3 "$HERE/console.py" "$base" console-bench-admin@example.com "$PASSWORD" "$regulators" | tee "$OUT/console.txt"
