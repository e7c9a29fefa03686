"""DKIM with our own DNS: the key signs only once a DNS server of ours serves it; dkimpy verifies mail with the
key it finds there, and the SPF and DMARC records of the zone parse with checkdmarc."""

from __future__ import annotations

import checkdmarc.dmarc
import checkdmarc.spf
import dkim as dkimpy
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Server
from portal.models.dns import DkimKey, DkimState
from tests.helpers import add_server, domain_id, new_mailbox
from tests.integration.test_dkim import PW, keys, raw_messages, resolver, signature, work_one


@pytest.fixture
def hosted(web, make_account, signer, signing_postfix, named, work, dovecot):
    """Acme with acme.test on mail1 (Postfix, OpenDKIM) and its zone on dns1, alice@ applied."""
    add_server(Server(name="dns1", host="localhost", transport="local", settings=named.settings()), "bind")
    signer.settings = {**signer.settings, "mail_hostname": "mx1.hostdeck.test", "public_addresses": ["192.0.2.25"]}
    db.session.commit()
    make_account("Acme")
    web.login("acme@owner.test")
    assert web.submit("/domains/", {"name": "acme.test"}).status_code == 302
    assert new_mailbox(web, "alice", PW, quota=50, with_address=True).status_code == 302
    work()
    signing_postfix.settle()
    assert dovecot.wait_login("alice@acme.test", PW)
    return signing_postfix


def txt(named, name: str) -> list[str]:
    return [value.replace('" "', "").strip('"') for value in named.answer(name, "TXT")]


def sent(hosted, dovecot, named, count: int, subject: str) -> dict[str, str]:
    hosted.send("bob@acme.test", ["alice@acme.test"], subject, "Signed where our DNS says so.")
    message = raw_messages(dovecot, "alice@acme.test", count)[-1]
    assert dkimpy.verify(message, dnsfunc=resolver(named)), message.decode(errors="replace")
    return signature(message)


def test_a_key_signs_once_our_dns_serves_it_and_rotates_the_same_way(app, web, hosted, named, opendkim, dovecot, work):
    (key,) = keys()
    assert key.state == DkimState.ACTIVE
    assert txt(named, f"{key.selector}._domainkey.acme.test") == [f"v=DKIM1; k=rsa; p={key.public_key}"]
    assert sent(hosted, dovecot, named, 1, "Hosted 1")["s"] == key.selector
    show = f"/domains/{domain_id('acme.test')}"
    assert "add these records" not in web.get(show).get_data(as_text=True)  # we publish them

    assert web.submit(show, {}, post_url=f"{show}/dkim/rotate").status_code == 302
    work_one(app)  # mail1 makes the key: it waits for the zone, and the old one signs on
    old, new = keys()
    assert new.public_key and new.state == DkimState.NEW and old.state == DkimState.ACTIVE
    assert "signs once its DNS record is published" in web.get(show).get_data(as_text=True)
    assert f"{old.selector}._domainkey" in opendkim.tables()[1]

    work()  # dns1 serves the new key, then mail1 signs with it
    old, new = keys()
    assert (old.state, new.state) == (DkimState.RETIRING, DkimState.ACTIVE)
    assert txt(named, f"{new.selector}._domainkey.acme.test") == [f"v=DKIM1; k=rsa; p={new.public_key}"]
    assert txt(named, f"{old.selector}._domainkey.acme.test") == [f"v=DKIM1; k=rsa; p={old.public_key}"]
    assert sent(hosted, dovecot, named, 2, "Hosted 2")["s"] == new.selector


def test_spf_and_dmarc_parse_with_checkdmarc(hosted, named):
    dns_resolver = named.resolver()
    spf = checkdmarc.spf.check_spf("acme.test", resolver=dns_resolver)
    assert spf["valid"], spf
    assert spf["record"] == "v=spf1 mx ip4:192.0.2.25 -all"
    assert spf["parsed"]["all"] == "fail"
    dmarc = checkdmarc.dmarc.check_dmarc("acme.test", resolver=dns_resolver)
    assert dmarc["valid"], dmarc
    assert dmarc["tags"]["p"]["value"] == "none"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DkimKey)) == 1
