"""The REST API beside the pages: GET /api/v1/mailboxes (50 per page of the 5,000-mailbox account) and a
create POST, at 8 connections under gunicorn (2 workers), each against the bare Flask page of the same
run, with the HTML mailbox list measured in the same run for the ratio the issue asks the API to reach.

`make bench` seeds first (bench/seed.py). The token is made in the database as its owner makes one; the
rate limits are lifted for the run (a billing system at 8 connections is no attacker). Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.pages import env, gunicorn, login, wrk
from bench.seed import URL, bench_app
from portal.extensions import db
from portal.models import Domain, User, utcnow
from portal.security.scoping import Actor
from portal.services.tokens import create_token
from tests.testbed.redis_server import RedisServer

POST_SCRIPT = """
local n = 0
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args) n = 0 end
request = function()
  n = n + 1
  local body = '{{"local_part": "api' .. id .. 'r' .. n .. 'x{run}", "domain_id": {domain}, ' ..
    '"password": "bench-pass-123", "quota_mb": 10, "with_address": true}}'
  return wrk.format("POST", "/api/v1/mailboxes", {{["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer {token}"}}, body)
end
"""
GET_SCRIPT = """
request = function()
  return wrk.format("GET", "/api/v1/mailboxes?limit=50", {{["Authorization"] = "Bearer {token}"}})
end
"""


def make_token(url: str) -> tuple[str, int]:
    app = bench_app(url)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "big@bench.example"))
        _, secret = create_token(
            Actor(user=user),
            name=f"bench {time.time_ns()}",
            scopes=["mail:write"],
            expires_at=utcnow() + timedelta(days=1),
        )
        domain_id = db.session.scalar(sa.select(Domain.id).where(Domain.name == "big.example"))
        db.session.commit()
        db.engine.dispose()
    return secret, domain_id


def run(url: str = URL) -> dict:
    secret, domain_id = make_token(url)
    with tempfile.TemporaryDirectory() as root, RedisServer(Path(root)) as redis:
        environ = {
            **env(redis.url, url),
            "API_REQUESTS_PER_MINUTE": "10000000",
            "API_REQUESTS_PER_MINUTE_PER_IP": "10000000",
        }
        with gunicorn("bench.minimal:app", environ) as base:
            wrk(base + "/")  # warm up
            minimal = wrk(base + "/")
        results: dict[str, dict] = {}
        with gunicorn("wsgi:app", environ) as base:
            cookie = login(base, "big@bench.example")
            wrk(base + "/mailboxes/", cookie)  # warm up
            results["html_mailbox_list"] = wrk(base + "/mailboxes/", cookie)
            script = GET_SCRIPT.format(token=secret)
            wrk(base + "/", script=script)
            results["api_mailbox_list"] = wrk(base + "/", script=script)
            post = POST_SCRIPT.format(token=secret, domain=domain_id, run=time.time_ns() % 100000)
            results["api_create_mailbox"] = wrk(base + "/", script=post)
    for figures in results.values():
        figures["ratio_to_minimal"] = round(figures["rps"] / minimal["rps"], 3)
    targets = {
        "api_list_ratio_at_least_html_list": results["api_mailbox_list"]["ratio_to_minimal"]
        >= results["html_mailbox_list"]["ratio_to_minimal"],
        "no_errors": all(v["errors"] == 0 for v in results.values()),
    }
    return {"connections": 8, "gunicorn_workers": 2, "minimal": minimal, "results": results, "targets": targets}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else URL), indent=2))
