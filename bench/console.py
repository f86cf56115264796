#!/usr/bin/env python3
"""Times every page of the staff console against a running, loaded livecredit.

    bench/console.py BASE_URL ADMIN_EMAIL PASSWORD REGULATOR_EMAILS [ROUNDS]

REGULATOR_EMAILS is demo-data's comma-separated list of regulator logins.
Signs in through the console's own form as the first of them, as the first
official of every bureau (for each bureau's "my work"), as the admin, and
as a platform user and an auditor
it creates through the API; then requests each page ROUNDS times (default 30)
after two warm-up requests, one at a time, and prints per page the median, p95
and maximum time to the last byte, measured here on loopback (an upper bound
of the server's time). The pages are those a person opens: my work, the
subject search by Han name, pinyin and ID number, a listed subject's page, its
listing's page and decision document, the audit log, the admin page, the
platform's screening, watchlist and deliveries pages, one screening by form;
and, apart (an upload, not a page), a CSV of 1,000 names screened and
answered with its table and download. Standard library only. Exits 1 when a page does not answer 200.
"""

import http.client
import json
import re
import statistics
import sys
import time
import urllib.parse
import uuid


class Browser:
    """One person's browser: cookies kept by hand, no redirects followed."""

    def __init__(self, base):
        url = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.cookies = {}

    def request(self, method, path, form=None):
        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["content-type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        html = response.read().decode("utf-8", "replace")
        elapsed = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if val and "Max-Age=0" not in value:
                    self.cookies[key] = val
                else:
                    self.cookies.pop(key, None)
        return response.status, response.getheader("location"), html, elapsed

    def csrf(self, path):
        status, _, html, _ = self.request("GET", path)
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        if not match:
            raise SystemExit(f"no form with a CSRF token on {path} ({status})")
        return match.group(1)

    def sign_in(self, email, password):
        csrf = self.csrf("/console")
        status, location, html, _ = self.request(
            "POST", "/console/session", {"email": email, "password": password, "csrf": csrf}
        )
        if status != 303:
            raise SystemExit(f"sign-in of {email}: {status} {html[:300]}")


def api(base, method, path, token=None, body=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data) if data else None


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    base, admin_email, password, regulators = sys.argv[1:5]
    regulators = [r.strip() for r in regulators.split(",") if r.strip()]
    regulator_email = regulators[0]
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 30

    token = api(base, "POST", "/v1/auth/login", body={"email": admin_email, "password": password})[
        "access_token"
    ]
    suffix = uuid.uuid4().hex[:8]
    shop = api(base, "POST", "/v1/organizations", token, {"name": f"控制台测速平台{suffix}", "kind": "platform"})
    watchers = api(
        base, "POST", "/v1/organizations", token, {"name": f"控制台测速协会{suffix}", "kind": "consumer_association"}
    )
    people = {}
    for role, org in [("platform", shop["id"]), ("auditor", watchers["id"])]:
        email = f"console-bench-{role}-{suffix}@example.com"
        api(base, "POST", "/v1/users", token,
            {"email": email, "password": password, "role": role, "organization_id": org})
        people[role] = email

    regulator = Browser(base)
    regulator.sign_in(regulator_email, password)
    reg_token = api(base, "POST", "/v1/auth/login", body={"email": regulator_email, "password": password})[
        "access_token"
    ]
    # A listed subject of the regulator's bureau, and its listing.
    listed = api(base, "GET", "/v1/listings?status=listed&limit=1", reg_token)["items"]
    if not listed:
        raise SystemExit("no listed subject to open: load demo-data first")
    listing = listed[0]
    subject = api(base, "GET", f"/v1/subjects/{listing['subject_id']}", reg_token)
    name = subject["name"]
    # A common name in pinyin, as an official types it: many candidates.
    pinyin = "zhang wei"
    admin = Browser(base)
    admin.sign_in(admin_email, password)
    platform = Browser(base)
    platform.sign_in(people["platform"], password)
    auditor = Browser(base)
    auditor.sign_in(people["auditor"], password)
    screening_csrf = platform.csrf("/console/screening")

    pages = []
    for email in regulators:
        if ".official1@" not in email:
            continue
        official = Browser(base)
        official.sign_in(email, password)
        pages.append((f"my work, {email.split('.')[0]}", official, "GET", "/console/work", None))
    pages += [
        ("subject search, Han name", regulator, "GET", "/console/subjects?q=" + urllib.parse.quote(name), None),
        ("subject search, pinyin", regulator, "GET", "/console/subjects?q=" + urllib.parse.quote(pinyin), None),
        ("subject page (listed)", regulator, "GET", f"/console/subjects/{subject['id']}", None),
        ("listing page", regulator, "GET", f"/console/listings/{listing['id']}", None),
        ("decision document", regulator, "GET", f"/console/listings/{listing['id']}/documents/decision", None),
        ("audit log, first page", auditor, "GET", "/console/audit", None),
        ("audit log, one action", auditor, "GET", "/console/audit?action=listing.decision", None),
        ("organizations and users", admin, "GET", "/console/admin", None),
        ("screening form", platform, "GET", "/console/screening", None),
        ("screening by form (name)", platform, "POST", "/console/screening",
         {"csrf": screening_csrf, "name": name}),
        ("watchlist", platform, "GET", "/console/watchlist", None),
        ("webhook deliveries", platform, "GET", "/console/deliveries", None),
    ]
    failed = False
    print(f"{'page':<30} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}  status")
    csv_rounds = max(3, rounds // 6)
    for label, browser, method, path, form in pages:
        times = []
        status = None
        for i in range(rounds + 2):
            status, _, html, elapsed = browser.request(method, path, form)
            if i >= 2:
                times.append(elapsed * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        ok = status == 200
        failed |= not ok
        print(f"{label:<30} {statistics.median(times):>10.2f} {p95:>8.2f} {times[-1]:>8.2f}  {status}")
    # A CSV of 1,000 names, as a platform uploads its onboarding list.
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "平"]
    rows = [f"{surnames[i % 20]}{given[(i * 7) % 20]}{given[(i * 3) % 20] if i % 3 else ''},,,," for i in range(1000)]
    rows[0] = f"{name},,,,"
    body_csv = ("name,id_number,uscc,platform,handle\r\n" + "\r\n".join(rows) + "\r\n").encode()
    boundary = "----consolebench" + uuid.uuid4().hex
    times = []
    for i in range(csv_rounds + 1):
        csrf = platform.csrf("/console/screening")
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"names.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n"
        ).encode() + body_csv + f"\r\n--{boundary}--\r\n".encode()
        headers = {
            "cookie": "; ".join(f"{k}={v}" for k, v in platform.cookies.items()),
            "content-type": f"multipart/form-data; boundary={boundary}",
        }
        started = time.perf_counter()
        platform.conn.request("POST", "/console/screening/csv", body=body, headers=headers)
        response = platform.conn.getresponse()
        response.read()
        if i >= 1:
            times.append((time.perf_counter() - started) * 1000)
        failed |= response.status != 200
    times.sort()
    print(f"{'CSV upload, 1,000 names':<30} {statistics.median(times):>10.2f} {times[-1]:>8.2f} {times[-1]:>8.2f}  {response.status}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
