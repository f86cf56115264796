#!/usr/bin/env bash
# Fuzzes every operation of the served OpenAPI document with schemathesis,
# as each role and without a token, against a server on a fresh database.
# Fails on any 5xx, any response that does not conform to the spec, a
# schema-valid request refused or a schema-violating one accepted, and an
# undeclared method answered otherwise than 405 with Allow (every check but
# ignored_auth and missing_required_header; scripts/schemathesis.toml says
# where the document cannot state a rule). Before schemathesis, a loop sends
# NUL, invalid UTF-8, a control character and 5,000 characters to every
# parameter and a NUL to every body field.
#
#   scripts/fuzz-api.sh               # 25 examples per operation and role
#   FUZZ_EXAMPLES=200 scripts/fuzz-api.sh
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES="${FUZZ_EXAMPLES:-25}"
if ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install --quiet schemathesis
fi
cargo build --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/livecredit"
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

password='fuzzing password 12345'
LIVECREDIT_DATABASE_URL="sqlite://$work/fuzz.db" LIVECREDIT_DATA_DIR="$work/data" LIVECREDIT_BIND=127.0.0.1:0 \
  LIVECREDIT_ADMIN_EMAIL=admin@fuzz.test LIVECREDIT_ADMIN_PASSWORD="$password" LIVECREDIT_RATE_LIMIT_PER_ORG=0 \
  LIVECREDIT_PUBLIC_RATE_LIMIT=0 LIVECREDIT_PUBLIC_ID_QUERIES_PER_HOUR=0 RUST_LOG=warn,livecredit=info \
  "$bin" serve 2> "$work/server.log" &
server_pid=$!
base=""
for _ in $(seq 1 100); do
  base=$(grep -o 'listening on http://[0-9.:]*' "$work/server.log" | head -n1 | sed 's/listening on //') || true
  [ -n "$base" ] && break
  sleep 0.2
done
[ -n "$base" ] || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }

post() { curl -sf "$base$1" -H 'content-type: application/json' ${3:+-H "authorization: Bearer $3"} -d "$2"; }
login() { post /v1/auth/login "{\"email\":\"$1\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
admin=$(login admin@fuzz.test)
declare -A tokens=([admin]="$admin")
for role in regulator platform auditor; do
  kind=$role; [ "$role" = auditor ] && kind=consumer_association
  org=$(post /v1/organizations "{\"name\":\"fuzz $role\",\"kind\":\"$kind\"}" "$admin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  post /v1/users "{\"email\":\"$role@fuzz.test\",\"password\":\"$password\",\"role\":\"$role\",\"organization_id\":\"$org\"}" "$admin" > /dev/null
  tokens[$role]=$(login "$role@fuzz.test")
done

status=0
# Hostile bytes schemathesis does not send: a NUL, invalid UTF-8, a control
# character and a 5,000-character value in each path and query parameter, and
# a NUL in each string of a JSON body, as each caller; any 5xx fails.
python3 - "$base" "${tokens[admin]}" "${tokens[regulator]}" "${tokens[platform]}" "${tokens[auditor]}" <<'PY' || status=1
import json, sys, urllib.error, urllib.request, uuid
base, tokens = sys.argv[1], [None] + sys.argv[2:]
doc = json.load(urllib.request.urlopen(base + "/openapi.json"))
def call(method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as res:
            return res.status
    except urllib.error.HTTPError as e:
        return e.code
bad = ["%00", "%C0%AF", "a%1Bb", "x" * 5000]
failures = sent = 0
for template, item in doc["paths"].items():
    for method, op in item.items():
        if method == "post" and template.startswith("/v1/auth/"):
            continue
        params = op.get("parameters", [])
        def path(name=None, value=""):
            out = template
            for p in params:
                if p["in"] == "path":
                    out = out.replace("{%s}" % p["name"], value if p["name"] == name else str(uuid.uuid4()))
            return out
        probes = []
        for p in params:
            for value in bad + (["not-an-id"] if p["in"] == "path" else []):
                if p["in"] == "path":
                    probes.append((path(p["name"], value), None))
                elif p["in"] == "query":
                    probes.append((path() + "?%s=%s" % (p["name"], value), None))
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            probes.append((path(), {"\u0000": "\u0000"}))
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            ref = schema.get("$ref", "").rsplit("/", 1)[-1]
            for name in doc["components"]["schemas"].get(ref, {}).get("properties", {}):
                probes.append((path(), {name: "o\u0000"}))
        for target, body in probes:
            for token in tokens:
                sent += 1
                code = call(method.upper(), target, token, body)
                if code >= 500:
                    failures += 1
                    print("  %d: %s %s %.60s body=%s" % (code, method.upper(), template, target, body))
print("hostile bytes: %d requests, %d server errors" % (sent, failures))
sys.exit(1 if failures else 0)
PY

# Admin last: its fuzzing may disable or demote the other test users.
for who in anonymous regulator platform auditor admin; do
  echo "== fuzzing as $who ($EXAMPLES examples per operation)"
  auth=()
  [ "$who" != anonymous ] && auth=(-H "Authorization: Bearer ${tokens[$who]}")
  # The login endpoints are excluded for authenticated runs: random logins only
  # trip the (correct) throttling, and logging out would end the fuzzing token.
  schemathesis --config-file scripts/schemathesis.toml run "$base/openapi.json" --url "$base" "${auth[@]}" \
    --checks all --exclude-checks ignored_auth,missing_required_header \
    --exclude-path /v1/auth/logout --exclude-path /v1/auth/login --exclude-path /v1/auth/refresh \
    --max-examples "$EXAMPLES" --seed 1 --no-color || status=1
done
if grep -q ' 500 \|panicked' "$work/server.log"; then
  echo "the server logged a 500 or a panic:" >&2
  grep ' 500 \|panicked' "$work/server.log" | head -20 >&2
  status=1
fi
exit $status
