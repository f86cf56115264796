#!/usr/bin/env bash
# Measures what the closing notes of the screening and publication work
# report, on one backend, at N subjects (default 100,000):
#   - identifier screening (USCC or platform account) and name screening:
#     p50/p99 with one client (wrk -c1), and identifier throughput at 64 connections;
#   - a batch of 1,000 identifiers and of 1,000 names (median of 5);
#   - export of ACTIVE_TOTAL active entries (default 100,000) as CSV and NDJSON:
#     time and the server's resident-memory growth.
# To reach 100,000 active entries at 100,000 subjects, listings are added with
# SQL after demo-data (plain active listings: public fields only matter here).
#
#   bench/measure.sh sqlite|postgres [N]
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"; subjects="${2:-100000}"; active_total="${ACTIVE_TOTAL:-100000}"
bin=target/release/livecredit
[ -x "$bin" ] || cargo build --release
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
work=$(mktemp -d); pid=""; pgdb=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; [ -n "$pgdb" ] && dropdb -h 127.0.0.1 -U postgres --if-exists "$pgdb"; rm -rf "$work"; }
trap cleanup EXIT
case "$backend" in
  sqlite) url="sqlite://$work/bench.db"; sql() { sqlite3 "$work/bench.db" "$1"; } ;;
  postgres) pgdb="lc_measure_$$"; createdb -h 127.0.0.1 -U postgres -T template0 -E UTF8 --lc-collate=C.UTF-8 --lc-ctype=C.UTF-8 "$pgdb"
            url="postgres://postgres@127.0.0.1:5432/$pgdb"; sql() { psql -qAt "$url" -c "$1"; } ;;
esac
export LIVECREDIT_DATABASE_URL="$url" LIVECREDIT_DATA_DIR="$work/data" RUST_LOG=warn
echo "== demo-data: $subjects subjects on $backend"
/usr/bin/time -f "%e s, peak %M KiB" "$bin" demo-data --subjects "$subjects" > "$work/demo.txt"
have=$(sql "SELECT count(*) FROM listings WHERE status = 'listed' AND expires_on > '2026-12-01'")
need=$((active_total - have))
if [ "$need" -gt 0 ]; then
  echo "== adding $need active listings with SQL (demo-data made $have)"
  sql "INSERT INTO listings (id, subject_id, status, reason, legal_basis, proposed_by, authority_id, listed_on, expires_on, created_at, updated_at)
       SELECT 'bench-' || s.id, s.id, 'listed', '直播间虚假宣传（基准测试）', '《反不正当竞争法》第八条', NULL,
              (SELECT id FROM organizations ORDER BY id LIMIT 1), '2026-06-09', '2029-06-09', '2026-06-09 00:00:00', '2026-06-09 00:00:00'
       FROM subjects s WHERE NOT EXISTS (SELECT 1 FROM listings l WHERE l.subject_id = s.id AND l.status = 'listed')
       ORDER BY s.id LIMIT $need"
  sql "UPDATE publication_state SET counter = counter + $need"
fi
echo "active entries: $(sql "SELECT count(*) FROM listings WHERE status = 'listed' AND expires_on > '2026-12-01'")"
# Query material: USCCs and account handles (public), and names, of listed and unlisted subjects.
sql "SELECT uscc FROM subjects WHERE uscc IS NOT NULL ORDER BY id LIMIT 2000" > "$work/usccs.txt"
sql "SELECT platform || ' ' || handle FROM subject_accounts ORDER BY subject_id LIMIT 2000" > "$work/accounts.txt"
sql "SELECT name FROM subjects ORDER BY id LIMIT 2000" > "$work/names.txt"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LIVECREDIT_BIND=127.0.0.1:$port LIVECREDIT_ADMIN_EMAIL=bench@example.cn LIVECREDIT_ADMIN_PASSWORD='bench password 123' LIVECREDIT_RATE_LIMIT_PER_ORG=0 \
  "$bin" serve 2> "$work/server.log" & pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
post() { curl -sf "$base$1" -H 'content-type: application/json' ${3:+-H "authorization: Bearer $3"} -d "$2"; }
admin=$(post /v1/auth/login '{"email":"bench@example.cn","password":"bench password 123"}' | jq -r .access_token)
org=$(post /v1/organizations '{"name":"bench platform","kind":"platform"}' "$admin" | jq -r .id)
post /v1/users "{\"email\":\"p@example.cn\",\"password\":\"bench password 123\",\"role\":\"platform\",\"organization_id\":\"$org\"}" "$admin" >/dev/null
token=$(post /v1/auth/login '{"email":"p@example.cn","password":"bench password 123"}' | jq -r .access_token)

# wrk script: rotate through bodies built from a file (one body per line).
python3 - "$work" <<'PY'
import json, sys, os
w = sys.argv[1]
def lines(f): return [l.rstrip("\n") for l in open(os.path.join(w, f)) if l.strip()]
ids = [json.dumps({"uscc": u}) for u in lines("usccs.txt")] + [json.dumps({"accounts": [{"platform": p.split(" ", 1)[0], "handle": p.split(" ", 1)[1]}]}) for p in lines("accounts.txt")]
names = [json.dumps({"name": n}, ensure_ascii=False) for n in lines("names.txt")]
open(os.path.join(w, "ids.bodies"), "w").write("\n".join(ids) + "\n")
open(os.path.join(w, "names.bodies"), "w").write("\n".join(names) + "\n")
items = lambda bodies: json.dumps({"items": [json.loads(b) for b in (bodies * 2)[:1000]]}, ensure_ascii=False)
open(os.path.join(w, "batch-ids.json"), "w").write(items(ids))
open(os.path.join(w, "batch-names.json"), "w").write(items(names))
PY
cat > "$work/rotate.lua" <<'LUA'
local bodies = {}
local i = 0
function init(args) for line in io.lines(args[1]) do bodies[#bodies + 1] = line end end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/screening", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN")}, bodies[i])
end
LUA
export TOKEN="$token"
wrkrun() { wrk "$@" --latency -s "$work/rotate.lua" "$base" -- "$BODIES" 2>&1 | awk '/Latency Distribution/{f=1} f&&/50%|99%/{printf "%s=%s ", $1, $2} /Requests\/sec/{printf "rps=%s ", $2} /Non-2xx/{printf "NON2XX=%s ", $4} END{print ""}'; }
echo "== screening ($backend, $subjects subjects)"
BODIES="$work/ids.bodies" wrkrun -t1 -c1 -d10s | sed 's/^/identifier, 1 client: /'
BODIES="$work/names.bodies" wrkrun -t1 -c1 -d10s | sed 's/^/name, 1 client: /'
BODIES="$work/ids.bodies" wrkrun -t2 -c64 -d10s | sed 's/^/identifier, 64 connections: /'
for kind in ids names; do
  times=""
  for _ in 1 2 3 4 5; do
    t=$(curl -s -o /dev/null -w '%{time_total}' "$base/v1/screening/batch" -H 'content-type: application/json' -H "authorization: Bearer $token" --data-binary @"$work/batch-$kind.json")
    times="$times $t"
  done
  echo "batch of 1000 $kind (s): $times"
done
echo "== export of $active_total active entries"
rss() { awk '/VmRSS/{print $2}' /proc/$pid/status; }
for format in csv ndjson; do
  before=$(rss)
  peak=$before
  ( while kill -0 $pid 2>/dev/null; do r=$(rss); [ "$r" -gt "$(cat "$work/peak" 2>/dev/null || echo 0)" ] && echo "$r" > "$work/peak"; sleep 0.02; done ) & sampler=$!
  echo 0 > "$work/peak"
  t=$(curl -s -o "$work/export.$format" -w '%{time_total}' "$base/v1/public/blacklist/export?format=$format")
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null || true
  peak=$(cat "$work/peak")
  lines=$(wc -l < "$work/export.$format")
  echo "$format: ${t}s, $(du -h "$work/export.$format" | cut -f1), $lines lines, RSS before ${before} KiB, peak ${peak} KiB, growth $(( (peak - before) / 1024 )) MiB"
done
echo "server RSS after all: $(rss) KiB"
