"""External Account Binding: a CA that asks for it registers the portal's account only with the key id and
HMAC key it gave (ACME_EAB_KID, ACME_EAB_HMAC); without them the account is refused in words."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AcmeAccount
from portal.orchestration import acme
from tests.testbed.pebble import PEBBLE, Pebble
from tests.testbed.plugin import need, running, shared_root
from tests.testbed.ports import free_port

KID = "hostdeck-test-kid"


@pytest.fixture
def strict_ca(request, acme_dns):
    need(Path(PEBBLE).exists(), "pebble (/usr/bin/pebble)")
    hmac_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    with (
        shared_root(request, "pebble-eab") as root,
        running(Pebble(root, free_port(), acme_dns.resolver, eab={KID: hmac_key})) as server,
    ):
        yield server, hmac_key


def test_a_ca_that_asks_for_external_account_binding_gets_it(app, strict_ca):
    server, hmac_key = strict_ca
    app.config.update(ACME_DIRECTORY=server.directory, ACME_CA_BUNDLE=str(server.ca_path))
    with pytest.raises(acme.CaError) as refused:
        acme.account()
    assert "externalAccountBinding" in str(refused.value) or "external account" in str(refused.value).lower()
    db.session.rollback()
    assert not db.session.scalar(sa.select(AcmeAccount.uri).where(AcmeAccount.uri != ""))

    app.config.update(ACME_EAB_KID=KID, ACME_EAB_HMAC=hmac_key)
    acme.account()
    row = db.session.scalar(sa.select(AcmeAccount))
    assert row.uri.startswith(f"https://localhost:{server.port}/")
    assert hmac_key not in row.key_encrypted and "PRIVATE KEY" not in row.key_encrypted  # stored encrypted
