"""Log lines: LOG_FORMAT=json gives one JSON object a line, a web request's lines carry its request id
(the one given in X-Request-ID when it is a sane token, else a new one, sent back either way), a job's
lines its job id and server; and no flask command prints alembic's plugin announcements."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest

from portal import create_app, logs
from portal.blueprints.health import checks
from tests.helpers import new_mailbox
from tests.workers import ROOT

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines(app):
    """LOG_FORMAT=json on the app's own handler, writing where the test can read it."""
    app.config["LOG_FORMAT"] = "json"
    logs.configure(app)
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logs._Handler))
    stream = io.StringIO()
    handler.setStream(stream)

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    app.config["LOG_FORMAT"] = "text"
    logs.configure(app)


@pytest.fixture
def logs_in_request(monkeypatch):
    """/readyz logs an error, with its traceback, from a check that breaks."""

    def broken(app):
        raise KeyError("the broken check")

    monkeypatch.setitem(checks.CHECKS, "broken", broken)


def test_a_given_request_id_is_kept(client, json_lines, logs_in_request):
    response = client.get("/readyz", headers={"X-Request-ID": "edge-7f3a.1:2"})
    assert response.headers["X-Request-ID"] == "edge-7f3a.1:2"
    (line,) = [r for r in json_lines() if r["logger"] == "portal.blueprints.health.checks"]
    assert line["request_id"] == "edge-7f3a.1:2"
    assert line["level"] == "ERROR" and line["message"] == "readyz: the broken check failed"
    assert "KeyError: 'the broken check'" in line["exception"] and line["exception"].startswith("Traceback")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", line["time"])


@pytest.mark.parametrize("given", [None, "", "two words", "x" * 129, "-starts-with-a-dash", "semi;colon", "é"])
def test_a_missing_or_odd_request_id_is_replaced(client, json_lines, logs_in_request, given):
    headers = {} if given is None else {"X-Request-ID": given}
    response = client.get("/readyz", headers=headers)
    made = response.headers["X-Request-ID"]
    assert GENERATED.fullmatch(made)
    (line,) = [r for r in json_lines() if r["logger"] == "portal.blueprints.health.checks"]
    assert line["request_id"] == made


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_job_lines_carry_the_job_and_the_server(web, make_account, mail_server, dovecot, work, json_lines):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    new_mailbox(web, "alice")
    work()
    (line,) = [r for r in json_lines() if r["logger"] == "portal.orchestration.jobs"]
    assert line["server"] == "mail1"
    assert re.fullmatch(r"[0-9a-f-]{36}", line["job_id"]) and f"job {line['job_id']}" in line["message"]
    assert all("request_id" not in r for r in json_lines() if "job_id" in r)  # the worker's, not the web's


def test_text_is_the_default_and_a_wrong_format_stops_the_start(migrated):
    with pytest.raises(RuntimeError, match="LOG_FORMAT must be text or json, not 'yaml'"):
        create_app({"TESTING": True, "DATABASE_URL": migrated, "LOG_FORMAT": "yaml"})


def flask(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", *args],
        env={**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": database_url, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [("db", "current"), ("db", "check"), ("orchestration", "status")])
def test_no_alembic_plugin_lines(migrated, command):
    ran = flask(*command, database_url=migrated)
    assert ran.returncode == 0, ran.stderr
    output = ran.stdout + ran.stderr
    assert not re.findall(r".*setup plugin.*|.*setting up autogenerate plugin.*", output), output


def test_no_alembic_plugin_lines_where_logging_was_set_up_first(migrated):
    """A host that configures logging before it imports the portal (gunicorn with a logconfig)."""
    ran = subprocess.run(
        [sys.executable, "-c", "import logging; logging.basicConfig(level=logging.INFO); import wsgi"],
        env={**os.environ, "DATABASE_URL": migrated},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert "plugin" not in ran.stderr, ran.stderr


def test_json_lines_from_a_flask_command(migrated):
    ran = flask("db", "current", database_url=migrated, LOG_FORMAT="json")
    assert ran.returncode == 0, ran.stderr
    lines = ran.stderr.splitlines()
    assert lines, "alembic says which database it reads"
    records = [json.loads(line) for line in lines]  # every line, alembic's too
    assert {r["logger"] for r in records} == {"alembic.runtime.migration"}
