"""The API's rate per client address: guesses at tokens count against it, and one address's use never
touches another's."""

from __future__ import annotations

import pytest

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
