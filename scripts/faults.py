#!/usr/bin/env python3
"""Fault tests for livecredit: scripted, repeatable, bounded in time, loopback only.

    scripts/faults.py kill sqlite|postgres   SIGKILL during a write load; nothing acknowledged is lost
    scripts/faults.py postgres               a private PostgreSQL cluster stopped and restarted under load
    scripts/faults.py shutdown               SIGTERM under load: in-flight requests finish, new ones are refused
    scripts/faults.py connections            2,000 idle and slow connections; others are still served

Each prints what it checked and exits non-zero on the first broken promise.
The PostgreSQL scenarios never touch the machine's shared server: they use a
database of their own (kill) or a private cluster made with initdb (postgres).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "debug", "livecredit")
PASSWORD = "fault testing password 1"
SHARED_PG = os.environ.get("LIVECREDIT_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def ok(message):
    print(f"ok: {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, dict(res.headers), json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")
        return e.code, dict(e.headers), parsed


class Server:
    """One livecredit process on a fixed port."""

    def __init__(self, database_url, workdir, port=None, extra_env=None):
        self.database_url = database_url
        self.workdir = workdir
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env.update({
            "LIVECREDIT_DATABASE_URL": self.database_url,
            "LIVECREDIT_DATA_DIR": os.path.join(self.workdir, "data"),
            "LIVECREDIT_BIND": f"127.0.0.1:{self.port}",
            "LIVECREDIT_ADMIN_EMAIL": "admin@faults.test",
            "LIVECREDIT_ADMIN_PASSWORD": PASSWORD,
            # Limits off: these tests load the server on purpose (scripts/replica.py too).
            "LIVECREDIT_RATE_LIMIT_PER_ORG": "0",
            "LIVECREDIT_PUBLIC_RATE_LIMIT": "0",
            "LIVECREDIT_PUBLIC_ID_QUERIES_PER_HOUR": "0",
            "RUST_LOG": "warn",
        })
        env.update(self.extra_env)
        log = open(os.path.join(self.workdir, f"server-{self.port}.log"), "ab")
        self.proc = subprocess.Popen([BINARY, "serve"], env=env, stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if call(self.base, "GET", "/healthz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                fail(f"the server exited with {self.proc.returncode}; see {log.name}")
            time.sleep(0.1)
        fail("the server did not start within 60 s")

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def setup_actors(base):
    """An admin token, two regulators, a platform and a subject watched by it."""
    admin = call(base, "POST", "/v1/auth/login", {"email": "admin@faults.test", "password": PASSWORD})[2]["access_token"]
    tokens = {}
    for role, kind in [("regulator", "regulator"), ("platform", "platform")]:
        org = call(base, "POST", "/v1/organizations", {"name": f"{role} {uuid.uuid4()}", "kind": kind}, admin)[2]["id"]
        email = f"{role}-{uuid.uuid4().hex[:8]}@faults.test"
        call(base, "POST", "/v1/users", {"email": email, "password": PASSWORD, "role": role, "organization_id": org}, admin)
        tokens[role] = call(base, "POST", "/v1/auth/login", {"email": email, "password": PASSWORD})[2]["access_token"]
    subject = call(base, "POST", "/v1/subjects", {"kind": "anchor", "name": "故障测试"}, tokens["regulator"])[2]["id"]
    status, _, _ = call(base, "POST", "/v1/watchlist", {"subject_id": subject}, tokens["platform"])
    if status != 201:
        fail(f"watching the subject answered {status}")
    return admin, tokens, subject


class WriteLoad:
    """Threads recording violations; remembers every id answered 201 and every status seen."""

    def __init__(self, base, token, subject, threads=4):
        self.base, self.token, self.subject = base, token, subject
        self.acked = []
        self.statuses = {}
        self.bad = []
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            i += 1
            body = {"category": "other", "severity": "minor", "description": f"fault load {i}"}
            try:
                status, headers, reply = call(self.base, "POST", f"/v1/subjects/{self.subject}/violations", body, self.token, timeout=15)
            except OSError:
                status, headers, reply = "refused", {}, None
                time.sleep(0.05)
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 201:
                    self.acked.append(reply["id"])
                elif status == 503 and "Retry-After" not in headers and "retry-after" not in headers:
                    self.bad.append("503 without Retry-After")
                elif isinstance(status, int) and status >= 500 and status != 503:
                    self.bad.append(f"{status}: {reply}")

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=30)


def check_consistency(base, admin, tokens, subject, acked):
    """Every acknowledged write is there, whole: audit entry, event, stored score."""
    reg, platform = tokens["regulator"], tokens["platform"]
    stored = set()
    cursor = ""
    while True:
        status, _, page = call(base, "GET", f"/v1/subjects/{subject}/violations?limit=500{cursor}", token=reg)
        if status != 200:
            fail(f"listing violations answered {status}")
        stored.update(v["id"] for v in page["items"])
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    missing = set(acked) - stored
    if missing:
        fail(f"{len(missing)} acknowledged violations are missing, e.g. {sorted(missing)[:3]}")
    ok(f"all {len(acked)} acknowledged violations are present ({len(stored)} stored)")

    audited = set()
    cursor = ""
    while True:
        _, _, page = call(base, "GET", f"/v1/audit?action=violation.recorded&limit=500{cursor}", token=admin)
        audited.update(e["target_id"] for e in page["items"])
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    if stored - audited:
        fail(f"{len(stored - audited)} stored violations have no audit entry")
    ok("every stored violation has its audit entry")

    evented = set()
    cursor = ""
    while True:
        _, _, page = call(base, "GET", f"/v1/events?limit=500{cursor}", token=platform)
        evented.update(e["data"]["violation_id"] for e in page["items"] if e["type"] == "violation.recorded")
        if not page["items"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    if stored - evented:
        fail(f"{len(stored - evented)} stored violations have no outbox event")
    ok("the outbox holds an event for every stored violation")

    _, _, verdict = call(base, "GET", "/v1/audit/verify", token=admin)
    if not verdict["valid"]:
        fail(f"the audit chain is broken: {verdict}")
    ok(f"the audit chain verifies ({verdict['entries']} entries)")

    _, _, subj = call(base, "GET", f"/v1/subjects/{subject}", token=reg)
    _, _, fresh = call(base, "GET", f"/v1/subjects/{subject}/score", token=reg)
    if (subj["score"], subj["band"]) != (fresh["score"], fresh["band"]):
        fail(f"stored score {subj['score']}/{subj['band']} differs from recomputed {fresh['score']}/{fresh['band']}")
    ok(f"the stored score equals the recomputed one ({subj['score']}, band {subj['band']})")


def fresh_postgres_database():
    name = f"lc_fault_{uuid.uuid4().hex[:12]}"
    admin_url = SHARED_PG
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"], check=True)
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}", lambda: subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


def scenario_kill(backend):
    work = tempfile.mkdtemp(prefix="lc-kill-")
    cleanup = lambda: None
    if backend == "sqlite":
        url = f"sqlite://{work}/kill.db"
    else:
        url, cleanup = fresh_postgres_database()
    server = Server(url, work)
    try:
        server.start()
        admin, tokens, subject = setup_actors(server.base)
        load = WriteLoad(server.base, tokens["regulator"], subject)
        load.start()
        time.sleep(3)
        server.kill(signal.SIGKILL)
        server.wait(10)
        ok(f"SIGKILL sent after {len(load.acked)} acknowledged writes")
        time.sleep(1)
        server.start()
        time.sleep(2)
        load.stop()
        if load.bad:
            fail(f"bad answers during the load: {load.bad[:3]}")
        ok(f"answers during the load: {load.statuses}")
        check_consistency(server.base, admin, tokens, subject, load.acked)
    finally:
        server.stop()
        cleanup()
        shutil.rmtree(work, ignore_errors=True)


def pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: int(v) if v.isdigit() else 0)
    return f"/usr/lib/postgresql/{versions[-1]}/bin/{name}"


def as_postgres_user(args):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + args
    return args


def scenario_postgres():
    work = tempfile.mkdtemp(prefix="lc-pg-")
    os.chmod(work, 0o777)
    datadir = os.path.join(work, "cluster")
    port = free_port()
    pg_ctl = as_postgres_user([pg_bin("pg_ctl"), "-D", datadir, "-o", f"-p {port} -k {work} -c listen_addresses=127.0.0.1", "-l", os.path.join(work, "pg.log"), "-w"])
    subprocess.run(as_postgres_user([pg_bin("initdb"), "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]), check=True, stdout=subprocess.DEVNULL)
    subprocess.run(pg_ctl + ["start"], check=True, stdout=subprocess.DEVNULL)
    server = Server(f"postgres://postgres@127.0.0.1:{port}/postgres", work)
    try:
        server.start()
        admin, tokens, subject = setup_actors(server.base)
        load = WriteLoad(server.base, tokens["regulator"], subject)
        load.start()
        time.sleep(2)
        subprocess.run(pg_ctl + ["stop", "-m", "fast"], check=True, stdout=subprocess.DEVNULL)
        ok("PostgreSQL stopped under load")
        time.sleep(1)
        status, headers, _ = call(server.base, "GET", "/readyz")
        if status != 503 or not any(k.lower() == "retry-after" for k in headers):
            fail(f"/readyz answered {status} {headers} while the database was down")
        ok("/readyz answers 503 with Retry-After while the database is down")
        time.sleep(3)
        down = dict(load.statuses)
        subprocess.run(pg_ctl + ["start"], check=True, stdout=subprocess.DEVNULL)
        back = time.time()
        acked_before = len(load.acked)
        while len(load.acked) == acked_before:
            if time.time() - back > 5:
                fail("no write succeeded within 5 s of PostgreSQL's return")
            time.sleep(0.05)
        ok(f"writes succeed again {time.time() - back:.2f} s after PostgreSQL's return, without a restart")
        time.sleep(1)
        load.stop()
        if load.bad:
            fail(f"bad answers: {load.bad[:3]}")
        if down.get(503, 0) == 0:
            fail(f"no 503 was seen while the database was down: {down}")
        ok(f"answers: {load.statuses} (a 500 was never seen)")
        check_consistency(server.base, admin, tokens, subject, load.acked)
    finally:
        server.stop()
        subprocess.run(pg_ctl + ["stop", "-m", "immediate"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


def scenario_shutdown():
    work = tempfile.mkdtemp(prefix="lc-term-")
    server = Server(f"sqlite://{work}/term.db", work)
    try:
        server.start()
        results = []
        lock = threading.Lock()

        def slow_login():
            # A login costs an Argon2id verification: a request that takes a while.
            try:
                status = call(server.base, "POST", "/v1/auth/login", {"email": "admin@faults.test", "password": PASSWORD}, timeout=30)[0]
            except OSError as e:
                status = f"error: {e}"
            with lock:
                results.append(status)

        threads = [threading.Thread(target=slow_login) for _ in range(16)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        server.kill(signal.SIGTERM)
        for t in threads:
            t.join(timeout=40)
        code = server.wait(35)
        finished = [r for r in results if r == 200]
        if len(finished) != len(results):
            fail(f"requests in flight did not all finish: {results}")
        ok(f"{len(finished)} requests in flight at SIGTERM all finished with 200")
        try:
            call(server.base, "GET", "/healthz", timeout=2)
            fail("a new request was served after shutdown")
        except OSError:
            ok("new connections are refused after shutdown")
        if code != 0:
            fail(f"the server exited with {code}")
        ok("the server exited cleanly (0)")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def scenario_connections():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    work = tempfile.mkdtemp(prefix="lc-conn-")
    server = Server(f"sqlite://{work}/conn.db", work)
    sockets = []
    try:
        server.start()
        for i in range(2000):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            if i % 2:
                s.sendall(b"GET /v1/public/blacklist HTTP/1.1\r\nHost: x\r\n")  # slow: headers never finish
            sockets.append(s)
        ok(f"{len(sockets)} idle or slow connections open")
        started = time.time()
        for _ in range(20):
            status = call(server.base, "GET", "/readyz", timeout=5)[0]
            if status != 200:
                fail(f"/readyz answered {status} with 2,000 connections open")
        elapsed = (time.time() - started) / 20
        if elapsed > 0.5:
            fail(f"a request took {elapsed:.3f} s on average with 2,000 connections open")
        ok(f"other clients are served: {elapsed * 1000:.1f} ms per request with 2,000 connections open")
        time.sleep(12)
        closed = 0
        for s in sockets:
            try:
                s.settimeout(0.01)
                s.recv(1)  # EOF, or a 408 answer before the close: either way the server let go
                closed += 1
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                closed += 1
        if closed < 900:
            fail(f"only {closed} slow or idle connections were closed by the server's timeouts")
        ok(f"the server's timeouts closed {closed} of the slow and idle connections")
    finally:
        for s in sockets:
            s.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    if not os.path.exists(BINARY):
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
    scenario = sys.argv[1]
    print(f"== fault scenario: {' '.join(sys.argv[1:])}", flush=True)
    if scenario == "kill":
        scenario_kill(sys.argv[2] if len(sys.argv) > 2 else "sqlite")
    elif scenario == "postgres":
        scenario_postgres()
    elif scenario == "shutdown":
        scenario_shutdown()
    elif scenario == "connections":
        scenario_connections()
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
