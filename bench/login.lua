-- wrk script used by bench/run.sh: POST /v1/auth/login with one user's
-- credentials, taken from the environment (LC_EMAIL, LC_PASSWORD).
local email = os.getenv("LC_EMAIL") or "bench-login@example.com"
local password = os.getenv("LC_PASSWORD") or "bench-password-123456"

wrk.method = "POST"
wrk.path = "/v1/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', email, password)
