-- wrk script: POST /v1/auth/login with the bench admin's credentials.
-- Credentials come from the environment (set by run.sh).
local email = os.getenv("LC_EMAIL") or "bench-admin@example.com"
local password = os.getenv("LC_PASSWORD") or "bench-password-123456"

wrk.method = "POST"
wrk.path = "/v1/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', email, password)
