"""The page suite: the portal under gunicorn (2 workers) on the seeded data, driven by wrk.

`make bench` runs `python -m bench.seed` first. Each page is measured with a logged-in session
at 8 connections, beside a bare Flask page (bench/minimal.py) under the same gunicorn settings.
Jobs are excluded: a throwaway Redis takes them and nothing works them. The pages are kept between
requests (blueprints/kept.py); the `*_fresh` runs render the dashboard and a list afresh every time,
as the first request after a change does. Prints one JSON object.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pyotp
import sqlalchemy as sa

from bench.seed import PASSWORD, SECRET_KEY, STAFF_TOTP, URL, bench_app, vacuum
from portal.extensions import db
from portal.models import Domain
from tests.testbed.ports import free_port, wait_for_port
from tests.testbed.redis_server import RedisServer

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
# Threads per gunicorn worker (both apps get the same): a thread waiting on PostgreSQL lets another run.
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
CONNECTIONS = 8
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
# name -> (login, path)
PAGES = {
    "dashboard": ("big@bench.example", "/"),
    "mailbox_list": ("big@bench.example", "/mailboxes/"),
    "address_list": ("big@bench.example", "/addresses/"),
    "reseller_sub_accounts": ("reseller@bench.example", "/reseller/accounts"),
    "staff_account_search": ("staff@bench.example", "/staff/accounts?q=big.example"),
}
# Rendered afresh on every request, as after a change (blueprints/kept.py keeps the pages above until
# their account changes): a new ?fresh= each time, which the pages ignore.
FRESH = {"dashboard_fresh": "dashboard", "mailbox_list_fresh": "mailbox_list"}
FRESH_SCRIPT = """
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "{path}?fresh=" .. n .. "x" .. math.random(1, 1000000000))
end
"""
# Not a target: the cheapest logged-in request there is (the status poll of one mailbox: the session
# and one query, JSON out). It shows how much of every page's cost is being logged in at all.
REFERENCE = {"logged_in_status_poll": ("big@bench.example", "/mailboxes/status?ids=1")}
POST_SCRIPT = """
local n = 0
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
-- `id` is the global thread:set() gives each thread.
function init(args) n = 0 end
request = function()
  n = n + 1
  local body = "csrf_token={token}&local_part=w" .. id .. "r" .. n .. "x{run}&domain_id={domain}" ..
    "&password=bench-pass-123&confirm=bench-pass-123&quota_mb=10&with_address=y"
  return wrk.format("POST", "/mailboxes/new", {{["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "session={cookie}"}}, body)
end
"""


def env(redis_url: str, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": redis_url,
        "RQ_QUEUE": "hostdeck-bench",
        "LOG_LEVEL": "WARNING",
        "PER_PAGE": "50",
    }


@contextmanager
def gunicorn(app: str, environ: dict[str, str]):
    port = free_port()
    proc = subprocess.Popen(
        [GUNICORN, "-w", "2", "--threads", str(THREADS), "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
        env=environ,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        wait_for_port(port, 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


def login(base: str, email: str) -> str:
    """The session cookie of a fresh login (with the TOTP step for staff)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def submit(path: str, fields: dict) -> str:
        token = CSRF.search(opener.open(base + path).read().decode()).group(1)
        with opener.open(base + path, urllib.parse.urlencode({**fields, "csrf_token": token}).encode()) as reply:
            return reply.geturl()

    where = submit("/login", {"email": email, "password": PASSWORD})
    if where.endswith("/login/two-factor"):
        submit("/login/two-factor", {"code": pyotp.TOTP(STAFF_TOTP).now()})
    return next(c.value for c in jar if c.name == "session")


def wrk(url: str, cookie: str | None = None, script: str | None = None, connections: int = CONNECTIONS) -> dict:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{SECONDS}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: session={cookie}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latency = {p: _ms(v, unit) for p, v, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "errors": int(bad.group(1)) if bad else 0,
    }


def _ms(value: str, unit: str) -> float:
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)


def query_counts(url: str, redis_url: str) -> dict[str, int]:
    """SQL statements per request, counted in-process on the same data and settings."""
    from tests.helpers import IsolatedClient

    app = bench_app(url, REDIS_URL=redis_url, RQ_QUEUE="hostdeck-bench", PER_PAGE=50, TESTING=True)
    app.test_client_class = IsolatedClient  # each request its own `g`, as under gunicorn
    counts: dict[str, int] = {}
    with app.app_context():
        seen: list[str] = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
        domain_id = db.session.scalar(sa.select(Domain.id).where(Domain.name == "big.example"))
        for name, (email, path) in {**PAGES, **REFERENCE}.items():
            client = app.test_client()
            _client_login(client, email)
            client.get(path)
            seen.clear()
            assert client.get(path).status_code == 200, name
            counts[name] = len(seen)
            app.extensions.pop("hostdeck.kept", None)  # what a page costs when it is rendered afresh
            seen.clear()
            client.get(path)
            counts[f"{name}_fresh"] = len(seen)
        client = app.test_client()
        _client_login(client, "big@bench.example")
        token = CSRF.search(client.get("/mailboxes/new").get_data(as_text=True)).group(1)
        seen.clear()
        reply = client.post(
            "/mailboxes/new",
            data={
                "csrf_token": token,
                "local_part": f"count{time.time_ns()}",
                "domain_id": domain_id,
                "password": "bench-pass-123",
                "confirm": "bench-pass-123",
                "quota_mb": 10,
                "with_address": "y",
            },
        )
        assert reply.status_code == 302, reply.get_data(as_text=True)[:500]
        counts["create_mailbox_post"] = len(seen)
        db.engine.dispose()
    return counts


def _client_login(client, email: str) -> None:
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    reply = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if reply.location.endswith("/login/two-factor"):
        from portal.models import User

        db.session.execute(sa.update(User).where(User.email == email).values(totp_last_step=None))
        db.session.commit()
        token = CSRF.search(client.get("/login/two-factor").get_data(as_text=True)).group(1)
        client.post("/login/two-factor", data={"code": pyotp.TOTP(STAFF_TOTP).now(), "csrf_token": token})


def post_script(base: str, cookie: str, domain_id: int) -> str:
    jar_base = base  # the CSRF token belongs to the session the cookie names
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", f"session={cookie}")]
    token = CSRF.search(opener.open(jar_base + "/mailboxes/new").read().decode()).group(1)
    return POST_SCRIPT.format(
        token=urllib.parse.quote(token), domain=domain_id, cookie=cookie, run=time.time_ns() % 100000
    )


def run(url: str = URL) -> dict:
    with tempfile.TemporaryDirectory() as root, RedisServer(Path(root)) as redis:
        counts = query_counts(url, redis.url)
        app = bench_app(url)
        with app.app_context():
            domain_id = db.session.scalar(sa.select(Domain.id).where(Domain.name == "big.example"))
            vacuum()  # an earlier run's POSTs left rows autovacuum has not seen yet
            db.engine.dispose()
        results: dict[str, dict] = {}
        with gunicorn("bench.minimal:app", env(redis.url, url)) as base:
            wrk(base + "/")  # warm up
            minimal = wrk(base + "/")
        with gunicorn("wsgi:app", env(redis.url, url)) as base:
            for name, (email, path) in {**PAGES, **REFERENCE}.items():
                cookie = login(base, email)
                wrk(base + path, cookie)  # warm up
                results[name] = wrk(base + path, cookie)
            for name, page in FRESH.items():
                email, path = PAGES[page]
                cookie = login(base, email)
                script = FRESH_SCRIPT.replace("{path}", path)
                wrk(base + path, cookie, script=script)  # warm up
                results[name] = wrk(base + path, cookie, script=script)
            cookie = login(base, "big@bench.example")
            results["create_mailbox_post"] = wrk(base + "/", script=post_script(base, cookie, domain_id))
            results["create_mailbox_post_1_connection"] = wrk(
                base + "/", script=post_script(base, cookie, domain_id), connections=1
            )
    reference = {name: results.pop(name) for name in REFERENCE}
    for name, figures in {**results, **reference}.items():
        figures["ratio_to_minimal"] = round(figures["rps"] / minimal["rps"], 3)
        figures["queries"] = counts["create_mailbox_post" if name.startswith("create") else name]
        if f"{name}_fresh" in counts:
            figures["queries_fresh"] = counts[f"{name}_fresh"]
    gets = {k: v for k, v in results.items() if k in PAGES}
    post = results["create_mailbox_post_1_connection"]
    targets = {
        "get_pages_at_least_25pct_of_minimal_rps": all(v["ratio_to_minimal"] >= 0.25 for v in gets.values()),
        "p99_under_100ms_at_8_connections": all(
            v["p99_ms"] < 100 for k, v in results.items() if not k.endswith("1_connection")
        ),
        "at_most_8_queries_per_page": all(max(v["queries"], v.get("queries_fresh", 0)) <= 8 for v in results.values()),
        "create_post_p50_under_50ms": post["p50_ms"] < 50,
        "no_errors": all(v["errors"] == 0 for v in results.values()),
    }
    return {
        "seconds_per_run": SECONDS,
        "connections": CONNECTIONS,
        "gunicorn_workers": 2,
        "threads": THREADS,
        "minimal": minimal,
        "pages": results,
        "reference": reference,
        "targets": targets,
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else URL), indent=2))
