"""The API's rate per client address: guesses at tokens count against it, and one address's use never
touches another's."""

from __future__ import annotations

import time

import pytest
from freezegun import freeze_time

from portal.security.rates import Rates
from portal.security.throttle import shared_count
from tests.helpers import api_token, bearer

LIST = "/api/v1/mailboxes"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "API_REQUESTS_PER_MINUTE_PER_IP": 4}


def test_guesses_spend_the_addresss_rate_and_no_other(client, make_account):
    make_account("Acme", domains=("acme.test",))
    token = api_token()
    guesser = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(4):
        answer = client.get(LIST, headers=bearer("hdpat_guess"), environ_base=guesser)
        assert answer.status_code == 401
    limited = client.get(LIST, headers=bearer(token), environ_base=guesser)
    assert limited.status_code == 429 and limited.content_type == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get(LIST, headers=bearer(token), environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 200


@freeze_time("2026-12-08 12:00:10")  # well inside one minute's window
def test_processes_share_their_counts(app):
    """Two processes' counters on one storage: a small limit holds exactly across them; a large one to
    within a batch (a hundredth of it) per process."""
    first, second = Rates(), Rates()
    small = [(3, 60, ("test", "small"))]
    assert first.hit(small) is None and first.hit(small) is None and second.hit(small) is None
    assert second.hit(small)[0] == ("test", "small") and first.hit(small) is not None

    large = [(1000, 60, ("test", "large"))]
    for _ in range(600):
        assert first.hit(large) is None
    for _ in range(390):
        assert second.hit(large) is None  # 990 in all, both shared every 10
    refused = sum(second.hit(large) is not None for _ in range(30))
    assert 10 <= refused <= 30  # at most a batch (10) over the limit in all
    assert shared_count("hostdeck/rate/test/large/60/" + str(int(time.time() // 60)), 120, 0) <= 1010
