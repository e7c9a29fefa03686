"""/metrics: only with the bearer token or from an allowed address (neither set: not there), in
Prometheus text, with what the processes counted and what the database and Redis say at scrape time."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal import create_app
from portal.extensions import db
from portal.orchestration.dispatch import dispatch
from tests.helpers import mailbox_operation

TOKEN = "s3cret-scrape-token"


@contextmanager
def portal(database_url: str, **settings):
    """A test client of a portal started with these settings."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, **settings})
    with app.app_context():
        yield app.test_client()
        db.session.remove()
        db.engine.dispose()


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def test_without_token_or_allowlist_there_is_nothing(client):
    assert client.get("/metrics").status_code == 404


def test_the_token_is_needed_and_checked(app, client):
    app.config["METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401  # no scheme
    assert scrape(client, Authorization=f"Bearer {TOKEN}")


@pytest.mark.parametrize(
    ("allow", "status"), [("10.0.0.0/8, 192.168.0.0/16", 403), ("10.0.0.0/8,127.0.0.0/8", 200), ("::1,127.0.0.1", 200)]
)
def test_the_allowlist_is_checked(migrated, allow, status):
    with portal(migrated, METRICS_ALLOW=allow) as client:
        assert client.get("/metrics").status_code == status  # the test client is 127.0.0.1


def test_both_set_both_must_hold(migrated):
    with portal(migrated, METRICS_ALLOW="127.0.0.1", METRICS_TOKEN=TOKEN) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_wrong_allowlist_stops_the_start(migrated):
    with pytest.raises(RuntimeError, match=r"METRICS_ALLOW: .10\.0\.0\.300/8. is not an address or a network"):
        create_app({"TESTING": True, "DATABASE_URL": migrated, "METRICS_ALLOW": "127.0.0.1, 10.0.0.300/8"})


def test_figures_read_at_scrape_time(app, client, mail_server, make_account, queued):
    app.config["METRICS_TOKEN"] = TOKEN
    auth = {"Authorization": f"Bearer {TOKEN}"}
    account = make_account("Acme", domains=("acme.test",))
    before = scrape(client, **auth)
    assert before[("hostdeck_operations", (("state", "pending"),))] == 0
    assert before[("hostdeck_queue_jobs", ())] == 0
    assert before[("hostdeck_open_incidents", ())] == 0

    for _ in range(2):
        db.session.add(mailbox_operation(mail_server.id, 1, account_id=account.id))
    mail_server.incident_log_id = 1
    db.session.commit()
    dispatch({mail_server.id})
    after = scrape(client, **auth)
    assert after[("hostdeck_operations", (("state", "pending"),))] == 2
    assert after[("hostdeck_queue_jobs", ())] == queued() == 1
    assert after[("hostdeck_open_incidents", ())] == 1
    assert 0 <= after[("hostdeck_oldest_pending_operation_seconds", ())] < 60
    assert after[("hostdeck_figures_readable", ())] == 1
    # This process's requests, by endpoint and status.
    assert after[("hostdeck_http_requests_total", (("endpoint", "health.metrics"), ("status", "200")))] >= 2
