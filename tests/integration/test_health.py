"""/healthz answers while the process does, touching nothing else; /readyz names each check that fails
(the database, Redis, the migrations, mailing incidents) with a plain reason, against the real services."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.blueprints.health import checks
from portal.extensions import db
from tests.testbed.ports import free_port


@pytest.fixture
def mailing(app, smtp, make_staff):
    """Incidents can be mailed: a relay that answers and a staff login to tell."""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port)
    make_staff()
    checks._smtp_seen.clear()
    yield smtp
    checks._smtp_seen.clear()


def readyz(client):
    response = client.get("/readyz")
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def test_ready_when_everything_answers(client, mailing):
    status, body = readyz(client)
    assert (status, body["status"], body["failing"]) == (200, "ready", [])
    assert set(body["checks"]) == {"database", "redis", "migrations", "alerts"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_answers_without_a_database(app):
    nowhere = create_app(
        {"TESTING": True, "DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none", "REDIS_URL": ""}
    )
    with nowhere.app_context():
        client = nowhere.test_client()
        response = client.get("/healthz")
        assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
        status, body = readyz(client)
        db.session.remove()
        db.engine.dispose()
    assert status == 503
    assert body["checks"]["database"] == {"ok": False, "reason": "the database does not answer"}
    assert body["checks"]["migrations"]["reason"] == "cannot tell: the database does not answer"
    assert "database" in body["failing"] and "nobody" not in str(body)  # no connection details for the public


def test_redis_down_is_named(client, mailing, redis_server):
    redis_server.stop()  # the autouse fixture starts it again
    status, body = readyz(client)
    assert (status, body["failing"]) == (503, ["redis"])
    assert body["checks"]["redis"]["reason"] == "Redis (REDIS_URL) does not answer"


def test_migrations_behind_are_named(client, mailing):
    head = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '862c28ee7ced'"))
    db.session.commit()
    try:
        status, body = readyz(client)
    finally:
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()
    assert (status, body["failing"]) == (503, ["migrations"])
    assert body["checks"]["migrations"]["reason"] == (
        f"the database is at 862c28ee7ced, the code expects {head}: run flask db upgrade"
    )


def test_incidents_that_cannot_be_mailed_are_named(app, client, smtp, make_staff):
    checks._smtp_seen.clear()
    status, body = readyz(client)
    assert (status, body["failing"]) == (503, ["alerts"])
    assert body["checks"]["alerts"]["reason"] == "SMTP_HOST is not set: incidents cannot be mailed to staff"

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port)
    assert "no one to mail incidents to" in readyz(client)[1]["checks"]["alerts"]["reason"]

    make_staff()
    assert readyz(client)[0] == 200

    closed = free_port()
    app.config.update(SMTP_PORT=closed)
    status, body = readyz(client)
    assert (status, body["failing"]) == (503, ["alerts"])
    assert body["checks"]["alerts"]["reason"] == f"the SMTP server (SMTP_HOST 127.0.0.1, port {closed}) does not answer"
    checks._smtp_seen.clear()


def test_a_warning_shows_without_failing(client, mailing, monkeypatch):
    """The shape other parts plug into: a warning is shown, readiness holds."""
    monkeypatch.setitem(checks.WARNINGS, "login_throttle", lambda app: "failed logins are counted in memory")
    monkeypatch.setitem(checks.WARNINGS, "quiet", lambda app: None)
    status, body = readyz(client)
    assert status == 200
    assert body["warnings"] == {"login_throttle": "failed logins are counted in memory"}


def test_a_broken_check_is_a_finding_not_a_500(client, mailing, monkeypatch):
    def broken(app):
        raise KeyError("oops")

    monkeypatch.setitem(checks.CHECKS, "broken", broken)
    status, body = readyz(client)
    assert (status, body["failing"]) == (503, ["broken"])
    assert body["checks"]["broken"]["reason"] == "the check itself failed (see the portal's log)"
