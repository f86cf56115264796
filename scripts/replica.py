#!/usr/bin/env python3
"""Scale-out test: two livecredit instances, a private PostgreSQL primary and
a streaming replica of it, all on loopback, made here and removed afterwards.

    scripts/replica.py

Checks, in order, and exits non-zero at the first broken promise:
  1. a violation and a listing recorded through instance A change screening
     through instance B (which screens on the replica) once replicated;
  2. expiry and webhook deliveries happen once across both instances
     (upkeep every second on both; one webhook receiver counts deliveries);
  3. stopping the replica under a read load costs no request an error:
     reads fall back to the primary, and go back to the replica on its return;
  4. killing instance A with SIGKILL during a write load loses no
     acknowledged write (checked through B: present, audited, in the outbox,
     scores consistent, chain valid);
  5. read throughput (public search, wrk) of one instance on the primary
     alone, then of two instances reading from the replica, in this run.

The clusters are made with initdb and pg_basebackup into a temporary folder
on ports of their own; the machine's shared PostgreSQL is never touched.
"""

import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults import (  # noqa: E402  (the fault scripts' helpers)
    Server, WriteLoad, as_postgres_user, call, check_consistency, fail, free_port, ok,
    pg_bin, setup_actors,
)

# Both instances must share every secret: tokens, identifier hashes and
# snapshot signatures must mean the same whichever instance made them.
SHARED_SECRETS = {
    "LIVECREDIT_JWT_SECRET": "replica-test-jwt-secret-0123456789abcdef",
    "LIVECREDIT_ID_PEPPER": "replica-test-id-pepper-0123456789abcdef",
    "LIVECREDIT_SIGNING_KEY": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "LIVECREDIT_WEBHOOK_ALLOW_PRIVATE": "true",
    "LIVECREDIT_UPKEEP_SECONDS": "1",
}


class Cluster:
    """A private PostgreSQL server: a primary (initdb) or a standby (pg_basebackup)."""

    def __init__(self, work, name):
        self.dir = os.path.join(work, name)
        self.sockets = work
        self.port = free_port()
        self.log = os.path.join(work, f"{name}.log")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args):
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        return subprocess.run(
            as_postgres_user([pg_bin("pg_ctl"), "-D", self.dir, "-o", options, "-l", self.log, "-w", *args]),
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ).returncode

    def init_primary(self):
        subprocess.run(as_postgres_user([pg_bin("initdb"), "-D", self.dir, "-U", "postgres", "--auth=trust",
                                         "-E", "UTF8", "--locale=C.UTF-8"]), check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.dir, "postgresql.conf"), "a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 4\nfsync = on\n")

    def init_standby_of(self, primary):
        subprocess.run(as_postgres_user([pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                                         "-U", "postgres", "-D", self.dir, "-R", "-X", "stream"]), check=True)
        with open(os.path.join(self.dir, "postgresql.conf"), "a") as conf:
            conf.write("hot_standby = on\n")

    def start(self):
        if self.ctl("start") != 0:
            fail(f"PostgreSQL in {self.dir} did not start; see {self.log}")

    def stop(self, mode="fast"):
        self.ctl("stop", "-m", mode)

    def sql(self, statement):
        out = subprocess.run(["psql", self.url, "-qAtc", statement], check=True, capture_output=True, text=True)
        return out.stdout.strip()


class Receiver:
    """A webhook receiver that counts deliveries per event id."""

    def __init__(self):
        self.counts = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                self.rfile.read(length)
                event_id = self.headers.get("x-livecredit-event-id", "?")
                with receiver.lock:
                    receiver.counts[event_id] = receiver.counts.get(event_id, 0) + 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def metric(base, name):
    """Sum of a metric's samples whose labels match `name`'s prefix."""
    import urllib.request
    text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def wait_for(what, check, timeout=15.0, every=0.1):
    started = time.time()
    while time.time() - started < timeout:
        result = check()
        if result:
            return time.time() - started
        time.sleep(every)
    fail(f"{what}: not within {timeout:.0f} s")


ACCOUNT = {"platform": "douyin", "handle": "replica_link_test"}
QUERY = {"name": "复制链路", "accounts": [ACCOUNT]}
UNKNOWN_QUERY = {"name": "无此主体", "accounts": [{"platform": "douyin", "handle": "replica_nobody_here"}]}


def screen(base, token, body):
    status, _, reply = call(base, "POST", "/v1/screening", body, token)
    if status != 200:
        fail(f"screening answered {status}: {reply}")
    return reply


def publish(base, a, b, subject_id):
    """Takes a subject through the procedure to an active listing; returns its id."""
    _, _, violation = call(base, "POST", f"/v1/subjects/{subject_id}/violations",
                           {"category": "false_advertising", "severity": "serious", "decided_on": "2026-06-01",
                            "description": "夸大宣传", "penalty_kinds": ["fine_aggravated"],
                            "listing_ground": "art9.5"}, a)
    status, _, listing = call(base, "POST", "/v1/listings",
                              {"subject_id": subject_id, "violation_ids": [violation["id"]],
                               "reason": "直播间虚假宣传", "legal_basis": "《反不正当竞争法》第八条"}, a)
    if status != 201:
        fail(f"proposing a listing answered {status}: {listing}")
    call(base, "POST", f"/v1/listings/{listing['id']}/notice", {"served_on": "2026-06-01"}, a)
    status, _, decided = call(base, "POST", f"/v1/listings/{listing['id']}/decision",
                              {"outcome": "list", "reason": "r", "decided_on": "2026-06-09"}, b)
    if decided.get("status") != "listed":
        fail(f"the decision answered {status}: {decided}")
    return listing["id"]


def new_user(base, admin, role, org=None):
    """A user of `role` in `org`, or in an organization of its own; returns an access token."""
    import uuid
    if org is None:
        org = call(base, "POST", "/v1/organizations", {"name": f"{role} {uuid.uuid4()}", "kind": role}, admin)[2]["id"]
    email = f"{role}-{uuid.uuid4().hex[:8]}@faults.test"
    call(base, "POST", "/v1/users", {"email": email, "password": "fault testing password 1", "role": role,
                                     "organization_id": org}, admin)
    return call(base, "POST", "/v1/auth/login", {"email": email, "password": "fault testing password 1"})[2]["access_token"]


def check_replication(a, b, tokens, admin):
    reg = tokens["regulator"]
    # The procedure's second official: of the same bureau (Order 44 art. 13).
    bureau = call(a.base, "GET", "/v1/me", None, reg)[2]["organization_id"]
    second = new_user(a.base, admin, "regulator", bureau)
    # A platform user who has written nothing: B serves their reads from the
    # replica (a user who just wrote reads from the primary until the replica
    # has their write).
    platform = new_user(a.base, admin, "platform")
    status, _, subject = call(a.base, "POST", "/v1/subjects", {"kind": "anchor", "name": "复制链路", "accounts": [ACCOUNT]}, reg)
    if status != 201:
        fail(f"creating the subject answered {status}: {subject}")
    subject_id = subject["id"]
    waited = wait_for("the subject created through A reaching screening through B",
                      lambda: screen(b.base, platform, QUERY)["matches"])
    first = screen(b.base, platform, QUERY)
    ok(f"a subject created through A is screened through B after {waited * 1000:.0f} ms "
       f"(band {first['matches'][0]['band']}, list version {first['list_version']})")

    # A violation recorded through A lowers the score B's screening shows.
    status, _, reply = call(a.base, "POST", f"/v1/subjects/{subject_id}/violations",
                            {"category": "price_fraud", "severity": "serious", "decided_on": "2026-11-01",
                             "description": "虚构原价"}, reg)
    if status != 201:
        fail(f"recording a violation answered {status}: {reply}")
    before = first["matches"][0]["score"]
    waited = wait_for("a violation recorded through A changing B's screening",
                      lambda: screen(b.base, platform, QUERY)["matches"][0]["score"] != before)
    now = screen(b.base, platform, QUERY)["matches"][0]
    ok(f"a violation recorded through A changed screening through B after {waited * 1000:.0f} ms "
       f"(score {before} → {now['score']}, band {now['band']})")

    # A listing published through A turns B's answer to "hit", at a newer list version.
    listing = publish(a.base, reg, second, subject_id)
    waited = wait_for("a listing published through A reaching B's screening",
                      lambda: screen(b.base, platform, QUERY)["matches"][0]["active_listings"])
    after = screen(b.base, platform, QUERY)
    if after["list_version"] <= first["list_version"]:
        fail(f"the list version did not move: {first['list_version']} → {after['list_version']}")
    ok(f"a listing published through A shows in B's screening after {waited * 1000:.0f} ms "
       f"(decision {after['decision']}, list version {first['list_version']} → {after['list_version']})")
    served = metric(b.base, 'livecredit_replica_routed_reads_total{server="127.0.0.1')
    if served <= 0:
        fail("instance B served no read from the replica")
    ok(f"B's replica served {served:.0f} reads")
    return subject_id, listing, second


def check_once(primary, a, b, tokens, subject_id, listing, receiver):
    reg, platform = tokens["regulator"], tokens["platform"]
    status, _, hook = call(b.base, "POST", "/v1/webhooks", {"url": receiver.url}, platform)
    if status != 201:
        fail(f"creating the webhook answered {status}: {hook}")
    status, _, _ = call(a.base, "POST", "/v1/watchlist", {"subject_id": subject_id}, platform)
    if status not in (201, 409):
        fail(f"watching answered {status}")
    for i in range(10):
        call(a.base if i % 2 else b.base, "POST", f"/v1/subjects/{subject_id}/violations",
             {"category": "other", "severity": "minor", "description": f"once {i}"}, reg)
    # Let the listing fall due: both instances' upkeep (every second) race to record it.
    primary.sql(f"UPDATE listings SET expires_on = CURRENT_DATE - 1 WHERE id = '{listing}'")
    wait_for("the expiry being recorded",
             lambda: primary.sql(f"SELECT count(*) FROM events WHERE listing_id = '{listing}' AND event_type = 'listing.expired'") != "0")
    expected = int(primary.sql(
        f"SELECT count(*) FROM events WHERE subject_id = '{subject_id}' AND seq > "
        f"(SELECT since_seq FROM watchlist WHERE subject_id = '{subject_id}' LIMIT 1)"))
    wait_for(f"{expected} webhook deliveries", lambda: len(receiver.counts) >= expected, timeout=30)
    time.sleep(3)  # both instances have had time to deliver twice, if they would
    expiries = primary.sql(f"SELECT count(*) FROM listing_history WHERE listing_id = '{listing}' AND to_status = 'expired'")
    events = primary.sql(f"SELECT count(*) FROM events WHERE listing_id = '{listing}' AND event_type = 'listing.expired'")
    if (expiries, events) != ("1", "1"):
        fail(f"the expiry was recorded {expiries} times with {events} events")
    ok("the expiry was recorded once (one history row, one event) with upkeep running on both instances")
    twice = {k: v for k, v in receiver.counts.items() if v != 1}
    if twice:
        fail(f"events delivered more than once: {twice}")
    ok(f"{len(receiver.counts)} webhook deliveries, each event exactly once across both instances")


def check_replica_failover(replica, b, tokens):
    platform = tokens["platform"]
    statuses, bad, stop = {}, [], threading.Event()
    lock = threading.Lock()

    def reads():
        while not stop.is_set():
            # Screening and the public search answer from the index; an account the index
            # does not hold and the change feed are read from the database (the replica).
            for method, path, body in (("POST", "/v1/screening", QUERY),
                                       ("POST", "/v1/screening", UNKNOWN_QUERY),
                                       ("GET", "/v1/public/changes", None),
                                       ("GET", "/v1/public/blacklist?q=" + urllib.parse.quote("复制链路"), None)):
                try:
                    status = call(b.base, method, path, body, platform if body else None, timeout=10)[0]
                except OSError as e:
                    status = f"error {e}"
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != 200:
                        bad.append(status)

    threads = [threading.Thread(target=reads, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1)
    replica.stop("immediate")
    ok("the replica was stopped (immediate) under a read load on B")
    time.sleep(3)
    primary_before = metric(b.base, 'livecredit_replica_routed_reads_total{server="primary"}')
    time.sleep(1)
    if metric(b.base, 'livecredit_replica_routed_reads_total{server="primary"}') <= primary_before:
        fail("B did not fall back to the primary")
    replica.start()
    waited = wait_for("B reading from the replica again",
                      lambda: metric(b.base, "livecredit_replica_up{") == 1.0, timeout=20)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(timeout=15)
    if bad:
        fail(f"{len(bad)} reads failed while the replica was down: {bad[:5]} (all answers {statuses})")
    ok(f"no read failed while the replica was down (answers {statuses}); "
       f"B used the replica again {waited:.1f} s after its return")


def check_kill(a, b, admin, tokens):
    _, _, subject = call(a.base, "POST", "/v1/subjects", {"kind": "anchor", "name": "强杀测试"}, tokens["regulator"])
    # The outbox check reads the platform's event feed: watch the subject.
    call(b.base, "POST", "/v1/watchlist", {"subject_id": subject["id"]}, tokens["platform"])
    load = WriteLoad(a.base, tokens["regulator"], subject["id"])
    load.start()
    time.sleep(3)
    a.kill(signal.SIGKILL)
    a.wait(10)
    ok(f"instance A killed (SIGKILL) after {len(load.acked)} acknowledged writes")
    load.stop()
    if load.bad:
        fail(f"bad answers during the load: {load.bad[:3]}")
    check_consistency(b.base, admin, tokens, subject["id"], load.acked)


def wrk_rps(bases, seconds=5):
    path = "/v1/public/blacklist?q=" + urllib.parse.quote("复制链路")
    procs = [subprocess.Popen(["wrk", "-t1", "-c16", f"-d{seconds}s", base + path],
                              stdout=subprocess.PIPE, text=True) for base in bases]
    total, errors = 0.0, 0
    for p in procs:
        out = p.communicate()[0]
        total += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        errors += int(m.group(1)) if m else 0
    if errors:
        fail(f"{errors} non-2xx answers under the read load")
    return total


def measure(work, primary, replica):
    if not shutil.which("wrk"):
        print("skip: read throughput (wrk is not installed; apt-get install wrk)", flush=True)
        return
    alone = Server(primary.url, os.path.join(work, "c"), extra_env=SHARED_SECRETS)
    os.makedirs(alone.workdir, exist_ok=True)
    pair = [Server(primary.url, os.path.join(work, n), extra_env={**SHARED_SECRETS, "LIVECREDIT_DATABASE_READ_URL": replica.url})
            for n in ("d", "e")]
    try:
        alone.start()
        wrk_rps([alone.base], 2)
        single = wrk_rps([alone.base])
        alone.stop()
        for s in pair:
            os.makedirs(s.workdir, exist_ok=True)
            s.start()
        for s in pair:
            wait_for("the replica being up", lambda: metric(s.base, "livecredit_replica_up{") == 1.0)
        wrk_rps([s.base for s in pair], 2)
        double = wrk_rps([s.base for s in pair])
        ok(f"read throughput (public search, wrk 16 connections per instance, 5 s): one instance on the primary "
           f"{single:.0f} req/s; two instances with the replica {double:.0f} req/s ({double / single:.2f}x; the search "
           f"answers from each instance's index, so this measures the CPU shared by both) — "
           f"all on this {os.cpu_count()}-core machine")
    finally:
        alone.stop()
        for s in pair:
            s.stop()


def main():
    print("== scale-out: two instances, a primary and a streaming replica", flush=True)
    work = tempfile.mkdtemp(prefix="lc-replica-")
    os.chmod(work, 0o777)
    primary, replica = Cluster(work, "primary"), Cluster(work, "replica")
    servers = []
    try:
        primary.init_primary()
        primary.start()
        replica.init_standby_of(primary)
        replica.start()
        wait_for("the replica streaming", lambda: primary.sql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1")
        ok(f"primary on port {primary.port}, streaming replica on port {replica.port}")

        env = {**SHARED_SECRETS, "LIVECREDIT_DATABASE_READ_URL": replica.url}
        a = Server(primary.url, os.path.join(work, "a"), extra_env=env)
        b = Server(primary.url, os.path.join(work, "b"), extra_env=env)
        for s in (a, b):
            os.makedirs(s.workdir, exist_ok=True)
            s.start()
            servers.append(s)
        wait_for("B's replica monitor seeing the replica", lambda: metric(b.base, "livecredit_replica_up{") == 1.0)
        admin, tokens, _ = setup_actors(a.base)
        receiver = Receiver()

        subject_id, listing, _ = check_replication(a, b, tokens, admin)
        check_once(primary, a, b, tokens, subject_id, listing, receiver)
        check_replica_failover(replica, b, tokens)
        check_kill(a, b, admin, tokens)
        for s in servers:
            s.stop()
        measure(work, primary, replica)
        print("scale-out: all checks passed", flush=True)
    finally:
        for s in servers:
            s.stop()
        replica.stop("immediate")
        primary.stop("immediate")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
