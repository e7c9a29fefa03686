"""The API against its own OpenAPI document: schemathesis generates requests for every operation (with a
reseller's token of every scope, so the /accounts/{account_id}/ routes answer too) and checks that no
answer is a server error and every status, content type, body and header is one the document declares."""

from __future__ import annotations

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import api_token, bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "API_REQUESTS_PER_MINUTE": 100_000, "API_REQUESTS_PER_MINUTE_PER_IP": 100_000}


@pytest.fixture
def api_schema(app, make_account):
    reseller = make_account("Resell", kind="reseller", domains=("resell.test",))
    make_account("Acme", parent=reseller, domains=("acme.test",))
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def token(api_schema):
    return api_token("resell@owner.test")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_document_says(case, token):
    # Its own context, as each request has in production (the test holds the app context open).
    # Uncompressed: the WSGI transport does not decode what Flask-Compress sends a client that asks for it.
    headers = bearer(token, **{"Accept-Encoding": "identity"})
    contextvars.Context().run(case.call_and_validate, headers=headers, checks=CHECKS)
